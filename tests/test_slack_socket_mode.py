"""Socket Mode: no public URL; Relais connects out to (a stand-in of) Slack's WebSocket."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from aiohttp import WSMsgType, web

from bot.web import create_app
from tests.conftest import LoopbackServer, free_port
from tests.slack_standin import SlackStandIn


class SocketModeStandIn:
    """Slack's Socket Mode end: says hello, pushes envelopes, collects the acks."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/link"
        self.to_send: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()

    async def link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        for envelope in self.to_send:
            await socket.send_str(json.dumps(envelope))
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        return socket

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_get("/link", self.link)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self.runner = runner
        self.ready.set()
        self.loop.run_forever()

    def __enter__(self) -> SocketModeStandIn:
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def test_slash_command_over_socket_mode(runtime_factory, programme_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    standin = SlackStandIn({"U0EMMA001": "emma.wilson@example.com"})
    config = programme_dir / "app.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "  slack:\n    enabled: false", "  slack:\n    enabled: true"
        ),
        encoding="utf-8",
    )
    with LoopbackServer(standin.app) as api, SocketModeStandIn() as socket:
        standin.socket_url = socket.url
        socket.to_send.append(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "token": "x",
                    "team_id": "T0001",
                    "user_id": "U0EMMA001",
                    "command": "/relais",
                    "text": "help",
                    "trigger_id": "trig-socket",
                    "channel_id": "C0GENERAL",
                    "response_url": "http://127.0.0.1:9/x",
                },
            }
        )
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
        monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
        monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test-token")
        monkeypatch.setenv("SLACK_API_URL", f"{api.url}/api/")
        runtime = runtime_factory()
        with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not standin.messages_to("D0EMMA001"):
                time.sleep(0.05)
            dms = standin.messages_to("D0EMMA001")
            assert dms and "What I can do for you" in json.dumps(dms[0])
            assert {"envelope_id": "env-1"}.items() <= socket.acks[0].items()
            # No public endpoint in Socket Mode.
            assert httpx.post(f"{server.url}/slack/events", content=b"{}").status_code == 404
            health = httpx.get(f"{server.url}/healthz").json()
            assert health["platforms"]["slack"]["mode"] == "socket"
