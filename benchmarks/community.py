"""Benchmark: who's who, round-table invitations and a good practice sent to everyone.

On the demo programme (app.yaml, content/) with N extra members (default 100,000;
1 % of them relays named in the CSV), times with the real code:

- home contacts: who an ambassador turns to first (App Home, Teams welcome card);
  baseline from the same run: finding a member by e-mail (one indexed look-up);
- `relays` for a relay: every department's relays (a scan of the CSV roles);
- meeting invitations: the list of every relay;
- a good practice approved for everyone, through the real click (a coordinator's
  "Approve for everyone", handled as the chat adapters hand it to the core): the click
  itself (it records the decision and answers at once), and beside it the fan-out the
  `practices` job then does (run with the scheduler's wiring until every recipient is
  queued); baseline from the same run: queuing one plain row per recipient;
- `charter remind` by the central team (nobody has accepted): the chat request (it counts
  and stores the ask) beside the fan-out the `charter_remind_now` job then does;
- `meeting …` typed by the central team: a round table announced, every relay's
  invitation queued within the request (O(relays), 1 % of the members here).

    .venv/bin/python benchmarks/community.py [--quick] [--members N] [--runs N]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

--quick: 10,000 members. PostgreSQL runs when --postgres or RELAIS_BENCH_POSTGRES_URL
is given (a fresh database, dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, text
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import throwaway_database, timed  # noqa: E402
from bot.charter.models import CharterReminderRequest  # noqa: E402
from bot.clock import utcnow  # noqa: E402
from bot.community import messages, service  # noqa: E402
from bot.community.messages import APPROVE_ACTION  # noqa: E402
from bot.community.models import TO_EVERYONE, Practice  # noqa: E402
from bot.delivery.models import PROMOTIONAL  # noqa: E402
from bot.delivery.outbox import enqueue_many  # noqa: E402
from bot.events import ActionEvent, MessageEvent, Who  # noqa: E402
from bot.jobs import run_job  # noqa: E402
from bot.members import service as members  # noqa: E402
from bot.members.importer import import_members  # noqa: E402
from bot.messages import simple  # noqa: E402
from bot.notify import to_member  # noqa: E402
from bot.runtime import build_runtime  # noqa: E402

DEPARTMENTS = ["communication", "customer-service", "marketing", "sales", "hr", "legal"]


def add_members(engine, count: int) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    rows = [
        {
            "email": f"person{i}@example.com",
            "name": f"Person {i}",
            "department": DEPARTMENTS[i % len(DEPARTMENTS)],
            "location": "Paris",
            "language": "fr" if i % 3 else "en",
            "time_zone": "Europe/Paris" if i % 4 else "America/Montreal",
            "roles": json.dumps(["ambassador", "relay"] if i % 100 == 0 else ["ambassador"]),
            "opted_in": True,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO member (email, name, department, location, language, time_zone, "
                "roles, opted_in, created_at, updated_at) VALUES (:email, :name, :department, "
                ":location, :language, :time_zone, :roles, :opted_in, :created_at, :updated_at)"
            ),
            rows,
        )
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE member"))
        else:
            connection.execute(text("ANALYZE"))


def bench(name: str, url: str, args: argparse.Namespace) -> None:
    runtime = build_runtime(ROOT / "app.yaml", url, auto_upgrade=True)
    import_members(runtime.engine, ROOT / "demo" / "members.csv", runtime.config)
    add_members(runtime.engine, args.members)
    config, content, engine = runtime.config, runtime.relais.content, runtime.engine
    print(f"\n{name}: {args.members:,} members, {args.members // 100:,} of them CSV relays")
    with Session(engine) as session:
        emma = members.by_email(session, "emma.wilson@example.com")
        karim = members.by_email(session, "karim.benali@example.com")
        hugo = members.by_email(session, "hugo.lambert@example.com")  # central team
        assert emma and karim and hugo
        rows = [
            (
                "baseline: a member by e-mail",
                lambda: members.by_email(session, "person77@example.com"),
            ),
            (
                "home contacts (ambassador)",
                lambda: messages.home_blocks(session, emma, content, config),
            ),
            (
                "`relays` for a relay (every department)",
                lambda: service.who_is_who(session, karim, config, content, others=True),
            ),
            ("meeting invitations: every relay", lambda: service.relays(session, config)),
        ]
        for label, call in rows:
            median, p95 = timed(args.runs, call)
            print(f"  {label:<45} median {median:8.1f} ms   p95 {p95:8.1f} ms", flush=True)

    def plain_rows() -> float:
        """Baseline: one plain outbox row per recipient, in one transaction (rolled back)."""
        with Session(engine) as session:
            practice = Practice(
                author_id=karim.id or 0,
                department="customer-service",
                text="Answer within the hour.",
                link="https://intranet.example.com/tip",
                status="approved",
                audience=TO_EVERYONE,
            )
            session.add(practice)
            session.flush()
            started = time.perf_counter()
            message = simple("x")
            items = [
                to_member(
                    m, config, message, key=f"plain:{practice.id}", kind="x", purpose=PROMOTIONAL
                )
                for m in service.practice_recipients(session, practice, config)
            ]
            queued = len(enqueue_many(session, items, utcnow()))
            elapsed = (time.perf_counter() - started) * 1000
            session.rollback()
        assert queued == len(items)
        return elapsed

    who = Who(platform="console", email=hugo.email, name=hugo.name)  # the central team

    def chat_request(event) -> float:  # type: ignore[no-untyped-def]
        """One chat request through the real entry point, timed: what the platform waits for."""
        started = time.perf_counter()
        outcome = runtime.relais.handle(event)
        elapsed = (time.perf_counter() - started) * 1000
        assert outcome.queued, "no answer"  # the reply is queued on the priority lane
        return elapsed

    def background(job_id: str, model, row_id: int) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
        """Run the job with the scheduler's wiring until the row's fan-out is done."""
        job = runtime.relais.registry.jobs[job_id]
        queued = runs = 0
        started = time.perf_counter()
        while True:
            queued += run_job(job, runtime)
            runs += 1
            with Session(engine) as session:
                row = session.get(model, row_id)
                if row is not None and row.queued_at is not None:
                    break
        return (time.perf_counter() - started) * 1000, queued, runs

    def approve_for_everyone() -> tuple[float, float, int, int]:
        """The coordinator's click, then the `practices` job until done."""
        with Session(engine) as session:
            practice = service.share_practice(
                session,
                karim,
                "Answer within the hour, even to say you look into it.",
                "https://intranet.example.com/tip",
                "console",
            )
            session.commit()
            practice_id = practice.id or 0
        click_ms = chat_request(
            ActionEvent(
                who, uuid.uuid4().hex, action_id=APPROVE_ACTION, value=f"{practice_id}:everyone"
            )
        )
        return click_ms, *background("practices", Practice, practice_id)

    def remind_the_charter() -> tuple[float, float, int, int]:
        """`charter remind` by the central team, then the `charter_remind_now` job."""
        request_ms = chat_request(MessageEvent(who, uuid.uuid4().hex, text="charter remind"))
        with Session(engine) as session:
            request_id = session.execute(
                select(func.max(CharterReminderRequest.id))  # type: ignore[arg-type]
            ).scalar_one()
        return request_ms, *background("charter_remind_now", CharterReminderRequest, request_id)

    def announce_a_meeting() -> float:
        """`meeting …`: the round table and every relay's invitation, in the request."""
        day = (utcnow() + timedelta(days=30)).date().isoformat()
        text = f"meeting {day} 17:30 Europe/Paris https://meet.example.com/relays Round table"
        return chat_request(MessageEvent(who, uuid.uuid4().hex, text=text))

    plain = plain_rows()
    click_ms, fanout_ms, queued, runs = approve_for_everyone()
    print(f"  {'baseline: queue one plain row per member':<45} {plain:8.0f} ms")
    print(
        f"  {'good practice for everyone: the click':<45} {click_ms:8.0f} ms"
        "   (records the decision, answers at once)"
    )
    print(
        f"  {'good practice for everyone: the fan-out':<45} {fanout_ms:8.0f} ms"
        f"   ({queued:,} rows queued by the `practices` job in {runs} run(s))",
        flush=True,
    )
    request_ms, fanout_ms, queued, runs = remind_the_charter()
    print(
        f"  {'`charter remind` (programme): the request':<45} {request_ms:8.0f} ms"
        "   (counts and stores the ask, answers at once)"
    )
    print(
        f"  {'`charter remind` (programme): the fan-out':<45} {fanout_ms:8.0f} ms"
        f"   ({queued:,} reminders queued by `charter_remind_now` in {runs} run(s))",
        flush=True,
    )
    meeting_ms = announce_a_meeting()
    print(
        f"  {'`meeting …` announced to every relay':<45} {meeting_ms:8.0f} ms"
        f"   (the invitations queued in the request: {args.members // 100:,}+ relays)",
        flush=True,
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--postgres", default=os.environ.get("RELAIS_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    args.members = args.members or (10_000 if args.quick else 100_000)
    with tempfile.TemporaryDirectory() as folder:
        bench("SQLite", f"sqlite:///{folder}/bench.db", args)
    if args.postgres:
        with throwaway_database(args.postgres) as url:
            bench("PostgreSQL", url, args)


if __name__ == "__main__":
    main()
