"""A good practice approved for everyone: the click answers, background work sends.

The coordinator's click (console and Slack fixtures, the real entry points) only
records the decision and answers at once, with the fan-out pending; the
``practices`` job, through the scheduler's real wiring, queues the recipients in
chunks from the practice's mark. A process killed with -9 in the middle of a
chunk leaves a fan-out the next run (after a restart) finishes with nobody
doubled (the dedupe key), and two replicas on PostgreSQL send it once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from adapters.slack.render import parse_action_id
from bot.clock import utcnow
from bot.community import schedule, service
from bot.community.models import Practice
from bot.delivery.models import PROMOTIONAL, Delivery
from bot.jobs import lock_key
from bot.members.models import Member
from bot.scheduler import ProgrammeScheduler
from tests.conftest import run_scheduled
from tests.test_community import CLAIRE, EMMA, HUGO, THOMAS, TIP_LINK, texts
from tests.test_fleet import HOLD_THE_LESSONS_LOCK
from tests.test_slack import SlackWorld, all_text, buttons, slack  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parent.parent
EVERYONE_BUT_THOMAS = 14  # the demo programme's opted-in members, less the author


def share(runtime, chat, text: str) -> Practice:  # type: ignore[no-untyped-def]
    """Thomas (relay) shares a practice; the central team is asked."""
    shown = texts(chat(THOMAS).type(f"practice {text} {TIP_LINK}"))
    assert "envoyée à 2 personnes" in shown
    with Session(runtime.engine) as session:
        found = session.execute(select(Practice).order_by(Practice.id.desc())).scalars().first()  # type: ignore[union-attr]
        assert found is not None
        return found


def practice_rows(runtime, practice_id: int) -> dict[int, int]:  # type: ignore[no-untyped-def]
    """How many outbox rows of the practice each member has."""
    with Session(runtime.engine) as session:
        return dict(
            session.execute(
                select(Delivery.member_id, func.count())
                .where(Delivery.dedupe_key == f"practice:{practice_id}")
                .group_by(Delivery.member_id)
            ).all()
        )


def stored(runtime, practice_id: int) -> Practice:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        found = session.get(Practice, practice_id)
        assert found is not None
        return found


def recipient_ids(runtime) -> set[int]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return set(
            session.execute(
                select(Member.id).where(
                    Member.opted_in,
                    Member.left_at.is_(None),  # type: ignore[union-attr]
                    Member.email != THOMAS,
                )
            ).scalars()
        )


def test_the_click_answers_at_once_and_the_job_sends_chunk_by_chunk(
    runtime, chat, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(service, "FANOUT_CHUNK", 4)
    monkeypatch.setattr(schedule, "CHUNKS_PER_RUN", 1)
    practice = share(runtime, chat, "Post the photo of the team, not the logo")
    hugo, emma = chat(HUGO), chat(EMMA)
    hugo.inbox()
    shown = texts(hugo.press(hugo.number_of("practice.approve", f"{practice.id}:everyone")))
    assert "Approved: the good practice is being sent to 14 people." in shown
    # The decision is recorded; nobody's message is queued yet: the fan-out is pending.
    pending = stored(runtime, practice.id)
    assert pending.status == "approved" and pending.audience == "everyone"
    assert pending.queued_at is None and pending.queued_after == 0
    assert practice_rows(runtime, practice.id or 0) == {}
    assert "Good practice from Sales" not in texts(emma.inbox())
    # The author is told at once, in French, with the same count.
    assert "approuvée et en cours d’envoi à 14 personnes" in texts(chat(THOMAS).inbox())
    # The scheduler's `practices` job queues it, one chunk of 4 a run here, from the mark.
    now = utcnow()
    assert [run_scheduled(runtime, "practices", now) for _ in range(5)] == [4, 4, 4, 2, 0]
    done = stored(runtime, practice.id)
    assert done.queued_at is not None and done.recipients == EVERYONE_BUT_THOMAS
    rows = practice_rows(runtime, practice.id or 0)
    assert set(rows) == recipient_ids(runtime) and set(rows.values()) == {1}
    with Session(runtime.engine) as session:
        purposes = set(
            session.execute(
                select(Delivery.purpose).where(Delivery.dedupe_key == f"practice:{practice.id}")
            ).scalars()
        )
    assert purposes == {PROMOTIONAL}
    assert "== Good practice from Sales ==" in texts(emma.inbox())
    # In French too, for a coordinator who reads French.
    second = share(runtime, chat, "Answer in the language the customer wrote in")
    claire = chat(CLAIRE)
    claire.inbox()
    shown = texts(claire.press(claire.number_of("practice.approve", f"{second.id}:everyone")))
    assert "la bonne pratique est en cours d’envoi à 14 personnes." in shown
    assert practice_rows(runtime, second.id or 0) == {}


DIES_IN_THE_THIRD_CHUNK = """
import os, signal, sys
from bot.community import service
from bot.delivery import outbox
from bot.jobs import run_job
from bot.runtime import build_runtime

service.FANOUT_CHUNK = 3
real, calls = outbox.enqueue_many, []


def dying(session, items, now=None):
    inserted = real(session, items, now)
    calls.append(len(inserted))
    if len(calls) == 3:  # rows of the third chunk inserted, not committed: kill -9
        os.kill(os.getpid(), signal.SIGKILL)
    return inserted


