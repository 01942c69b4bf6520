"""A reported mention becomes a case for the relays who take it in charge; stats speak plain language."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.members.models import Member
from bot.response.models import Case, CaseAssignment, MentionReport
from tests.conftest import pin_triage

NOAH = "noah.bernard@example.com"  # ambassador in HR (relay: amelie.garnier)
AMELIE = "amelie.garnier@example.com"
CLAIRE = "claire.dubois@example.com"  # coordinator
JULIEN = "julien.roux@example.com"  # manager of sales, hr, legal


@pytest.fixture(autouse=True)
def _complaints(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_triage(monkeypatch, "complaint")  # "hiring" routes a complaint to hr (app.yaml)


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def test_report_goes_to_department_relay_who_acknowledges(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    noah = chat(NOAH)
    answer = texts(
        noah.type("report https://x.example.com/status/42 Someone says our hiring is rigged")
    )
    assert "Merci" in answer  # Noah reads French
    amelie = chat(AMELIE)
    alert = texts(amelie.inbox())
    assert "Noah Bernard" in alert and "https://x.example.com/status/42" in alert
    assert "Someone says our hiring is rigged" in alert
    taken = texts(amelie.press(amelie.number_of("case.ack")))
    assert "rapport" in taken.lower() or "signalement" in taken.lower()
    assert "Amélie Garnier" in texts(noah.inbox())
    again = texts(chat(CLAIRE).type("help"))  # coordinators see the report command too
    assert "report" in again
    with Session(runtime.engine) as session:
        case = session.exec(select(Case)).one()
        amelie_id = session.exec(select(Member.id).where(Member.email == AMELIE)).one()
        assert case.owner_id == amelie_id and case.department == "hr"
        assert case.status == "acknowledged" and case.category == "complaint"
        assert [a.step for a in session.exec(select(CaseAssignment)).all()] == ["department_relays"]


def test_second_acknowledgement_is_told_who_was_first(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    chat("emma.wilson@example.com").type(
        "report https://facebook.example.com/p/1 angry customer"
    )  # sales
    karim = chat("karim.benali@example.com")  # a complaint goes to customer service
    karim.inbox()
    karim.press(karim.number_of("case.ack"))
    claire = chat(CLAIRE)
    from bot.events import ActionEvent, Who

    with Session(runtime.engine) as session:
        case_id = session.exec(select(Case.id)).one()
    runtime.relais.handle(
        ActionEvent(Who("console", email=CLAIRE), "ack-2", action_id="case.ack", value=str(case_id))
    )
    told = texts(claire.inbox())
    assert "Karim Benali a déjà pris ce signalement en charge à" in told  # Claire reads French


def test_report_needs_a_link(chat) -> None:  # type: ignore[no-untyped-def]
    shown = texts(chat("emma.wilson@example.com").type("report something bad"))
    assert "Give the link to the post" in shown


def test_stranger_cannot_acknowledge(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    from bot.events import ActionEvent, Who

    chat(NOAH).type("report https://x.example.com/1 hmm")
    with Session(runtime.engine) as session:
        case_id = session.exec(select(Case.id)).one()
    emma = chat("emma.wilson@example.com")
    runtime.relais.handle(
        ActionEvent(
            Who("console", email="emma.wilson@example.com"),
            "a1",
            action_id="case.ack",
            value=str(case_id),
        )
    )
    assert "Sorry, you may not take a reported mention in charge." in texts(emma.inbox())


def test_stats_for_member_manager_and_coordinator(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    noah = chat(NOAH)
    noah.type("lang en")
    noah.type("lesson")
    correct = runtime.relais.content.lesson("welcome", "en").quiz.correct_index
    noah.press(noah.number_of("lesson.answer", f"welcome:{correct}"))
    mine = texts(noah.type("stats"))
    assert "1 lesson answer, 100% right at first try; 0 mentions reported." in mine
    assert "The whole programme" not in mine
    julien = chat(JULIEN)
    julien.type("lang en")
    managed = texts(julien.type("stats"))
    assert "Human resources" in managed and "Marketing" not in managed
    assert "1 of 2 ambassadors active (50%, up from 0%)." in managed
    assert "1 lesson answer (up from 0); 100% right at first try." in managed
    claire = chat(CLAIRE)
    claire.type("lang en")
    everything = texts(claire.type("stats"))
    assert (
        "The whole programme" in everything
        and "1 of 15 ambassadors active (7%, up from 0%)." in everything
    )


def test_a_link_too_long_to_keep_whole_is_refused_not_cut(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    long = "https://x.example.com/status/42?" + "utm=a&" * 400  # over 2,000 characters
    answer = texts(chat(NOAH).type(f"report {long} angry"))
    assert "2000" in answer and "Ce lien dépasse" in answer
    exact = "https://x.example.com/" + "a" * (2000 - 22)  # 2,000 characters: kept whole
    chat(NOAH).type(f"report {exact} angry")
    with Session(runtime.engine) as session:
        assert [report.url for report in session.exec(select(MentionReport)).all()] == [exact]


def test_stats_in_french_agree_with_the_count_and_write_percentages_the_french_way(
    runtime, chat
) -> None:  # type: ignore[no-untyped-def]
    karim = chat("karim.benali@example.com")  # French-speaking
    karim.type("lesson")
    karim.press(runtime.relais.content.lesson("welcome", "fr").quiz.correct_index + 1)
    mine = texts(karim.type("stats"))
    narrow = "\u202f"
    assert (
        f"1 réponse aux leçons, 100{narrow}% justes du premier coup{narrow}; 0 mention signalée."
        in mine
    ), mine
    assert "(s)" not in mine and f"Période{narrow}: semaine du " in mine
