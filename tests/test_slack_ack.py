"""Slack as it runs in production: the ack first, the core's work after it.

The other Slack tests set ``process_before_response`` so that a request's work
is over when its answer returns. Here it is off, as in ``relais serve``: a
request a listener takes is answered 200 at once and handled by one of a few
consumers; a stop handles what was acknowledged before the process goes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlmodel import Session, select

from adapters.slack import platform as slack_platform
from bot import lanes
from bot.delivery.models import HandledEvent
from bot.web import create_app
from tests.conftest import LoopbackServer
from tests.slack_standin import SlackStandIn
from tests.test_slack import SECRET, USERS, SlackWorld, signed_headers

KARIM, EMMA = "U0KARIM01", "U0EMMA001"


class Gate:
    """Holds the core's handling of chat events until opened (counts those waiting)."""

    def __init__(self, runtime: Any) -> None:
        self.open_ = threading.Event()
        self.waiting = 0
        self.keys: list[str] = []
        self._lock = threading.Lock()
        handle = runtime.relais.handle

        def held(event: Any) -> Any:
            with self._lock:
                self.waiting += 1
                self.keys.append(event.idempotency_key)
            self.open_.wait(timeout=30)
            return handle(event)

        runtime.relais.handle = held

    def open(self) -> None:
        self.open_.set()


@pytest.fixture
def world(runtime_factory, programme_dir: Path, database_url: str, monkeypatch) -> Iterator[Any]:  # type: ignore[no-untyped-def]
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
        runtime = runtime_factory(database_url)
        assert runtime.platforms["slack"].process_before_response is False
        server = LoopbackServer(create_app(runtime, run_scheduler=False))
        yield standin, runtime, server


def handled(runtime: Any) -> int:
    with Session(runtime.engine) as session:
        return len(session.exec(select(HandledEvent)).all())


def test_a_command_is_acknowledged_before_the_core_handles_it(world) -> None:  # type: ignore[no-untyped-def]
    standin, runtime, server = world
    gate = Gate(runtime)
    with server:
        slack = SlackWorld(standin, server.url, runtime)
        # The core is held: the answer can only have come before it ran.
        assert slack.command(EMMA, "lesson").status_code == 200
        slack.wait_for(lambda: gate.waiting == 1, "the command to reach the core")
        assert handled(runtime) == 0 and slack.dms(EMMA) == []
        gate.open()
        slack.wait_for(lambda: slack.dms(EMMA), "the lesson in Emma's DM")
        assert handled(runtime) == 1


def test_a_burst_is_acknowledged_at_once_and_handled_once_each(world) -> None:  # type: ignore[no-untyped-def]
    standin, runtime, server = world
    with server:
        slack = SlackWorld(standin, server.url, runtime)
        for user in (KARIM, EMMA):  # first contact: their Slack ids are linked to them
            slack.command(user, "help", trigger=f"hello-{user}")
        slack.wait_for(lambda: handled(runtime) == 2, "the first contacts")
        gate = Gate(runtime)
        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(
                pool.map(
                    lambda n: slack.command((KARIM, EMMA)[n % 2], "help", trigger=f"burst-{n}"),
                    range(40),
                )
            )
        assert [a.status_code for a in answers] == [200] * 40
        # The core's lane runs two at once; the rest wait in its queue and Slack's.
        assert lanes.THREADS < slack_platform.CONSUMERS
        slack.wait_for(lambda: gate.waiting == lanes.THREADS, "the core's lane to be busy")
        assert handled(runtime) == 2
        gate.open()
        slack.wait_for(lambda: handled(runtime) == 42, "every command handled")
        slack.settled()
        assert sorted(gate.keys) == sorted(f"command:burst-{n}:help" for n in range(40))


def test_a_stop_handles_what_was_acknowledged(world) -> None:  # type: ignore[no-untyped-def]
    standin, runtime, server = world
    gate = Gate(runtime)
    with server:
        slack = SlackWorld(standin, server.url, runtime)
        for n in range(12):
            assert slack.command(EMMA, "help", trigger=f"stop-{n}").status_code == 200
        slack.wait_for(lambda: gate.waiting >= 1, "the first command to reach the core")
        # The server is told to stop while 12 acknowledged commands are held; it must
        # handle them (queued replies included) before it goes.
        threading.Timer(0.5, gate.open).start()
    assert handled(runtime) == 12


def test_what_no_listener_takes_is_still_answered_by_bolt(world) -> None:  # type: ignore[no-untyped-def]
    standin, runtime, server = world
    with server:
        slack = SlackWorld(standin, server.url, runtime)
        body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"})
        answer = slack.post(body, signed_headers(body, content_type="application/json"))
        assert answer.status_code == 200 and answer.json() == {"challenge": "abc123"}
        body = urlencode({"command": "/someone-else", "user_id": EMMA, "text": "help"})
        assert slack.post(body, signed_headers(body)).status_code == 404
        assert handled(runtime) == 0
