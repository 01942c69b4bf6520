"""Every user-facing string exists in French and English, with French plurals and typography."""

from __future__ import annotations

import re
from datetime import date

from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, Tr, extract, format_day, normalize, percent, t, tn
from tests.conftest import ROOT

PLACEHOLDER = re.compile(r"(?<!\{)\{[a-z_]+(?::[^{}]*)?\}(?!\})")
NARROW = "\u202f"  # narrow no-break space


def _french_catalogue():  # type: ignore[no-untyped-def]
    with (LOCALES_DIR / "fr/LC_MESSAGES/relais.po").open("rb") as handle:
        return read_po(handle, locale="fr")


def test_every_string_in_the_code_has_a_french_translation() -> None:
    catalog = _french_catalogue()
    singular = {
        str(m.id): str(m.string)
        for m in catalog
        if isinstance(m.id, str) and m.id and m.string and not m.fuzzy
    }
    plural = {
        (str(m.id[0]), str(m.id[1])): tuple(m.string)
        for m in catalog
        if isinstance(m.id, tuple) and not m.fuzzy
    }
    used = extract([ROOT / "bot", ROOT / "adapters"])
    missing = []
    for msgid, (file, line) in used.items():
        if isinstance(msgid, tuple):
            forms = plural.get(msgid, ())
            if len(forms) != catalog.num_plurals or not all(forms):
                missing.append(f"{file}:{line}: {msgid!r} (plural: msgstr[0] and msgstr[1])")
        elif msgid not in singular:
            missing.append(f"{file}:{line}: {msgid!r}")
    assert not missing, (
        "untranslated (run `python -m bot.i18n` and fill bot/locales/fr):\n" + "\n".join(missing)
    )
    wrong = [
        msgid
        for msgid, text in singular.items()
        if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(text))
    ]
    for (one, many), forms in plural.items():
        # French has two forms like English: msgstr[0] answers msgid, msgstr[1] msgid_plural.
        for source, form in zip((one, many), forms, strict=True):
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(form)):
                wrong.append(one)
    assert not wrong, f"placeholders differ: {wrong}"


def test_the_french_catalogue_declares_french_plural_forms() -> None:
    catalog = _french_catalogue()
    assert catalog.num_plurals == 2 and catalog.plural_expr == "(n > 1)"


def test_plural_forms_follow_the_count_in_each_language() -> None:
    one, many = "{count} problem found.", "{count} problems found."
    assert tn("en", one, many, 1, count=1) == "1 problem found."
    assert tn("en", one, many, 0, count=0) == "0 problems found."
    assert tn("fr", one, many, 0, count=0) == "0 problème trouvé."  # French: 0 and 1 are singular
    assert tn("fr", one, many, 1, count=1) == "1 problème trouvé."
    assert Tr("fr").plural(one, many, 2, count=2) == "2 problèmes trouvés."
    assert tn("de", one, many, 3, count=3) == "3 problems found."  # falls back to English


def test_no_user_facing_string_hides_a_plural_behind_s_or_e_in_brackets() -> None:
    used = extract([ROOT / "bot", ROOT / "adapters"])
    flagged = [
        f"{file}:{line}: {msgid!r}"
        for msgid, (file, line) in used.items()
        for text in ((msgid,) if isinstance(msgid, str) else msgid)
        if re.search(r"\((s|e|es)\)", text)
    ]
    catalog = _french_catalogue()
    for message in catalog:
        forms = (message.string,) if isinstance(message.string, str) else message.string
        for form in forms:
            if re.search(r"\w\((s|e|es)\)", str(form)):
                flagged.append(f"fr: {form!r}")
    assert not flagged, "use tr.plural (gettext plural forms) or rephrase:\n" + "\n".join(flagged)


# What the typography rules do not apply to: code, web addresses, "key:value" and
# "10:00"-like tokens, placeholders with their format specs.
_NOT_PROSE = re.compile(r"`[^`]*`|\S+://\S+|[^\s«»]*[\w}]:[\w{][^\s«»]*|\{[^{}]*\}")


def _french_typography_problems(text: str) -> list[str]:
    """Plain or missing spaces before : ; ? ! % and inside « », outside code and placeholders."""
    stripped = _NOT_PROSE.sub("_", text)
    problems = []
    for match in re.finditer(r"(.)([:;?!%])", stripped):
        before, sign = match.groups()
        if before != NARROW:
            problems.append(f"{before!r} before {sign!r}")
    for match in re.finditer(r"«(.)|(.)»", stripped):
        inside = match.group(1) or match.group(2)
        if inside != NARROW:
            problems.append(f"{inside!r} inside « »")
    return problems


def test_french_catalogue_uses_narrow_no_break_spaces() -> None:
    bad = []
    for message in _french_catalogue():
        if not message.id:
            continue
        forms = (message.string,) if isinstance(message.string, str) else message.string
        for form in forms:
            found = _french_typography_problems(str(form))
            if found:
                bad.append(f"{form!r}: {', '.join(found)}")
    assert not bad, "French typography (U+202F before : ; ? ! % and inside « »):\n" + "\n".join(bad)


def test_the_typography_check_catches_plain_and_missing_spaces() -> None:
    assert _french_typography_problems("Bonjour : oui") == ["' ' before ':'"]
    assert _french_typography_problems("Vraiment?") == ["'t' before '?'"]
    assert _french_typography_problems("« texte »") == ["' ' inside « »", "' ' inside « »"]
    assert _french_typography_problems("{file}:{line} : x") == ["' ' before ':'"]
    assert not _french_typography_problems(f"Bonjour{NARROW}: `a:b` {{x:.0%}} 10:00 https://a.b/c")


def test_percentages_and_first_of_the_month_in_french() -> None:
    assert percent(0.3, "en") == "30%" and percent(0.3, "fr") == f"30{NARROW}%"
    assert t("fr", "{right:.0%} of the {answered} answers were right.", right=0.5, answered=2)
    assert t("en", "x {share:.0%}", share=0.25) == "x 25%"
    assert t("fr", "x {share:.0%}", share=0.25) == f"x 25{NARROW}%"
    assert format_day(date(2026, 10, 1), "fr") == "1er octobre 2026"
    assert format_day(date(2026, 10, 1), "fr", "full") == "jeudi 1er octobre 2026"
    assert format_day(date(2026, 10, 2), "fr") == "2 octobre 2026"
    assert format_day(date(2026, 10, 1), "en") == "October 1, 2026"


def test_translation_and_fallback() -> None:
    assert t(
        "fr", "From now on I will write to you in {language}.", language="français"
    ).startswith("Désormais")
    assert t("en", "From now on I will write to you in {language}.", language="English") == (
        "From now on I will write to you in English."
    )
    assert Tr("de")("Hello!") == "Hello!"  # unsupported languages fall back to English
    assert normalize("fr_CA.UTF-8") == "fr" and normalize(None) == "en"
