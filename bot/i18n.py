"""Translations: gettext catalogues (``bot/locales/<lang>/LC_MESSAGES/relais.po``).

Source strings are English; each other language has a ``.po`` file that any
translation tool opens. Catalogues are read with Babel at start-up, so there is
no compile step to forget. ``tests/test_i18n.py`` fails when a string in the
code has no translation. ``python -m bot.i18n`` adds the missing ones to each
catalogue for a translator to fill in.

Mark strings with ``t(lang, "…")`` (translate now), ``Tr(lang)("…")`` or
``N_("…")`` (mark now, translate later). Where a count meets a noun, use the
gettext plural forms: ``tr.plural("{count} problem", "{count} problems",
count, count=count)`` (or ``tn(lang, …)``); the ``.po`` entry has
``msgid_plural`` and one ``msgstr[i]`` per form of the language (French:
``nplurals=2; plural=(n > 1)``).

Placeholders are filled the way the language writes numbers: ``{share:.0%}``
gives "30%" in English and "30 %" (narrow no-break space) in French.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from babel.numbers import format_percent

SOURCE_LANGUAGE = "en"
SUPPORTED = ("en", "fr")
LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "relais"


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a plural pair for extraction; translate later with ``tr.plural(*pair, n)``."""
    return singular, plural


def _po_path(lang: str) -> Path:
    return LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _english_plural(n: int) -> int:
    return 0 if n == 1 else 1


@dataclass(frozen=True)
class _Catalogue:
    messages: dict[str, str] = field(default_factory=dict)
    plurals: dict[str, tuple[str, ...]] = field(default_factory=dict)  # by singular msgid
    plural_index: Callable[[int], int] = _english_plural


@cache
def _catalogue(lang: str) -> _Catalogue:
    path = _po_path(lang)
    if lang == SOURCE_LANGUAGE or not path.exists():
        return _Catalogue()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple | list):
            forms = tuple(str(form) for form in message.string)
            if forms and all(forms):
                plurals[str(message.id[0])] = forms
        elif message.string:
            messages[str(message.id)] = str(message.string)
    return _Catalogue(messages, plurals, gettext.c2py(catalog.plural_expr))


def normalize(lang: str | None) -> str:
    """Map 'fr_FR.UTF-8', 'FR', 'fr-CA' to a supported language code, else English."""
    if not lang:
        return SOURCE_LANGUAGE
    code = lang.replace("-", "_").split(".")[0].split("_")[0].lower()
    return code if code in SUPPORTED else SOURCE_LANGUAGE


def percent(value: float, lang: str | None, decimals: int = 0) -> str:
    """A ratio as a percentage written the language's way: 30% (en), 30 % (fr)."""
    code = normalize(lang)
    pattern = Locale.parse(code).percent_formats[None].pattern
    if decimals:
        pattern = pattern.replace("0", "0." + "0" * decimals, 1)
    text = format_percent(value, format=pattern, locale=code)
    if code == "fr":  # CLDR has a no-break space; French typography wants a narrow one
        text = text.replace("\u00a0", "\u202f")
    return text


def format_day(day: date, lang: str | None, format: str = "long") -> str:
    """A date in words, e.g. '1 October 2026' or, in French, '1er octobre 2026'."""
    code = normalize(lang)
    if code == "fr" and day.day == 1:
        pattern = Locale.parse(code).date_formats[format].pattern
        # The day number alone ('d', not 'dd') becomes the ordinal '1er'.
        return format_date(day, format=re.sub(r"(?<![d'])d(?!d)", "d'er'", pattern), locale=code)
    return format_date(day, format=format, locale=code)


_PERCENT_SPEC = re.compile(r"^\.(\d+)%$")


class _Formatter(string.Formatter):
    """str.format, except that ratios with a ``%`` spec are written the language's way."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def format_field(self, value: object, format_spec: str) -> str:
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and (match := _PERCENT_SPEC.match(format_spec))
        ):
            return percent(value, self.lang, int(match.group(1)))
        return super().format_field(value, format_spec)


def _fill(lang: str, text: str, params: dict[str, object]) -> str:
    return _Formatter(lang).vformat(text, (), params)


def lookup(lang: str | None, message: str) -> str:
    """The translation of ``message``, placeholders left unfilled (for text others format)."""
    return _catalogue(normalize(lang)).messages.get(message, message)


def lookup_plural(lang: str | None, singular: str, plural: str, n: int) -> str:
    """The translated form that goes with the count ``n``, placeholders left unfilled."""
    catalogue = _catalogue(normalize(lang))
    forms = catalogue.plurals.get(singular)
    if forms is None:
        return singular if _english_plural(n) == 0 else plural
    return forms[min(catalogue.plural_index(n), len(forms) - 1)]


def t(lang: str | None, message: str, /, **params: object) -> str:
    """Translate ``message`` into ``lang`` and fill ``{placeholders}``."""
    return _fill(normalize(lang), lookup(lang, message), params)


def tn(lang: str | None, singular: str, plural: str, n: int, /, **params: object) -> str:
    """The form of ``singular``/``plural`` that goes with the count ``n``, translated and filled."""
    return _fill(normalize(lang), lookup_plural(lang, singular, plural, n), params)


class Tr:
    """A translator bound to one language, for code that speaks to one person."""

    def __init__(self, lang: str | None) -> None:
        self.lang = normalize(lang)

    def __call__(self, message: str, /, **params: object) -> str:
        return t(self.lang, message, **params)

    def plural(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        """``tn`` in this translator's language."""
        return tn(self.lang, singular, plural, n, **params)


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
# Plural markers: tn(lang, singular, plural, n), <translator>.plural(singular, plural, n), NP_.
_PLURAL_MARKERS = {"tn": 1, "plural": 0, "NP_": 0}

MessageId = str | tuple[str, str]  # a plain msgid, or (msgid, msgid_plural)


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def extract(roots: list[Path]) -> dict[MessageId, tuple[str, int]]:
    """Every literal passed to a marker in the given source trees: msgid -> (file, line).

    Plural messages are keyed by the pair (singular, plural).
    """
    found: dict[MessageId, tuple[str, int]] = {}
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
                if name in _PLURAL_MARKERS:
                    index = _PLURAL_MARKERS[name]
                    if len(node.args) > index + 1:
                        singular = _literal(node.args[index])
                        plural = _literal(node.args[index + 1])
                        if singular is not None and plural is not None:
                            found.setdefault((singular, plural), (str(path), node.lineno))
                    continue
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
                empty = ("",) * catalog.num_plurals if isinstance(msgid, tuple) else ""
                catalog.add(msgid, empty, locations=[(os.path.relpath(file), line)])
                added.setdefault(lang, []).append(msgid[0] if isinstance(msgid, tuple) else msgid)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=False, omit_header=False)
    _catalogue.cache_clear()
    return added


if __name__ == "__main__":
    here = Path(__file__).resolve().parent.parent
    result = update_catalogues([here / "bot", here / "adapters"])
    for language, ids in result.items():
        noun = "message" if len(ids) == 1 else "messages"
        print(f"{language}: {len(ids)} new {noun} to translate in {_po_path(language)}")
