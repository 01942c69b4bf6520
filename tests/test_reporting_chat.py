"""`stats [period] [department]` in the console, scoped by the permission model."""

from __future__ import annotations

EMMA = "emma.wilson@example.com"  # ambassador in Sales (English)
JULIEN = "julien.roux@example.com"  # manager of Sales, HR, Legal
AMELIE = "amelie.garnier@example.com"  # relay of HR
CLAIRE = "claire.dubois@example.com"  # coordinator
EVERY = ("Communications", "Customer service", "Marketing", "Sales", "Human resources", "Legal")


def said(chat, email: str, text: str, lang: str = "en") -> str:  # type: ignore[no-untyped-def]
    person = chat(email)
    person.type(f"lang {lang}")
    return "\n".join(item.rendered.text for item in person.type(text))


def test_an_ambassador_sees_only_their_own_figures(chat) -> None:  # type: ignore[no-untyped-def]
    shown = said(chat, EMMA, "stats")
    assert "You — week of" in shown and "No lesson answered in the period;" in shown
    assert not [name for name in EVERY if f"== {name}" in shown]
    refused = said(chat, EMMA, "stats sales")
    assert "You cannot see the figures of Sales: your figures cover only yourself." in refused


def test_a_relay_sees_their_department_and_a_manager_theirs_only(chat) -> None:  # type: ignore[no-untyped-def]
    shown = said(chat, AMELIE, "stats")
    assert "== Human resources ==" in shown and "== Sales ==" not in shown
    shown = said(chat, JULIEN, "stats last-week hr")
    assert "== Human resources ==" in shown and "== Legal ==" not in shown
    assert "== You" not in shown  # a department asked for: that department alone
    assert "Period: week of" in shown
    refused = said(chat, JULIEN, "stats marketing")
    assert (
        "You cannot see the figures of Marketing: your figures cover Sales, Human resources, Legal."
        in refused
    )


def test_the_coordinator_sees_everything_and_bad_arguments_are_named(chat) -> None:  # type: ignore[no-untyped-def]
    shown = said(chat, CLAIRE, "stats month")
    assert "== The whole programme ==" in shown and "== By department ==" in shown
    assert all(f"*{name}*" in shown for name in EVERY)
    assert "Legal" in said(chat, CLAIRE, "stats 2026-Q4 Legal")
    assert "“bogus” is neither a period nor a department." in said(chat, CLAIRE, "stats bogus")
    wrong = said(chat, CLAIRE, "stats 2026-13")
    assert "“2026-13” is not a period." in wrong and "2026-W47" in wrong
    french = said(chat, CLAIRE, "stats trimestre-dernier ventes", "fr")
    assert "== Ventes ==" in french and "Période\u202f: T" in french


def test_definitions_beside_the_figures_in_both_languages(chat) -> None:  # type: ignore[no-untyped-def]
    shown = said(chat, EMMA, "stats definitions")
    assert "*Share link clicks*: Clicks on the share links" in shown
    assert "not a measured audience" in shown and "reach" not in shown.lower()
    french = said(chat, EMMA, "stats définitions", "fr")
    assert "*Partages déclarés*" in french
