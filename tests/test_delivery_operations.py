"""Operations on delivered messages: update and delete every part, through Teams and Slack,
and a split message resumed after a worker died midway, without a doubled part.

Teams: the real ``POST /api/messages`` (a member installs the bot), botbuilder's
CloudAdapter and connector client against the stand-in Bot Connector, which
answers ``PUT`` and ``DELETE /v3/conversations/{id}/activities/{activity id}``
as Teams does. Slack: the real slack_sdk client against the stand-in Web API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.db import session_scope
from bot.delivery.models import DELETE, SENDING, SENT, UPDATE, Delivery, DeliveryPart
from bot.delivery.outbox import LEASE, Outgoing, enqueue
from bot.delivery.worker import DeliveryWorker
from bot.members.models import Member
from bot.messages import Message, Section, simple
from bot.web import create_app
from tests.conftest import LoopbackServer
from tests.slack_standin import SlackStandIn
from tests.test_slack import SECRET, USERS
from tests.test_teams import (
    BOT,
    EMMA,
    KARIM,
    BotConnector,
    TeamsWorld,
    activity,
    connector,  # noqa: F401  (the stand-in Bot Connector fixture)
    enable_teams,
    no_internet,  # noqa: F401  (nothing leaves the machine)
    personal,
    teams,  # noqa: F401  (Relais with Teams on, served on 127.0.0.1)
)

SECTION = "x" * 900  # about 27 sections fill one Teams card, 50 blocks one Slack message


def long(word: str, sections: int) -> Message:
    """A message that Teams splits into about sections/27 cards, Slack into sections/50 messages."""
    return Message(
        text=word, blocks=[Section(text=f"{word}.{n} {SECTION}") for n in range(sections)]
    )


def queue(
    runtime: Any,
    member_id: int,
    key: str,
    message: Message,
    platform: str,
    operation: str = "send",
    target: int | None = None,
) -> int:
    with session_scope(runtime.engine) as session:
        enqueue(
            session,
            Outgoing(
                member_id=member_id,
                platform=platform,
                dedupe_key=key,
                kind="post",
                message=message,
                purpose="operational",
                operation=operation,
                target_id=target,
            ),
        )
    runtime.worker.kick()
    with Session(runtime.engine) as session:
        return session.exec(select(Delivery.id).where(Delivery.dedupe_key == key)).one()  # type: ignore[return-value]


def status(runtime: Any, delivery_id: int) -> str | None:
    with Session(runtime.engine) as session:
        row = session.get(Delivery, delivery_id)
        return row.status if row else None


def stored_parts(runtime: Any, delivery_id: int) -> list[str]:
    with Session(runtime.engine) as session:
        return [
            part.message_id
            for part in session.exec(
                select(DeliveryPart)
                .where(DeliveryPart.delivery_id == delivery_id)
                .order_by(DeliveryPart.position)  # type: ignore[arg-type]
            ).all()
        ]


def first_lines(cards: list[dict[str, Any]]) -> list[str]:
    """The first words of each card: which part of which version it shows."""
    found = []
    for card in cards:
        text = json.dumps(card["body"], ensure_ascii=False)
        start = text.index('"text": "') + len('"text": "')
        found.append(text[start : text.index(" ", start)])
    return found


def teams_parts(message: Message) -> list[str]:
    """The first words of each card Teams should show for this message."""
    from adapters.teams.cards import to_activity_payloads

    return first_lines(
        [p["attachments"][0]["content"] for p in to_activity_payloads(message, "en")]
    )


def install(world: TeamsWorld, user: dict[str, Any]) -> Member:
    """The member adds the bot in Teams: Relais keeps their conversation reference."""
    body = activity(world.connector, user, kind="conversationUpdate", membersAdded=[{"id": BOT}])
    assert world.post(body).status_code == 201
    return world.member(user["email"])


# --- Teams -------------------------------------------------------------------------


def test_teams_update_and_delete_reach_every_part_of_a_split_message(teams: TeamsWorld) -> None:  # noqa: F811
    karim = install(teams, KARIM)
    conversation = personal(KARIM)
    original = queue(teams.runtime, karim.id or 0, "post", long("v1", 60), "teams")
    teams.wait_for(lambda: status(teams.runtime, original) == SENT, "the post")
    cards = teams.connector.cards_to(conversation)
    assert first_lines(cards) == teams_parts(long("v1", 60)) and len(cards) == 3
    ids = [item["id"] for item in teams.connector.accepted]
    assert stored_parts(teams.runtime, original) == ids  # every part, in order, in the database

    # Shorter: two cards edited in place (PUT), the third deleted (DELETE).
    shorter = queue(
        teams.runtime, karim.id or 0, "post-v2", long("v2", 40), "teams", UPDATE, original
    )
    teams.wait_for(lambda: status(teams.runtime, shorter) == SENT, "the update")
    assert first_lines(teams.connector.cards_to(conversation)) == teams_parts(long("v2", 40))
    assert [u["id"] for u in teams.connector.updated] == ids[:2]
    assert teams.connector.deleted == [{"conversation": conversation, "id": ids[2]}]
    assert stored_parts(teams.runtime, original) == ids[:2]

    # Longer, and Teams refuses the last new card once (429): the card added before the
    # refusal is kept, so the retry edits it instead of posting it a second time.
    teams.connector.fail_next = [0, 0, 0, 429]  # PUT, PUT, POST (new), then 429 on the next POST
    longer = queue(
        teams.runtime, karim.id or 0, "post-v3", long("v3", 80), "teams", UPDATE, original
    )
    teams.wait_for(lambda: status(teams.runtime, longer) == SENT, "the longer update")
    cards = teams.connector.cards_to(conversation)
    assert first_lines(cards) == teams_parts(long("v3", 80)) and len(cards) == 4
    posts = [c for c in teams.connector.calls if c[0] == "POST" and c[1].endswith("/activities")]
    assert len(cards) == len(stored_parts(teams.runtime, original))
    # The original three, each new card once, and the one refused: 6, not 7.
    assert len(posts) == 3 + 2 + 1 and len(teams.connector.accepted) == 4
    with Session(teams.runtime.engine) as session:
        assert session.get(Delivery, longer).attempts == 1  # type: ignore[union-attr]  # a 429 is not the message's fault

    # Withdrawn: every card deleted, every stored part forgotten.
    before = len(teams.connector.deleted)
    gone = queue(teams.runtime, karim.id or 0, "post-gone", simple("-"), "teams", DELETE, original)
    teams.wait_for(lambda: status(teams.runtime, gone) == SENT, "the delete")
    assert teams.connector.cards_to(conversation) == []
    assert len(teams.connector.deleted) - before == len(cards)
    assert stored_parts(teams.runtime, original) == []


# --- Slack -------------------------------------------------------------------------


@pytest.fixture
def slack_standin(programme_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandIn]:
    """The stand-in Slack Web API, and app.yaml/environment pointing Relais at it."""
    standin = SlackStandIn(USERS)
    config = programme_dir / "app.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "  slack:\n    enabled: false", "  slack:\n    enabled: true"
        ),
        encoding="utf-8",
    )
    with LoopbackServer(standin.app) as api:
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("SLACK_API_URL", f"{api.url}/api/")
        monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
        yield standin


def member_id(runtime: Any, email: str) -> int:
    with Session(runtime.engine) as session:
        return session.exec(select(Member.id).where(Member.email == email)).one()  # type: ignore[return-value]


def first_blocks(messages: list[dict[str, Any]]) -> list[str]:
    return [m["blocks"][0]["text"]["text"].split(" ")[0] for m in messages]


def slack_parts(message: Message) -> list[str]:
    from adapters.slack.render import render

    return first_blocks(render(message))


def test_slack_update_that_grows_keeps_the_part_it_added_before_a_429(
    runtime_factory, database_url: str, slack_standin: SlackStandIn
) -> None:  # type: ignore[no-untyped-def]
    runtime = runtime_factory(database_url)
    emma = member_id(runtime, EMMA["email"])
    dm = "D0EMMA001"
    with LoopbackServer(create_app(runtime, run_scheduler=False)):
        original = queue(runtime, emma, "post", long("v1", 60), "slack")
        wait(runtime, lambda: status(runtime, original) == SENT, "the post")
        assert (
            first_blocks(slack_standin.messages_to(dm))
            == slack_parts(long("v1", 60))
            == [
                "v1.0",
                "v1.50",
            ]
        )
        # Two messages edited, two added; Slack takes the first one added, then says 429.
        slack_standin.fail_after_posts = len(slack_standin.posted) + 1
        grown = queue(runtime, emma, "post-v2", long("v2", 160), "slack", UPDATE, original)
        wait(runtime, lambda: status(runtime, grown) == SENT, "the update")
    messages = slack_standin.messages_to(dm)
    assert first_blocks(messages) == slack_parts(long("v2", 160)) and len(messages) == 4
    assert slack_standin.throttled == 0 and len(slack_standin.called("chat.postMessage")) == (
        2 + 2 + 2  # the original two, each added message once, and the two refused
    )
    assert stored_parts(runtime, original) == [m["ts"] for m in messages]
    with Session(runtime.engine) as session:
        assert session.get(Delivery, grown).attempts == 1  # type: ignore[union-attr]


def wait(runtime: Any, condition: Any, what: str) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if condition():
            return
        runtime.worker.kick()
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# --- a worker that dies in the middle of a split message -----------------------------


class Doomed:
    """A delivery worker in its own thread and event loop, killed mid-flight.

    ``kill()`` cancels every task of its loop at once: nothing more is sent or
    written, the rows it held stay claimed until their lease runs out, as after
    ``kill -9`` of the process.
    """

    def __init__(self, worker: DeliveryWorker) -> None:
        self.worker = worker
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        main = self.loop.create_task(self.worker.run())
        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(main)
        rest = asyncio.all_tasks(self.loop)
        self.loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
        self.loop.close()

    def kill(self) -> None:
        def cancel_all() -> None:
            for task in asyncio.all_tasks(self.loop):
                task.cancel()

        self.loop.call_soon_threadsafe(cancel_all)
        self.thread.join(30)
        assert not self.thread.is_alive()


def restart_after_the_lease(runtime_factory: Any, database_url: str) -> Any:
    """A new process on the same database, once the dead worker's lease has run out."""
    runtime = runtime_factory(database_url, members=False)
    with time_machine.travel(utcnow() + LEASE + timedelta(seconds=5), tick=True):
        asyncio.run(runtime.worker.drain())
    return runtime


