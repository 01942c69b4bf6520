"""Translations: gettext catalogues (``bot/locales/<lang>/LC_MESSAGES/relais.po``).

Source strings are English; each other language has a ``.po`` file that any
translation tool opens. Catalogues are read with Babel at start-up, so there is
no compile step to forget. ``tests/test_i18n.py`` fails when a string in the
code has no translation. ``python -m bot.i18n`` adds the missing ones to each
catalogue for a translator to fill in.

Mark strings with ``t(lang, "…")`` (translate now), ``Tr(lang)("…")`` or
``N_("…")`` (mark now, translate later).
"""

from __future__ import annotations

import ast
import os
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

SOURCE_LANGUAGE = "en"
SUPPORTED = ("en", "fr")
LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "relais"


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return message


def _po_path(lang: str) -> Path:
    return LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _catalogue(lang: str) -> dict[str, str]:
    path = _po_path(lang)
    if lang == SOURCE_LANGUAGE or not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and message.string and not message.fuzzy
    }


def normalize(lang: str | None) -> str:
    """Map 'fr_FR.UTF-8', 'FR', 'fr-CA' to a supported language code, else English."""
    if not lang:
        return SOURCE_LANGUAGE
    code = lang.replace("-", "_").split(".")[0].split("_")[0].lower()
    return code if code in SUPPORTED else SOURCE_LANGUAGE


def t(lang: str | None, message: str, /, **params: object) -> str:
    """Translate ``message`` into ``lang`` and fill ``{placeholders}``."""
    text = _catalogue(normalize(lang)).get(message, message)
    return text.format(**params)


class Tr:
    """A translator bound to one language, for code that speaks to one person."""

    def __init__(self, lang: str | None) -> None:
        self.lang = normalize(lang)

    def __call__(self, message: str, /, **params: object) -> str:
        return t(self.lang, message, **params)


def cli_language() -> str:
    """Language of the operator at the terminal: RELAIS_LANG, then LC_ALL/LC_MESSAGES/LANG."""
    for name in ("RELAIS_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value and value not in ("C", "POSIX", "C.UTF-8"):
            return normalize(value)
    return SOURCE_LANGUAGE


def language_name(code: str, in_lang: str) -> str:
    """'français' / 'French', from CLDR data via Babel."""
    try:
        return Locale.parse(code).get_display_name(Locale.parse(normalize(in_lang))) or code
    except (ValueError, TypeError):
        return code


# --- extraction -------------------------------------------------------------

_MARKERS = {"t": 1, "N_": 0, "tr": 0, "rtr": 0, "_": 0}  # rtr: a recipient's Tr


def extract(roots: list[Path]) -> dict[str, tuple[str, int]]:
    """Every literal passed to a marker in the given source trees: msgid -> (file, line)."""
    found: dict[str, tuple[str, int]] = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                if isinstance(func, ast.Call):  # Tr(lang)("…"), _lang(info)("…")
                    inner = func.func
                    called = inner.id if isinstance(inner, ast.Name) else None
                    name = "tr" if called in ("Tr", "_lang") else None
                elif isinstance(func, ast.Name):
                    name = func.id
                else:
                    name = func.attr if isinstance(func, ast.Attribute) else None
                if name not in _MARKERS:
                    continue
                index = _MARKERS[name]
                if len(node.args) > index:
                    arg = node.args[index]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found.setdefault(arg.value, (str(path), node.lineno))
    return found


def update_catalogues(roots: list[Path]) -> dict[str, list[str]]:
    """Add missing msgids to every non-source catalogue; return what was added per language."""
    messages = extract(roots)
    added: dict[str, list[str]] = {}
    for lang in SUPPORTED:
        if lang == SOURCE_LANGUAGE:
            continue
        path = _po_path(lang)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=lang)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=lang, domain=DOMAIN, project="Relais")
        for msgid, (file, line) in messages.items():
            if msgid not in catalog:
                catalog.add(msgid, "", locations=[(os.path.relpath(file), line)])
                added.setdefault(lang, []).append(msgid)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=False, omit_header=False)
    _catalogue.cache_clear()
    return added


if __name__ == "__main__":
    here = Path(__file__).resolve().parent.parent
    result = update_catalogues([here / "bot", here / "adapters"])
    for language, ids in result.items():
        print(f"{language}: {len(ids)} new message(s) to translate in {_po_path(language)}")
