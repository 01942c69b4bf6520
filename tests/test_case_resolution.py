"""Resolving a case with a note through a Slack modal; simultaneous identical reports make
one case, on SQLite and PostgreSQL, whatever the timing (threads racing on the real core)."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.db import session_scope
from bot.events import CommandEvent, Who
from bot.members.models import Member
from bot.response import service
from bot.response.models import Case, CaseStep, MentionReport
from tests.conftest import pin_triage
from tests.test_broadcast_form import open_modal, submit_modal
from tests.test_slack import SlackWorld, all_text, buttons, slack  # noqa: F401  (the fixture)

# --- Slack: the note in a modal ------------------------------------------------------------


def test_resolve_in_slack_asks_for_the_note_in_a_modal_and_tells_the_reporter(
    slack: SlackWorld,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pin_triage(monkeypatch, "complaint")  # customer service: Karim
    assert (
        slack.command("U0EMMA001", "report https://x.example.com/9 a furious client").status_code
        == 200
    )
    alert = slack.wait_for(lambda: slack.dms("U0KARIM01"), "the relay's alert")[0]
    resolve = next(b for b in buttons(alert) if b["action_id"].startswith("case.resolve"))
    seen = len(slack.dms("U0KARIM01"))
    slack.click("U0KARIM01", resolve, alert["ts"], "1700000500.000001")
    view = open_modal(slack, "U0KARIM01", seen)
    assert [block["block_id"] for block in view["blocks"]] == ["note"]
    assert view["blocks"][0]["element"]["multiline"] is True
    with Session(slack.runtime.engine) as session:
        assert session.exec(select(Case)).one().status == "open"  # not before the note
    note = "Answered publicly with the refund procedure."
    assert submit_modal(slack, "U0KARIM01", view, {"note": note}).status_code == 200
    slack.wait_for(
        lambda: any(note in all_text(m) for m in slack.dms("U0EMMA001")), "Emma told the note"
    )
    with Session(slack.runtime.engine) as session:
        case = session.exec(select(Case)).one()
        steps = session.exec(select(CaseStep).where(CaseStep.kind == "resolved")).all()
    assert case.status == "resolved" and case.note == note
    assert [s.detail for s in steps] == [note]
    slack.wait_for(
        lambda: any(
            "est clos" in json.dumps(m, ensure_ascii=False) for m in slack.dms("U0KARIM01")
        ),
        "Karim's confirmation",
    )


# --- simultaneous identical reports ----------------------------------------------------------

REPORTERS = 8


def race(runtime, texts_by_email: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Every member reports at the same moment (a barrier), each through the core, in a thread."""
    barrier = threading.Barrier(len(texts_by_email))
    errors: list[BaseException] = []

    def one(email: str, text: str) -> None:
        try:
            barrier.wait(timeout=30)
            outcome = runtime.relais.handle(
                CommandEvent(Who(platform="console", email=email), uuid.uuid4().hex, "report", text)
            )
            assert outcome.queued >= 1, outcome
        except BaseException as exc:  # shown by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=one, args=item) for item in texts_by_email.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


def emails(runtime, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return list(
            session.exec(
                select(Member.email).where(Member.opted_in.is_(True)).order_by(Member.id)  # type: ignore[attr-defined]
            ).all()
        )[:count]


def test_simultaneous_reports_of_one_link_make_one_case(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pin_triage(monkeypatch, "complaint")
    people = emails(runtime, REPORTERS)
    for round_ in range(3):  # several rounds: each a fresh race
        url = f"https://x.example.com/status/{round_}"
        race(runtime, {email: f"{url}?utm_source=x{n} help" for n, email in enumerate(people)})
    with Session(runtime.engine) as session:
        cases = session.exec(select(Case).order_by(Case.id)).all()  # type: ignore[arg-type]
        reports = session.exec(select(MentionReport)).all()
    assert [case.reporters for case in cases] == [REPORTERS] * 3
    assert len(reports) == REPORTERS * 3
    assert {case.url_key for case in cases} == {f"x.example.com/status/{n}" for n in range(3)}


def test_simultaneous_near_identical_texts_make_one_case(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pin_triage(monkeypatch, "complaint")
    people = emails(runtime, REPORTERS)
    text = "the delivery van blocked the cycle lane again this morning near the station"
    race(
        runtime,
        {
            email: f"https://social{n}.example.com/p/{n} {text}{' again' if n % 2 else ''}"
            for n, email in enumerate(people)
        },
    )
    with Session(runtime.engine) as session:
        (case,) = session.exec(select(Case)).all()
    assert case.reporters == REPORTERS


def test_the_database_refuses_a_second_open_case_for_one_link_in_one_window(runtime) -> None:  # type: ignore[no-untyped-def]
    """The guarantee under the lock: a unique key on the link and the merge window."""
    now = utcnow()
    with session_scope(runtime.engine) as session:
        member = session.exec(select(Member)).first()
        assert member is not None
        first = service.open_case(
            session, runtime.config, member, "https://x.example.com/a", "x", now
        )
        assert first is not None and first.merge_key
        member_id = member.id or 0
    with pytest.raises(IntegrityError), session_scope(runtime.engine) as session:
        session.add(
            Case(
                url="https://x.example.com/a",
                url_key="x.example.com/a",
                merge_key=first.merge_key,
                category="other",
                severity="low",
                opened_by_id=member_id,
            )
        )
    # A closed case frees its key: the same link opens a new case after a resolution.
    with session_scope(runtime.engine) as session:
        case = session.get(Case, first.id)
        member = session.get(Member, member_id)
        assert case is not None and member is not None
        assert service.close(session, case, member, "resolved", now, "console", "done")
        assert case.merge_key is None
        later = service.file_report(
            session,
            runtime.config,
            runtime.relais.content,
            member,
            "https://x.example.com/a",
            "again",
            "console",
            now + timedelta(seconds=1),
        )
        assert not later.merged and later.case.id != first.id
