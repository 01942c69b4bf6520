"""`relais` speaks the operator's language, Typer's own words included (a real process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RELAIS = Path(sys.executable).parent / "relais"
ENGLISH_WORDS = (
    "Usage:",
    "Show this message and exit.",
    "Commands",
    "Missing argument",
    "Error",
    "Try '",
    "for help",
)


def relais(*args: str, lang: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RELAIS_LANG": lang, "COLUMNS": "200", "TERM": "dumb"}
    return subprocess.run(
        [str(RELAIS), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("args", [("--help",), ("members", "--help")])
def test_help_is_all_french(args: tuple[str, ...]) -> None:
    result = relais(*args, lang="fr")
    assert result.returncode == 0, result.stderr
    assert "Utilisation\u202f: relais" in result.stdout
    assert "Afficher ce message et quitter." in result.stdout and "Commandes" in result.stdout
    assert not [word for word in ENGLISH_WORDS if word in result.stdout], result.stdout


def test_usage_errors_are_french() -> None:
    missing = relais("members", "import", lang="fr")
    assert missing.returncode == 2
    assert "Argument manquant\u202f: 'file'." in missing.stderr
    assert "Essayez «\u202frelais members import --help\u202f»" in missing.stderr
    assert "Erreur" in missing.stderr
    assert not [word for word in ENGLISH_WORDS if word in missing.stderr], missing.stderr
    unknown = relais("members", "import", "--nope", lang="fr")
    assert "Option inconnue\u202f: --nope" in unknown.stderr


def test_english_keeps_typers_words() -> None:
    result = relais("members", "--help", lang="en")
    assert "Usage: relais members" in result.stdout
    assert "Show this message and exit." in result.stdout and "Commands" in result.stdout
    missing = relais("members", "import", lang="en")
    assert "Missing argument 'file'." in missing.stderr