outbox.enqueue_many = dying
runtime = build_runtime(sys.argv[1], sys.argv[2])
run_job(runtime.relais.registry.jobs["practices"], runtime)
"""


def test_a_fanout_killed_mid_chunk_is_finished_after_a_restart_without_doubles(
    runtime_factory, database_url, programme_dir, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    runtime = runtime_factory(database_url)
    from adapters.console.chat import ConsoleChat

    def talk(email: str) -> ConsoleChat:
        return ConsoleChat(runtime, email)

    practice = share(runtime, talk, "Post the photo of the team, not the logo")
    hugo = talk(HUGO)
    hugo.inbox()
    hugo.press(hugo.number_of("practice.approve", f"{practice.id}:everyone"))
    # A replica runs the job and is killed (-9) while its third chunk is in flight.
    died = subprocess.run(
        [
            sys.executable,
            "-c",
            DIES_IN_THE_THIRD_CHUNK,
            str(programme_dir / "app.yaml"),
            database_url,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    # Two chunks were committed with the mark; the third went with the process.
    half = stored(runtime, practice.id)
    assert half.queued_at is None and half.recipients == 6
    rows = practice_rows(runtime, practice.id or 0)
    assert len(rows) == 6 and max(rows) == half.queued_after
    # Restarted, the scheduler's job goes on from the mark and finishes: nobody lost, nobody twice.
    monkeypatch.setattr(service, "FANOUT_CHUNK", 3)
    restarted = runtime_factory(database_url, members=False)
    assert run_scheduled(restarted, "practices", utcnow()) == EVERYONE_BUT_THOMAS - 6
    rows = practice_rows(runtime, practice.id or 0)
    assert set(rows) == recipient_ids(runtime) and set(rows.values()) == {1}
    assert stored(runtime, practice.id).queued_at is not None
    # Even a lost mark doubles nobody: the dedupe key `practice:<id>` holds.
    with Session(runtime.engine) as session:
        session.execute(
            update(Practice)
            .where(Practice.id == practice.id)  # type: ignore[arg-type]
            .values(queued_after=0, queued_at=None)
        )
        session.commit()
    assert run_scheduled(restarted, "practices", utcnow()) == 0
    assert set(practice_rows(runtime, practice.id or 0).values()) == {1}
    assert stored(runtime, practice.id).queued_at is not None


@pytest.mark.postgres
def test_two_replicas_on_postgresql_send_an_approved_practice_once(
    runtime_factory, postgres_url, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from adapters.console.chat import ConsoleChat

    monkeypatch.setattr(service, "FANOUT_CHUNK", 2)
    monkeypatch.setattr(schedule, "CHUNKS_PER_RUN", 2)
    first = runtime_factory(postgres_url)
    second = runtime_factory(postgres_url, members=False)
    practice = share(first, lambda email: ConsoleChat(first, email), "Thank whoever shared it")
    hugo = ConsoleChat(second, HUGO)  # the click reaches the second replica
    hugo.inbox()
    shown = texts(hugo.press(hugo.number_of("practice.approve", f"{practice.id}:everyone")))
    assert "Approved: the good practice is being sent to 14 people." in shown
    # While a replica holds the job's lock, the others' runs are skipped.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LESSONS_LOCK, postgres_url, str(lock_key("practices"))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "running"
        assert run_scheduled(first, "practices", utcnow()) == 0
        assert run_scheduled(second, "practices", utcnow()) == 0
        assert practice_rows(first, practice.id or 0) == {}
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    finally:
        if holder.poll() is None:
            holder.kill()
    # Both replicas' schedulers run the job at once, again and again, until it is done.
    errors: list[BaseException] = []
    queued: list[int] = []
    start = threading.Barrier(2)

    def replica(runtime) -> None:  # type: ignore[no-untyped-def]
        job = runtime.relais.registry.jobs["practices"]
        run = ProgrammeScheduler(runtime, wake=lambda: None).runner(job)
        try:
            start.wait()
            for _ in range(50):
                queued.append(run())
                if stored(runtime, practice.id).queued_at is not None:
                    return
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=replica, args=(r,)) for r in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(queued) == EVERYONE_BUT_THOMAS
    rows = practice_rows(first, practice.id or 0)
    assert set(rows) == recipient_ids(first) and set(rows.values()) == {1}
    assert stored(first, practice.id).recipients == EVERYONE_BUT_THOMAS


def test_slack_approve_for_everyone_is_answered_before_the_fanout(slack: SlackWorld) -> None:  # noqa: F811
    """Through Slack's real click: the ack and the coordinator's answer, then the job sends."""
    slack.standin.users["U0HUGO001"] = HUGO
    assert slack.command("U0HUGO001", "help").status_code == 200
    text = "Reply to a compliment with a thank you, in public"
    assert slack.command("U0THOMAS1", f"practice {text} {TIP_LINK}").status_code == 200
    asked = slack.wait_for(
        lambda: [m for m in slack.dms("U0HUGO001") if "shares a good practice" in all_text(m)],
        "the approval request",
    )[0]
    approve = next(
        b
        for b in buttons(asked)
        if parse_action_id(b["action_id"]) == "practice.approve"
        and b["value"].endswith(":everyone")
    )
    assert slack.click("U0HUGO001", approve, asked["ts"], "1700000100.1").status_code == 200
    slack.wait_for(
        lambda: [
            m
            for m in slack.dms("U0HUGO001")
            if "Approved: the good practice is being sent to 14 people." in all_text(m)
        ],
        "the coordinator's answer",
    )
    with Session(slack.runtime.engine) as session:
        [practice] = session.execute(select(Practice)).scalars().all()
    assert practice.queued_at is None and practice_rows(slack.runtime, practice.id or 0) == {}
    assert run_scheduled(slack.runtime, "practices", utcnow()) == EVERYONE_BUT_THOMAS
    slack.wait_for(
        lambda: [m for m in slack.dms("U0EMMA001") if text in all_text(m)], "the practice at Emma"
    )