def test_slack_split_message_resumes_after_a_restart_without_a_doubled_part(
    runtime_factory, database_url: str, slack_standin: SlackStandIn
) -> None:  # type: ignore[no-untyped-def]
    runtime = runtime_factory(database_url)
    emma = member_id(runtime, EMMA["email"])
    message = long("p", 120)
    assert len(slack_parts(message)) == 3
    released = threading.Event()
    slack_standin.gate = (1, released)  # the second part hangs: the worker dies waiting
    row = queue(runtime, emma, "split", message, "slack")
    doomed = Doomed(DeliveryWorker(runtime.engine, runtime.platforms, runtime.config.delivery))
    try:
        assert slack_standin.gated.wait(30), "the second part was never posted"
        doomed.kill()
    finally:
        slack_standin.gate = None
        released.set()
    assert status(runtime, row) == SENDING and len(stored_parts(runtime, row)) == 1
    assert len(slack_standin.posted) == 1

    again = restart_after_the_lease(runtime_factory, database_url)
    assert status(again, row) == SENT
    messages = slack_standin.messages_to("D0EMMA001")
    assert first_blocks(messages) == slack_parts(message)  # each part once, in order
    assert [m["metadata"]["event_payload"]["part"] for m in messages] == [0, 1, 2]
    assert stored_parts(again, row) == [m["ts"] for m in messages]


