"""A stand-in Slack Web API on 127.0.0.1: enough of it for the real slack_sdk client and Bolt."""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

BOT_USER = "UBOT00001"


class SlackStandIn:
    """Records every call; answers like Slack does, including 429 with Retry-After on demand."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = dict(users)  # user id -> e-mail
        self.calls: list[tuple[str, dict[str, Any]]] = []  # every call, refused ones included
        self.posted: list[dict[str, Any]] = []  # messages Slack accepted
        self.rate_limited = 0  # answer this many chat.postMessage calls with 429
        self.fail_after_posts: int | None = None  # after this many accepted posts, one 429
        self.fail_users: dict[str, str] = {}  # user id -> Slack error for conversations.open
        self.socket_url: str | None = None  # what apps.connections.open hands out (Socket Mode)
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self.app = FastAPI()
        self.app.add_api_route("/api/{method}", self.call, methods=["GET", "POST"])

    def called(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params in self.calls if name == method]

    async def call(self, method: str, request: Request) -> JSONResponse:
        params: dict[str, Any] = dict(request.query_params)
        body = await request.body()
        if body:
            if request.headers.get("content-type", "").startswith("application/json"):
                params.update(json.loads(body))
            else:
                params.update(dict(await request.form()))
        for key in ("blocks", "view"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        expected = (
            "Bearer xapp-test-token"
            if method == "apps.connections.open"
            else "Bearer xoxb-test-token"
        )
        assert request.headers.get("authorization") == expected, request.headers.get(
            "authorization"
        )
        with self._lock:
            self.calls.append((method, params))
            if (
                method == "chat.postMessage"
                and self.fail_after_posts is not None
                and len(self.posted) >= self.fail_after_posts
            ):
                self.fail_after_posts = None
                self.rate_limited += 2  # more than slack_sdk's own single retry
            if method == "chat.postMessage" and self.rate_limited > 0:
                self.rate_limited -= 1
                return JSONResponse(
                    {"ok": False, "error": "ratelimited"},
                    status_code=429,
                    headers={"Retry-After": "1"},
                )
        return JSONResponse(self.answer(method, params))

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": BOT_USER,
                "bot_id": "BBOT00001",
                "team_id": "T0001",
                "user": "relais",
            }
        if method == "users.info":
            user = params.get("user", "")
            if user not in self.users:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": user, "profile": {"email": self.users[user]}}}
        if method == "users.lookupByEmail":
            found = next(
                (uid for uid, email in self.users.items() if email == params.get("email")), None
            )
            return (
                {"ok": True, "user": {"id": found}}
                if found
                else {"ok": False, "error": "users_not_found"}
            )
        if method == "conversations.open":
            user = params.get("users", "")
            if user in self.fail_users:
                return {"ok": False, "error": self.fail_users[user]}
            return {"ok": True, "channel": {"id": "D" + user[1:]}}
        if method == "chat.postMessage":
            blocks = params.get("blocks") or []
            if len(blocks) > 50:
                return {"ok": False, "error": "invalid_blocks"}
            with self._lock:
                self.posted.append(params)
            return {
                "ok": True,
                "channel": params["channel"],
                "ts": f"1700000000.{next(self._ts):06d}",
            }
        if method == "chat.getPermalink":
            return {
                "ok": True,
                "permalink": f"https://acme.slack.com/archives/{params.get('channel')}/p{params.get('message_ts', '').replace('.', '')}",
            }
        if method == "apps.connections.open":
            return (
                {"ok": True, "url": self.socket_url}
                if self.socket_url
                else {"ok": False, "error": "not_allowed"}
            )
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V1"}}
        return {"ok": False, "error": "unknown_method"}

    def messages_to(self, channel: str) -> list[dict[str, Any]]:
        with self._lock:
            return [p for p in self.posted if p.get("channel") == channel]
