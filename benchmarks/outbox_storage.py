"""Benchmark: what a 10,000-member broadcast of one post costs the database.

Before: the schema of migration 0007, where every delivery row carried its own
copy of the rendered message (``delivery.payload``). After: message bodies
stored once, keyed by their hash (``deliverybody``), each delivery pointing to
its body. Both are measured on the same run: the old schema filled with one
row per member, then migrated in place (the real migration), and a fresh
database at the current schema filled by the real ``enqueue_many``.

Bytes are the tables' own pages, indexes included (SQLite ``dbstat``;
PostgreSQL ``pg_total_relation_size`` after ``VACUUM FULL``).

    .venv/bin/python benchmarks/outbox_storage.py [--members 10000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from sqlalchemy import MetaData, Table, select, text
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import member_rows, throwaway_database  # noqa: E402
from bot.clock import utcnow  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.content.sync import load_checked  # noqa: E402
from bot.db import make_engine, session_scope, upgrade  # noqa: E402
from bot.delivery.outbox import Outgoing, enqueue_many  # noqa: E402
from bot.messages import Divider, Link, Message, Section  # noqa: E402
from bot.posts.service import with_hashtags  # noqa: E402

TABLES = ("delivery", "deliverybody")


def broadcast() -> Message:
    """One approved post as the programme sends it: the text and a suggestion per network."""
    config = load_config(ROOT / "app.yaml")
    content = load_checked(ROOT / "content", config)
    post_id = sorted(content.posts)[0]
    post = content.post(post_id, "en")
    assert post is not None
    blocks: list = [Section(title=post.title, text=post.body or post.title)]
    for network, variants in post.networks.items():
        blocks.append(
            Section(
                title=f"Suggested text for {network}",
                text=with_hashtags(variants[0], post.hashtags),
            )
        )
    blocks += [Link(url=post.link, label="Open the page to share"), Divider()]
    return Message(text=post.title, blocks=blocks)


def add_members(engine: Engine, count: int) -> list[int]:
    with engine.begin() as connection:
        member = Table("member", MetaData(), autoload_with=connection)
        now = utcnow()
        connection.execute(
            member.insert(),
            member_rows(count, created_at=now, updated_at=now),
        )
        return list(connection.execute(select(member.c.id).order_by(member.c.id)).scalars())


def measure(engine: Engine) -> dict[str, tuple[int, int]]:
    """Rows and bytes of each table (0, 0 for a table that does not exist)."""
    found: dict[str, tuple[int, int]] = {}
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM FULL"))
    else:
        with engine.connect() as connection:
            connection.exec_driver_sql("VACUUM")
    with engine.connect() as connection:
        for table in TABLES:
            exists = connection.execute(
                text(
                    "SELECT to_regclass(:t) IS NOT NULL"
                    if engine.dialect.name == "postgresql"
                    else "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = :t"
                ),
                {"t": table},
            ).scalar()
            if not exists:
                found[table] = (0, 0)
                continue
            rows = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            if engine.dialect.name == "postgresql":
                size = connection.execute(
                    text("SELECT pg_total_relation_size(:t)"), {"t": table}
                ).scalar_one()
            else:
                names = [
                    table,
                    *list(
                        connection.execute(
                            text(
                                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
                            ),
                            {"t": table},
                        ).scalars()
                    ),
                ]
                size = connection.execute(
                    text(
                        "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ({})".format(
                            ",".join(f"'{n}'" for n in names)
                        )
                    )
                ).scalar_one()
            found[table] = (int(rows), int(size))
    return found


def before_and_migrated(url: str, count: int, message: Message) -> tuple[dict, dict]:
    """The old schema with a copy of the message per row, then the same data migrated."""
    engine = make_engine(url)
    upgrade(engine, "0007")
    members = add_members(engine, count)
    payload = message.to_payload()
    now = utcnow()
    with engine.begin() as connection:
        delivery = Table("delivery", MetaData(), autoload_with=connection)
        connection.execute(
            delivery.insert(),
            [
                {
                    "member_id": member,
                    "platform": "slack",
                    "dedupe_key": "post:launch",
                    "kind": "post",
                    "campaign": "launch",
                    "purpose": "promotional",
                    "priority": 0,
                    "operation": "send",
                    "payload": payload,
                    "status": "sent",
                    "attempts": 1,
                    "not_before": now,
                    "sent_at": now,
                    "created_at": now,
                }
                for member in members
            ],
        )
    before = measure(engine)
    upgrade(engine)
    migrated = measure(engine)
    engine.dispose()
    return before, migrated


def fresh(url: str, count: int, message: Message) -> dict:
    """Today's code: the real enqueue_many on a database at the current schema."""
    engine = make_engine(url)
    upgrade(engine)
    members = add_members(engine, count)
    with session_scope(engine) as session:
        enqueue_many(
            session,
            [
                Outgoing(
                    m,
                    "slack",
                    "post:launch",
                    "post",
                    message,
                    purpose="promotional",
                    campaign="launch",
                )
                for m in members
            ],
        )
    found = measure(engine)
    engine.dispose()
    return found


def report(name: str, count: int, before: dict, migrated: dict, new: dict) -> None:
    def total(found: dict) -> int:
        return sum(size for _, size in found.values())

    print(f"\n{name}: {count:,} members, one post, identical for all")
    print(f"  {'':34}{'delivery rows':>14}{'body rows':>11}{'bytes':>14}{'bytes/member':>14}")
    for label, found in (
        ("before (payload in every row)", before),
        ("after, migrated in place", migrated),
        ("after, queued by enqueue_many", new),
    ):
        print(
            f"  {label:34}{found['delivery'][0]:>14,}{found['deliverybody'][0]:>11,}"
            f"{total(found):>14,}{total(found) / count:>14,.0f}"
        )
    saved = total(before) - total(new)
    print(f"  saved: {saved:,} bytes ({saved / total(before):.0%} of the outbox)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("RELAIS_TEST_POSTGRES_URL"),
        help="a PostgreSQL server URL (a database is created on it for the run and dropped)",
    )
    args = parser.parse_args()
    message = broadcast()
    size = len(str(message.to_payload()).encode())
    print(f"the post's rendered message: about {size:,} bytes")
    with tempfile.TemporaryDirectory() as folder:
        before, migrated = before_and_migrated(
            f"sqlite:///{folder}/before.db", args.members, message
        )
        new = fresh(f"sqlite:///{folder}/after.db", args.members, message)
        report("SQLite", args.members, before, migrated, new)
    if args.postgres:
        with (
            throwaway_database(args.postgres) as first,
            throwaway_database(args.postgres) as second,
        ):
            before, migrated = before_and_migrated(first, args.members, message)
            new = fresh(second, args.members, message)
            report("PostgreSQL", args.members, before, migrated, new)


if __name__ == "__main__":
    main()