# --- Teams, without a served worker ---------------------------------------------------


@pytest.fixture
def teams_runtime(
    runtime_factory,
    programme_dir: Path,
    database_url: str,
    connector: BotConnector,  # noqa: F811
    monkeypatch,
) -> Any:  # type: ignore[no-untyped-def]
    """Relais with Teams on; Karim installed the bot (through the endpoint); no worker running."""
    enable_teams(programme_dir)
    monkeypatch.setenv("RELAIS_TEAMS_INSECURE_LOCAL", "1")
    runtime = runtime_factory(database_url)
    with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
        install(TeamsWorld(connector, server.url, runtime), KARIM)
    return runtime


def test_teams_split_message_resumes_after_a_restart_without_a_doubled_part(
    teams_runtime,
    runtime_factory,
    database_url: str,
    connector: BotConnector,  # noqa: F811
) -> None:  # type: ignore[no-untyped-def]
    runtime = teams_runtime
    karim = member_id(runtime, KARIM["email"])
    message = long("p", 60)
    assert len(teams_parts(message)) == 3
    released = threading.Event()
    connector.gate = (1, released)
    row = queue(runtime, karim, "split", message, "teams")
    doomed = Doomed(DeliveryWorker(runtime.engine, runtime.platforms, runtime.config.delivery))
    try:
        assert connector.gated.wait(30), "the second part was never posted"
        doomed.kill()
    finally:
        connector.gate = None
        released.set()
    assert status(runtime, row) == SENDING and len(stored_parts(runtime, row)) == 1

    again = restart_after_the_lease(runtime_factory, database_url)
    assert status(again, row) == SENT
    cards = connector.cards_to(personal(KARIM))
    assert first_lines(cards) == teams_parts(message)  # each part once, in order
    assert stored_parts(again, row) == [item["id"] for item in connector.accepted]


