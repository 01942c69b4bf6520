"""Cases: merged reports, routing per organisation model, the relay's buttons, the escalation chain.

Driven through the console conversation and the real scheduler wiring
(``run_scheduled``) with a controlled clock; triage is pinned where a test is
about what happens to a case rather than how a text is read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import event
from sqlmodel import Session, select

from bot.crisis.models import Crisis
from bot.delivery.models import Delivery
from bot.events import ActionEvent, Who
from bot.members.models import Member
from bot.participation.models import ParticipationEvent
from bot.response import triage
from bot.response.models import Case, CaseAssignment, CaseStep, MentionReport
from bot.triage.models import TriageCorrection
from tests.conftest import pin_triage, run_scheduled
from tests.test_broadcast_form import fill

EMMA = "emma.wilson@example.com"  # ambassador, sales, English
LIAM = "liam.tremblay@example.com"  # ambassador, customer service, English
NOAH = "noah.bernard@example.com"  # ambassador, hr, French
KARIM = "karim.benali@example.com"  # relay, customer service
LEA = "lea.petit@example.com"  # relay, customer service (Montréal)
INES = "ines.moreau@example.com"  # hub of residential; backup relay of customer service
CLAIRE = "claire.dubois@example.com"  # coordinator, relay of communication
HUGO = "hugo.lambert@example.com"  # coordinator
THOMAS = "thomas.girard@example.com"  # relay of sales, hub of business
CELL = {"sophie.laurent@example.com", "nathalie.blanc@example.com", "marc.fontaine@example.com"}
T0 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Paris (in the past)
JOB = "case_escalations"


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def english(chat, email: str):  # type: ignore[no-untyped-def]
    conversation = chat(email)
    conversation.type("lang en")
    conversation.inbox()
    return conversation


def the_case(runtime) -> Case:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return session.exec(select(Case)).one()


def told(runtime, case_id: int) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    """Who got a card of the case, by dedupe key kind (step:, informed…)."""
    with Session(runtime.engine) as session:
        rows = session.exec(
            select(Member.email, Delivery.dedupe_key)
            .join(Delivery, Delivery.member_id == Member.id)
            .where(Delivery.subject == str(case_id), Delivery.kind == "escalation")
        ).all()
    found: dict[str, set[str]] = {}
    for email, key in rows:
        found.setdefault(key.split(":")[2], set()).add(email)
    return found


def timeline(runtime, case_id: int) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return [
            (s.kind, s.detail)
            for s in session.exec(
                select(CaseStep).where(CaseStep.case_id == case_id).order_by(CaseStep.id)  # type: ignore[arg-type]
            ).all()
        ]


# --- routing ---------------------------------------------------------------


def test_a_complaint_goes_to_customer_service_not_the_reporters_department(
    runtime, chat, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    pin_triage(monkeypatch, "complaint", "high")
    emma = chat(EMMA)  # sales
    answer = texts(emma.type("report https://x.example.com/status/1 our heating never came back"))
    assert "case #1, Customer service" in answer and "went to 2 people" in answer
    case = the_case(runtime)
    assert (case.department, case.category, case.severity) == (
        "customer-service",
        "complaint",
        "high",
    )
    assert case.acknowledge_by is not None
    assert case.acknowledge_by.replace(tzinfo=UTC) - case.created_at.replace(
        tzinfo=UTC
    ) == timedelta(minutes=15)  # app.yaml: deadlines.high
    sent = told(runtime, case.id or 0)
    assert sent["department_relays"] == {KARIM, LEA}
    assert sent["informed"] == {CLAIRE, HUGO}  # hub and spoke: the hub (central team) is told
    karim = english(chat, KARIM)
    card = texts(karim.type(f"case {case.id}"))
    assert "Case #1: complaint, high severity (Customer service)" in card
    assert "Why: pinned → complaint" in card and "Reported by Emma Wilson." in card
    for action in ("case.ack", "case.reassign", "case.resolve", "case.dismiss", "case.correct"):
        assert karim.number_of(action, str(case.id))
    assert ("routed", "customer-service") in timeline(runtime, case.id or 0)


def test_keywords_narrow_a_route(runtime, chat, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pin_triage(monkeypatch, "complaint")
    chat(EMMA).type("report https://x.example.com/status/2 they say the hiring process is unfair")
    case = the_case(runtime)
    assert case.department == "hr"
    assert told(runtime, case.id or 0)["department_relays"] == {"amelie.garnier@example.com"}
    with Session(runtime.engine) as session:
        routed = session.exec(select(CaseStep).where(CaseStep.kind == "routed")).one()
    assert routed.data == {"rule": 0, "keyword": "hiring"}


def with_model(programme_dir: Path, model: str) -> None:
    path = programme_dir / "app.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("organisation_model: hub_and_spoke", f"organisation_model: {model}"),
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    ("model", "first", "step", "informed"),
    [
        ("centralized", {CLAIRE, HUGO}, "central_team", None),
        ("hub_and_spoke", {KARIM, LEA}, "department_relays", {CLAIRE, HUGO}),
        ("dandelion", {INES}, "business_unit_hubs", None),  # residential's hub
        ("organic", {KARIM, LEA}, "department_relays", None),
        ("honeycomb", {KARIM, LEA}, "department_relays", None),
    ],
)
def test_routing_follows_the_organisation_model(  # type: ignore[no-untyped-def]
    runtime_factory, programme_dir, database_url, chat, monkeypatch, model, first, step, informed
) -> None:
    pin_triage(monkeypatch, "question")
    with_model(programme_dir, model)
    runtime = runtime_factory(database_url)
    from adapters.console.chat import ConsoleChat

    ConsoleChat(runtime, EMMA).type("report https://x.example.com/q/1 when is the outage over")
    case = the_case(runtime)
    assert case.department == "customer-service"
    sent = told(runtime, case.id or 0)
    assert sent[step] == first
    assert sent.get("informed") == informed
    with Session(runtime.engine) as session:
        assigned = {a.step for a in session.exec(select(CaseAssignment)).all()}
    assert assigned == {step}


# --- merged reports --------------------------------------------------------


def test_reports_of_one_mention_merge_into_one_case(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    text = "a customer is furious: no heating for a week and nobody answers"
    with time_machine.travel(T0, tick=False):
        chat(EMMA).type(f"report https://x.example.com/status/9?utm_source=a {text}")
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        again = texts(
            english(chat, NOAH).type(f"report https://www.x.example.com/status/9/ {text}")
        )
    with time_machine.travel(T0 + timedelta(minutes=6), tick=False):
        # Another link, the same text copied: the same mention seen elsewhere.
        third = texts(chat(LIAM).type(f"report https://fb.example.com/p/77 {text}!"))
    assert "your report joins case #1 (2 people reported it)" in again
    assert "your report joins case #1 (3 people reported it)" in third
    with Session(runtime.engine) as session:
        cases = session.exec(select(Case)).all()
        reports = session.exec(select(MentionReport)).all()
        kinds = [s.kind for s in session.exec(select(CaseStep).order_by(CaseStep.id)).all()]  # type: ignore[arg-type]
    assert len(cases) == 1 and len(reports) == 3 and {r.case_id for r in reports} == {cases[0].id}
    case = cases[0]
    assert case.reporters == 3 and kinds.count("merged") == 2
    # Triage ran again with the number of reporters.
    expected = triage.classify(case.text, reporters=3)
    assert (case.category, case.severity) == (expected.category, expected.severity)
    # One card per relay: a merge tells nobody twice.
    assert len([k for k in told(runtime, case.id or 0) if k != "informed"]) == 1
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):  # past the merge window
        chat(EMMA).type(f"report https://x.example.com/status/9 {text}")
    with Session(runtime.engine) as session:
        assert len(session.exec(select(Case)).all()) == 2


def test_the_reporters_are_told_who_owns_the_case(runtime, chat, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pin_triage(monkeypatch, "complaint")
    emma, liam = chat(EMMA), chat(LIAM)
    emma.type("report https://x.example.com/status/3 billing is a mess")
    liam.type("report https://x.example.com/status/3")
    karim = english(chat, KARIM)
    case = the_case(runtime)
    assert "the report is yours" in texts(karim.press(karim.number_of("case.ack", str(case.id))))
    assert "Karim Benali took your report in charge." in texts(emma.inbox())
    assert "Karim Benali took your report in charge." in texts(liam.inbox())
    later = texts(
        english(chat, "chloe.martin@example.com").type("report https://x.example.com/status/3")
    )
    assert (
        "your report joins case #1 (3 people reported it). Karim Benali has it in charge." in later
    )


# --- the relay's buttons ---------------------------------------------------


def test_reassign_resolve_not_relevant_and_correct(runtime, chat, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pin_triage(monkeypatch, "complaint")
    chat(EMMA).type("report https://x.example.com/status/4 they lost my parcel")
    case = the_case(runtime)
    karim = english(chat, KARIM)
    thomas = english(chat, THOMAS)
    karim.type(f"case {case.id}")
    question = texts(karim.press(karim.number_of("case.reassign", str(case.id))))
    assert "Which department should take case #1?" in question
    moved = texts(karim.press(karim.number_of("case.move", f"{case.id}:sales")))
    assert "Case #1 now goes to Sales: 1 person told." in moved
    case = the_case(runtime)
    assert (case.department, case.status, case.escalation_step) == ("sales", "open", 0)
    assert "Case #1: complaint" in texts(thomas.inbox())
    # Thomas says it is a question, not a complaint: the case takes it, the timeline keeps it.
    thomas.press(thomas.number_of("case.correct", str(case.id)))
    fixed = texts(thomas.press(thomas.number_of("case.category", f"{case.id}:question")))
    assert "Case #1 is now “question”." in fixed
    assert the_case(runtime).category == "question"
    with Session(runtime.engine) as session:
        (correction,) = session.exec(select(TriageCorrection)).all()
    assert (correction.predicted, correction.corrected) == ("complaint", "question")
    assert correction.text == "they lost my parcel"  # kept for triage to learn from
    # Resolve asks for the note (a form); an empty note is asked for again.
    asked = texts(thomas.press(thomas.number_of("case.resolve", str(case.id))))
    assert "Resolve case #1" in asked and the_case(runtime).status == "open"
    assert "Case #1 is resolved." in fill(thomas, {"note": "replied to her in private"})
    assert "Emma Wilson" not in texts(thomas.inbox())
    told_emma = texts(chat(EMMA).inbox())
    assert "Thomas Girard resolved the mention you reported: replied to her in private" in told_emma
    assert "Your note is on case #1." in texts(thomas.type("resolve 1 answered under the post"))
    closed = texts(thomas.press(thomas.number_of("case.dismiss", str(case.id))))
    assert "Case #1 is closed: resolved." in closed
    case = the_case(runtime)
    assert case.status == "resolved" and case.note == "answered under the post"
    assert case.next_escalation_at is None
    kinds = [kind for kind, _ in timeline(runtime, case.id or 0)]
    assert kinds == [
        "opened",
        "routed",
        "notified",
        "reassigned",
        "notified",
        "corrected",
        "resolved",
        "noted",
    ]
    shown = texts(thomas.type("case 1"))
    assert "reassigned to Sales by Karim Benali" in shown and "resolved by Thomas Girard" in shown
    with Session(runtime.engine) as session:
        events = {
            e.kind
            for e in session.exec(select(ParticipationEvent)).all()
            if e.kind.startswith("case_")
        }
    assert events == {"case_opened", "case_resolved"}


def test_not_relevant_and_a_relay_of_another_department_is_refused(
    runtime, chat, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    pin_triage(monkeypatch, "other")  # -> communication (Claire)
    chat(EMMA).type("report https://x.example.com/status/5 a joke about our logo")
    case = the_case(runtime)
    thomas = english(chat, THOMAS)
    runtime.relais.handle(
        ActionEvent(
            Who("console", email=THOMAS), "t1", action_id="case.dismiss", value=str(case.id)
        )
    )
    assert "only they or a coordinator can take it" in texts(thomas.inbox())
    hugo = english(chat, HUGO)  # a coordinator covers the whole programme
    runtime.relais.handle(
        ActionEvent(Who("console", email=HUGO), "h1", action_id="case.dismiss", value=str(case.id))
    )
    assert "Case #1 is marked not relevant." in texts(hugo.inbox())
    assert the_case(runtime).status == "not_relevant"


# --- deadlines and the escalation chain ------------------------------------


def run(runtime, moment: datetime) -> int:  # type: ignore[no-untyped-def]
    return run_scheduled(runtime, JOB, moment)


def test_an_unacknowledged_case_climbs_the_chain_step_by_step(runtime, chat, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pin_triage(monkeypatch, "complaint", "high")  # 15 minutes per step
    sophie = english(chat, "sophie.laurent@example.com")
    with time_machine.travel(T0, tick=False):
        chat(EMMA).type("report https://x.example.com/status/6 a video of a rude technician")
    case_id = the_case(runtime).id or 0
    step = timedelta(minutes=15)
    assert run(runtime, T0 + step - timedelta(seconds=1)) == 0
    assert run(runtime, T0 + step + timedelta(seconds=1)) == 1
    assert told(runtime, case_id)["backup_relays"] == {INES}
    assert run(runtime, T0 + step + timedelta(seconds=3)) == 0  # fired once
    assert run(runtime, T0 + 2 * step + timedelta(seconds=2)) == 2
    assert told(runtime, case_id)["central_team"] == {CLAIRE, HUGO}
    assert run(runtime, T0 + 3 * step) == 3
    assert told(runtime, case_id)["crisis_cell"] == CELL
    everyone = 2 + 1 + 2 + 3
    assert run(runtime, T0 + 4 * step) == everyone  # repeat 1: everyone asked so far
    assert run(runtime, T0 + 5 * step) == everyone  # repeat 2
    assert run(runtime, T0 + 6 * step) == 0  # the chain is over
    case = the_case(runtime)
    assert case.escalation_step == 5 and case.next_escalation_at is None
    steps = [detail for kind, detail in timeline(runtime, case_id) if kind == "escalated"]
    assert steps == ["backup_relays", "central_team", "crisis_cell", "repeat", "repeat"]
    shown = texts(sophie.inbox())
    assert "Nobody took this case in charge within 15 minutes: it comes to you" in shown
    assert "escalation step 3, the crisis cell" in shown
    with Session(runtime.engine) as session:
        fired = session.exec(
            select(ParticipationEvent).where(ParticipationEvent.kind == "case_escalated")
        ).all()
    assert [e.data["step"] for e in fired] == [1, 2, 3, 4, 5]


def test_acknowledging_stops_the_chain(runtime, chat, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pin_triage(monkeypatch, "complaint", "critical")  # 5 minutes
    with time_machine.travel(T0, tick=False):
        chat(EMMA).type("report https://x.example.com/status/7 our van hit a cyclist")
    case_id = the_case(runtime).id or 0
    assert run(runtime, T0 + timedelta(minutes=5, seconds=1)) == 1  # Inès, the backup
    ines = english(chat, INES)
    with time_machine.travel(T0 + timedelta(minutes=6), tick=False):
        assert "the report is yours" in texts(ines.press(ines.number_of("case.ack", str(case_id))))
    assert run(runtime, T0 + timedelta(minutes=10, seconds=1)) == 0
    with Session(runtime.engine) as session:
        acknowledged = session.exec(
            select(ParticipationEvent).where(ParticipationEvent.kind == "case_acknowledged")
        ).one()
    assert acknowledged.data == {"department": "customer-service", "minutes": 6}


def test_deadlines_survive_a_restart(runtime_factory, database_url, chat, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pin_triage(monkeypatch, "question", "normal")  # 60 minutes
    first = runtime_factory(database_url)
    from adapters.console.chat import ConsoleChat

    with time_machine.travel(T0, tick=False):
        ConsoleChat(first, EMMA).type("report https://x.example.com/status/8 is the shop open")
    first.engine.dispose()
    # A new process on the same database: the deadline is read from it.
    second = runtime_factory(database_url, members=False)
    assert run_scheduled(second, JOB, T0 + timedelta(minutes=59)) == 0
    assert run_scheduled(second, JOB, T0 + timedelta(minutes=60, seconds=2)) == 1
    with Session(second.engine) as session:
        assert [a.step for a in session.exec(select(CaseAssignment)).all()] == [
            "department_relays",
            "department_relays",
            "backup_relays",
        ]


def test_the_job_runs_every_two_seconds_and_asks_one_query_when_nothing_is_due(runtime) -> None:  # type: ignore[no-untyped-def]
    job = runtime.relais.registry.jobs[JOB]
    assert job.every <= timedelta(seconds=2) and not job.rounds and not job.per_process
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        assert run(runtime, T0) == 0
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    # The query for due cases, and on PostgreSQL the programme lock of bot.jobs.
    locks = [s for s in statements if "pg_try_advisory_xact_lock" in s]
    assert len(statements) - len(locks) == 1 and "next_escalation_at" in statements[-1]
    assert len(locks) == (1 if runtime.engine.dialect.name == "postgresql" else 0)


# --- a crisis proposed ------------------------------------------------------


def test_critical_cases_on_one_subject_propose_a_crisis(runtime, chat, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pin_triage(monkeypatch, "crisis_risk", "critical")
    cell = english(chat, "nathalie.blanc@example.com")
    texts_ = [
        "Customers' bank details published on a forum, going viral",
        "Someone claims our call centre sells phone numbers",
        "Our customer files were hacked, personal data leak, journalists calling",
    ]
    for minute, text in enumerate(texts_):
        with time_machine.travel(T0 + timedelta(minutes=10 * minute), tick=False):
            chat(EMMA).type(f"report https://x.example.com/c/{minute} {text}")
    shown = texts(cell.inbox())
    assert "3 critical cases about" in shown and "Declare a crisis?" in shown
    declare = cell.button(cell.number_of("crisis.declare"))
    assert declare is not None and declare.value == "customer-data-leak"  # keywords: data leak
    # The crisis capability answers the button: Nathalie (crisis cell) declares it.
    with time_machine.travel(T0 + timedelta(minutes=21), tick=False):
        cell.press(cell.number_of("crisis.declare"))
    with Session(runtime.engine) as session:
        (crisis,) = session.exec(select(Crisis)).all()
    assert crisis.playbook == "customer-data-leak"
    with time_machine.travel(T0 + timedelta(minutes=25), tick=False):
        chat(LIAM).type("report https://x.example.com/c/9 Another data leak: passwords published")
    with Session(runtime.engine) as session:
        proposals = session.exec(select(CaseStep).where(CaseStep.kind == "crisis_proposed")).all()
        claire = session.exec(
            select(Delivery)
            .join(Member, Member.id == Delivery.member_id)
            .where(Member.email == CLAIRE, Delivery.dedupe_key.startswith("crisis-proposal"))  # type: ignore[attr-defined]
        ).all()
    assert len(proposals) == 1 and len(claire) == 1  # proposed once per subject and window
