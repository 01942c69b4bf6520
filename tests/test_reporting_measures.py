"""The measures on a hand-built data set with known answers, before and after the rollup job.

Week 47 of 2026 (Monday 16 to Sunday 22 November, Paris) in Sales (Thomas in
Lille, Julien in Paris, Emma in London), compared with week 46.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session, select

from bot.charter.models import CharterAcknowledgement
from bot.crisis.models import Crisis, CrisisAlert
from bot.members.models import Member
from bot.participation.models import record
from bot.reporting import measures, periods
from bot.reporting.models import ReportingActive, ReportingCount
from tests.conftest import run_scheduled

W47 = periods.Period("week", date(2026, 11, 16), "Europe/Paris")
MIDWEEK = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
LAST_WEEK = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)
SUNDAY_LATE = datetime(2026, 11, 22, 22, 30, tzinfo=UTC)  # Sunday 23:30 in Paris: week 47
MONDAY_EARLY = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # Monday 00:30 in Paris: week 48
LATER = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def ids(session: Session) -> dict[str, int]:
    return {m.email.split(".")[0]: m.id for m in session.exec(select(Member)).all()}  # type: ignore[misc]


def add(
    session: Session, kind: str, member: int, at: datetime, subject: str | None = None, **data
) -> None:  # type: ignore[no-untyped-def]
    record(session, kind, member, subject, "console", **data).occurred_at = at


def hand_built(runtime) -> int:  # type: ignore[no-untyped-def]
    version = measures.charter_version(runtime.relais.content)
    with Session(runtime.engine) as session:
        who = ids(session)
        emma, thomas, julien, noah, claire = (
            who["emma"],
            who["thomas"],
            who["julien"],
            who["noah"],
            who["claire"],
        )
        for _ in range(2):
            add(session, "lesson_delivered", emma, MIDWEEK, "welcome")
        add(session, "lesson_answered", emma, MIDWEEK, "a", correct=True, review=False)
        add(session, "lesson_answered", emma, MIDWEEK, "b", correct=False, review=False)
        add(session, "lesson_answered", emma, MIDWEEK, "b", correct=True, review=True)
        add(session, "share_clicked", emma, MIDWEEK, "7", network="linkedin")
        add(session, "share_clicked", emma, MIDWEEK, "7", network="linkedin")
        add(session, "share_clicked", emma, MIDWEEK, "8", network="x")
        add(session, "share_declared", emma, MIDWEEK, "7")
        add(session, "lesson_answered", thomas, SUNDAY_LATE, "a", correct=True, review=False)
        add(session, "post_delivered", thomas, MIDWEEK, "7", campaign="launch")
        add(session, "command_used", julien, MIDWEEK, "stats")  # not an activity
        add(session, "lesson_answered", julien, MONDAY_EARLY, "a", correct=True, review=False)
        add(session, "lesson_answered", emma, LAST_WEEK, "c", correct=True, review=False)
        # Cases belong to the department they were routed to, whoever reported them.
        for case in ("c1", "c2", "c3"):
            add(session, "case_opened", noah, MIDWEEK, case, department="sales", category="x")
        add(session, "case_acknowledged", thomas, MIDWEEK, "c1", department="sales", minutes=30)
        add(session, "case_acknowledged", thomas, MIDWEEK, "c2", department="sales", minutes=120)
        add(session, "case_escalated", None, MIDWEEK, "c2", department="sales", step=1)  # type: ignore[arg-type]
        add(session, "case_escalated", None, MIDWEEK, "c2", department="sales", step=2)  # type: ignore[arg-type]
        add(session, "case_resolved", thomas, MIDWEEK, "c1", department="sales")
        add(session, "mention_reported", noah, MIDWEEK, "1")
        # A crisis this week alerted three people in Sales and one in HR; two read it (Emma
        # pressed twice: one alert, one acknowledgement). Last week's alerted Emma, unread.
        this_week = Crisis(playbook="x", title="x", declared_via="console", declared_at=MIDWEEK)
        last_week = Crisis(
            playbook="x", title="x", declared_via="console", declared_at=LAST_WEEK, status="ended"
        )
        session.add_all([this_week, last_week])
        session.flush()
        for member, department, read in (
            (emma, "sales", True),
            (thomas, "sales", True),
            (julien, "sales", False),
            (noah, "hr", False),
        ):
            session.add(
                CrisisAlert(
                    crisis_id=this_week.id,
                    member_id=member,
                    role="ambassador",
                    department=department,
                    alerted_at=MIDWEEK,
                    acknowledged_at=MIDWEEK if read else None,
                )
            )
        session.add(
            CrisisAlert(
                crisis_id=last_week.id,
                member_id=emma,
                role="ambassador",
                department="sales",
                alerted_at=LAST_WEEK,
            )
        )
        add(session, "crisis_declared", claire, MIDWEEK, str(this_week.id))
        for member in (emma, thomas, emma):
            add(session, "crisis_alert_acknowledged", member, MIDWEEK, str(this_week.id))
        session.add(
            CharterAcknowledgement(
                member_id=emma, version=version or 0, language="en", platform="console"
            )
        )
        session.commit()
    return version or 0


def figures(runtime, departments=None, location=None):  # type: ignore[no-untyped-def]
    version = measures.charter_version(runtime.relais.content)
    with Session(runtime.engine) as session:
        report = measures.build(session, runtime.config, W47, None, version)
        return report.figures(departments, location), report


def check_sales(found: dict) -> None:  # type: ignore[type-arg]
    assert found["opted_in"] == (3, None)
    assert found["active"] == (2, 1)  # Emma and Thomas (Sunday 23:30); Julien's Monday is week 48
    assert found["active_share"] == (2 / 3, 1 / 3)
    assert found["lessons_delivered"][0] == 2
    assert found["lessons_answered"] == (4, 1)
    assert found["right_first_try"][0] == 2 / 3  # reviews left out
    assert found["posts_delivered"][0] == 1
    assert found["shares_declared"][0] == 1
    assert found["charter_accepted"] == (1 / 3, None)
    assert found["cases_received"][0] == 3
    assert found["ack_median"][0] == 75
    assert found["cases_escalated"][0] == 1  # one case, two steps
    assert found["cases_resolved"][0] == 1
    # Of the three people alerted in Sales, two read it; last week, Emma did not.
    assert found["crisis_ack_rate"] == (2 / 3, 0.0)


def test_measures_on_a_hand_built_week_before_and_after_the_rollup(runtime) -> None:  # type: ignore[no-untyped-def]
    hand_built(runtime)
    sales, report = figures(runtime, ["sales"])
    check_sales(sales)
    assert report.networks(["sales"]) == {"linkedin": 2, "x": 1}
    assert report.total(["sales"]).ack_late == 1  # 120 minutes against a 60-minute target
    hr, _ = figures(runtime, ["hr"])
    assert hr["mentions_reported"][0] == 1 and hr["cases_received"][0] == 0
    assert hr["crisis_ack_rate"] == (0.0, None)  # Noah did not read it; nobody alerted before
    london, _ = figures(runtime, None, "London")
    assert london["active"][0] == 1 and london["share_clicks"][0] == 3
    everyone, _ = figures(runtime)
    # Noah (HR) is active too: he reported a mention and opened the cases.
    assert everyone["opted_in"][0] == 15 and everyone["active"][0] == 3
    assert everyone["crisis_ack_rate"][0] == 2 / 4

    # The job folds everything older than five minutes: the same figures, now from the rollups.
    run_scheduled(runtime, "reporting_rollup", LATER)
    with Session(runtime.engine) as session:
        assert session.exec(select(ReportingActive).where(ReportingActive.grain == "week")).all()
        assert session.exec(select(ReportingCount)).all()
    sales, _ = figures(runtime, ["sales"])
    check_sales(sales)

    # A new event after the fold is read from the tail, and Emma is still counted once.
    with Session(runtime.engine) as session:
        add(session, "share_clicked", ids(session)["emma"], MIDWEEK, "9", network="facebook")
        session.commit()
    sales, report = figures(runtime, ["sales"])
    assert sales["share_clicks"][0] == 4 and sales["active"][0] == 2
    assert report.networks(["sales"]) == {"linkedin": 2, "x": 1, "facebook": 1}
    run_scheduled(runtime, "reporting_rollup", LATER)
    sales, _ = figures(runtime, ["sales"])
    assert sales["share_clicks"][0] == 4 and sales["active"][0] == 2


def test_one_members_own_figures(runtime) -> None:  # type: ignore[no-untyped-def]
    hand_built(runtime)
    version = measures.charter_version(runtime.relais.content)
    with Session(runtime.engine) as session:
        emma = ids(session)["emma"]
        report = measures.build(
            session, runtime.config, W47, charter_version=version, member_id=emma
        )
    own = report.figures()
    assert own["lessons_answered"] == (3, 1) and own["share_clicks"][0] == 3
    assert own["charter_accepted"][0] == 1.0 and own["cases_received"][0] == 0
    assert own["crisis_ack_rate"] == (1.0, 0.0)


def test_periods_are_calendar_weeks_months_and_quarters_in_the_programme_zone() -> None:
    from bot.i18n import Tr

    tr = Tr("en")
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert periods.parse("week", now, "Europe/Paris", tr).start == date(2026, 11, 23)
    assert periods.parse("last-week", now, "Europe/Paris", tr) == W47
    assert periods.parse("2026-W47", now, "Europe/Paris", tr) == W47
    assert periods.parse("semaine-dernière", now, "Europe/Paris", tr) == W47
    month = periods.parse("2026-11", now, "Europe/Paris", tr)
    assert (month.start, month.end, month.previous.start) == (
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2026, 10, 1),
    )
    quarter = periods.parse("2026-Q1", now, "Europe/Paris", tr)
    assert (quarter.end, quarter.previous.start) == (date(2026, 4, 1), date(2025, 10, 1))
    for wrong in ("2026-13", "yesterday", "2026-W60"):
        try:
            periods.parse(wrong, now, "Europe/Paris", tr)
        except periods.PeriodError as exc:
            assert wrong in str(exc) and "2026-W47" in str(exc)
        else:
            raise AssertionError(wrong)