# --- the console ---------------------------------------------------------------------


def test_console_shows_an_update_and_a_delete_of_a_message_it_showed(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    emma = chat("emma.wilson@example.com")
    post = queue(
        runtime, emma.member_id, "post", simple("Our new product launches today"), "console"
    )
    (shown,) = emma.inbox()
    assert shown.rendered.text == "Our new product launches today"
    queue(runtime, emma.member_id, "v2", simple("Launch moved to Monday"), "console", UPDATE, post)
    (shown,) = emma.inbox()
    assert shown.rendered.lines == [
        "(updated) “Our new product launches today” now reads:",
        "Launch moved to Monday",
    ]
    queue(runtime, emma.member_id, "gone", simple("-"), "console", DELETE, post)
    (shown,) = emma.inbox()
    assert shown.rendered.lines == ["(deleted) “Launch moved to Monday” was withdrawn."]
    assert emma.inbox() == []


def test_console_does_not_show_a_message_withdrawn_before_it_was_read(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    karim = chat("karim.benali@example.com")  # reads French
    kept = queue(runtime, karim.member_id, "kept", simple("Gardé"), "console")
    post = queue(runtime, karim.member_id, "post", simple("Retiré"), "console")
    asyncio.run(runtime.worker.drain())  # delivered while Karim is away from the terminal
    queue(runtime, karim.member_id, "gone", simple("-"), "console", DELETE, post)
    assert [s.rendered.text for s in karim.inbox()] == ["Gardé"]
    queue(runtime, karim.member_id, "v2", simple("Gardé, corrigé"), "console", UPDATE, kept)
    (shown,) = karim.inbox()
    assert shown.rendered.lines[0] == "(modifié) «\u202fGardé\u202f» se lit désormais\u202f:"
