"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.db import make_engine, upgrade
from bot.models import metadata
from bot.runtime import schema_is_current


def test_migrations_match_models(database_url: str) -> None:
    engine = make_engine(database_url)
    assert not schema_is_current(engine)
    upgrade(engine)
    upgrade(engine)  # idempotent: a second start changes nothing
    assert schema_is_current(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    tables = set(inspect(engine).get_table_names())
    assert {
        "member",
        "delivery",
        "lessonprogress",
        "quizanswer",
        "participationevent",
        "inboundevent",
    } <= tables
    engine.dispose()


def test_reports_made_before_cases_become_cases(database_url: str) -> None:
    """0011: each report becomes a case (open ones keep their deadline), assignments follow."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    engine = make_engine(database_url)
    upgrade(engine, "0010")
    made = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with engine.begin() as connection:
        for number, email in ((1, "noah@example.com"), (2, "amelie@example.com")):
            connection.execute(
                text(
                    "INSERT INTO member (id, email, name, language, time_zone, opted_in, roles, "
                    "created_at, updated_at) VALUES (:id, :email, :email, 'fr', 'Europe/Paris', true, '[]', :at, :at)"
                ),
                {"id": number, "email": email, "at": made},
            )
        for number, acknowledged in ((1, None), (2, 2)):
            connection.execute(
                text(
                    "INSERT INTO mentionreport (id, reporter_id, url, text, department, platform, "
                    "created_at, acknowledge_by, acknowledged_by_id, acknowledged_at) VALUES "
                    "(:id, 1, :url, 'rigged hiring', 'hr', 'console', :at, :due, :ack, :ack_at)"
                ),
                {
                    "id": number,
                    "url": f"https://www.x.example.com/status/{number}?utm_source=t",
                    "at": made,
                    "due": made.replace(hour=10),
                    "ack": acknowledged,
                    "ack_at": made.replace(minute=20) if acknowledged else None,
                },
            )
            connection.execute(
                text(
                    "INSERT INTO reportassignment (report_id, member_id, step, notified_at) "
                    "VALUES (:id, 2, 'department_relays', :at)"
                ),
                {"id": number, "at": made},
            )
    upgrade(engine)
    with engine.connect() as connection:
        cases = connection.execute(
            text(
                "SELECT c.id, c.status, c.owner_id, c.url_key, c.next_escalation_at, c.department "
                "FROM responsecase c JOIN mentionreport r ON r.case_id = c.id ORDER BY r.id"
            )
        ).all()
        assigned = connection.execute(
            text("SELECT case_id, member_id, step FROM caseassignment ORDER BY case_id")
        ).all()
        kinds = connection.execute(
            text("SELECT kind FROM casestep WHERE case_id = :id ORDER BY id"), {"id": cases[1][0]}
        ).all()
    assert [(c[1], c[2], c[3], c[5]) for c in cases] == [
        ("open", None, "x.example.com/status/1", "hr"),
        ("acknowledged", 2, "x.example.com/status/2", "hr"),
    ]
    assert cases[0][4] is not None and cases[1][4] is None  # only the open one escalates
    assert [(a[0], a[1], a[2]) for a in assigned] == [
        (cases[0][0], 2, "department_relays"),
        (cases[1][0], 2, "department_relays"),
    ]
    assert [k[0] for k in kinds] == ["opened", "routed", "acknowledged"]
    engine.dispose()
