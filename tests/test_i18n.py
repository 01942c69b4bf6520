"""Every user-facing string exists in French and English."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, Tr, extract, normalize, t
from tests.conftest import ROOT

PLACEHOLDER = re.compile(r"(?<!\{)\{[a-z_]+(?::[^{}]*)?\}(?!\})")


def test_every_string_in_the_code_has_a_french_translation() -> None:
    with (LOCALES_DIR / "fr/LC_MESSAGES/relais.po").open("rb") as handle:
        catalog = read_po(handle, locale="fr")
    translated = {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}
    used = extract([ROOT / "bot", ROOT / "adapters"])
    missing = [
        f"{file}:{line}: {msgid!r}"
        for msgid, (file, line) in used.items()
        if msgid not in translated
    ]
    assert not missing, (
        "untranslated (run `python -m bot.i18n` and fill bot/locales/fr):\n" + "\n".join(missing)
    )
    wrong = [
        msgid
        for msgid, text in translated.items()
        if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(text))
    ]
    assert not wrong, f"placeholders differ: {wrong}"


def test_translation_and_fallback() -> None:
    assert t(
        "fr", "From now on I will write to you in {language}.", language="français"
    ).startswith("Désormais")
    assert t("en", "From now on I will write to you in {language}.", language="English") == (
        "From now on I will write to you in English."
    )
    assert Tr("de")("Hello!") == "Hello!"  # unsupported languages fall back to English
    assert normalize("fr_CA.UTF-8") == "fr" and normalize(None) == "en"
