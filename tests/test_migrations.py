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
