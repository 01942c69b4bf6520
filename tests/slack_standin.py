"""A stand-in Slack Web API on 127.0.0.1: enough of it for the real slack_sdk client and Bolt."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import threading
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

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
        self.post_rate: float | None = (
            None  # chat.postMessage per second (token bucket, 429 past it)
        )
        self.throttled = 0  # 429s answered by that limit
        self.slow_fraction = (
            0.0  # this share of chat.postMessage: accepted, answered after slow_seconds
        )
        self.slow_seconds = 0.0
        self.error_fraction = 0.0  # this share of chat.postMessage: HTTP 500, not accepted
        self.auth_error: str | None = None  # e.g. "invalid_auth": every call refused so
        self.deleted: list[dict[str, Any]] = []  # chat.delete calls accepted
        # (n, released): once n messages were posted, chat.postMessage hangs until released.
        self.gate: tuple[int, threading.Event] | None = None
        self.gated = threading.Event()  # a post is hanging at the gate
        self.post_times: list[
            tuple[float, str, dict[str, Any]]
        ] = []  # (monotonic, channel, params)
        self._tokens = 0.0
        self._refilled = time.monotonic()
        self._random = random.Random(7)
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        # (monotonic, method, channel, delivery) of every call, on arrival
        self.call_times: list[tuple[float, str, str, Any]] = []
        self.app = FastAPI()
        self.app.add_api_route("/api/{method}", self.call, methods=["GET", "POST"])
        self.app.add_api_route("/upload/{file_id}", self.upload, methods=["POST"])
        self.base_url = ""
        self.uploaded: dict[str, bytes] = {}  # file id -> the bytes posted to its upload URL
        self.files: list[dict[str, Any]] = []  # files shared by files.completeUploadExternal
        # Control routes, for a stand-in run in its own process (the benchmark): set the
        # limits and faults, read back what it saw. CLOCK_MONOTONIC is system-wide, so
        # its times compare with the caller's ``time.monotonic()``.
        self.app.add_api_route("/_standin/configure", self.configure, methods=["POST"])
        self.app.add_api_route("/_standin/record", self.record, methods=["GET"])
        self.app.add_api_route("/_standin/count", self.count, methods=["GET"])

    async def count(self) -> JSONResponse:
        with self._lock:
            return JSONResponse({"posted": len(self.posted), "throttled": self.throttled})

    async def configure(self, request: Request) -> JSONResponse:
        settings = await request.json()
        with self._lock:
            if settings.pop("reset", False):
                self.calls.clear()
                self.posted.clear()
                self.post_times.clear()
                self.call_times.clear()
                self.throttled = 0
                self._random = random.Random(7)
                self.post_rate, self.slow_fraction, self.error_fraction = None, 0.0, 0.0
                self.slow_seconds = 0.0
            for key in ("post_rate", "slow_fraction", "slow_seconds", "error_fraction"):
                if key in settings:
                    setattr(self, key, settings[key])
        return JSONResponse({"ok": True})

    async def record(self) -> JSONResponse:
        """What Slack accepted (time, channel, delivery, part), every call's arrival, the 429s."""
        with self._lock:
            posted = [
                [
                    t,
                    channel,
                    ((params.get("metadata") or {}).get("event_payload") or {}).get("delivery"),
                    ((params.get("metadata") or {}).get("event_payload") or {}).get("part"),
                ]
                for t, channel, params in self.post_times
            ]
            return JSONResponse(
                {"posted": posted, "calls": self.call_times, "throttled": self.throttled}
            )

    def called(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params in self.calls if name == method]

    async def upload(self, file_id: str, request: Request) -> PlainTextResponse:
        """The upload URL files.getUploadURLExternal hands out: the file's bytes, raw."""
        body = await request.body()
        with self._lock:
            if file_id not in self.uploaded:
                return PlainTextResponse("unknown file", status_code=404)
            self.uploaded[file_id] = body
        return PlainTextResponse(f"OK - {len(body)}")

    async def call(self, method: str, request: Request) -> JSONResponse:
        self.base_url = str(request.base_url).rstrip("/")
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
        gate = self.gate
        if method == "chat.postMessage" and gate is not None and len(self.posted) >= gate[0]:
            # Hung until released, then not taken: the sender died waiting (a killed worker).
            with self._lock:
                self.calls.append((method, params))
            self.gated.set()
            await asyncio.to_thread(gate[1].wait, 60)
            return JSONResponse({"ok": False, "error": "internal_error"}, status_code=500)
        with self._lock:
            self.calls.append((method, params))
            metadata = params.get("metadata")
            if isinstance(metadata, str):
                metadata = params["metadata"] = json.loads(metadata)
            self.call_times.append(
                (
                    time.monotonic(),
                    method,
                    str(params.get("channel") or params.get("users") or ""),
                    ((metadata or {}).get("event_payload") or {}).get("delivery"),
                )
            )
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
            if self.auth_error and method != "apps.connections.open":
                return JSONResponse({"ok": False, "error": self.auth_error})
            slow = False
            if method == "chat.postMessage":
                if self.post_rate is not None:
                    now = time.monotonic()
                    if not self.throttled and not self.posted:
                        self._tokens, self._refilled = self.post_rate, now  # starts full
                    self._tokens = min(
                        self.post_rate, self._tokens + (now - self._refilled) * self.post_rate
                    )
                    self._refilled = now
                    if self._tokens < 1.0:
                        self.throttled += 1
                        wait = (1.0 - self._tokens) / self.post_rate
                        return JSONResponse(
                            {"ok": False, "error": "ratelimited"},
                            status_code=429,
                            headers={"Retry-After": str(max(1, round(wait + 0.5)))},
                        )
                    self._tokens -= 1.0
                draw = self._random.random()
                if draw < self.error_fraction:
                    return JSONResponse({"ok": False, "error": "internal_error"}, status_code=500)
                slow = draw > 1.0 - self.slow_fraction
        answer = self.answer(method, params)
        if slow:
            await asyncio.sleep(self.slow_seconds)  # accepted, but the client gave up first
        return JSONResponse(answer)

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
            channel = params["channel"]
            params["to"] = channel
            if channel in self.fail_users:
                return {"ok": False, "error": self.fail_users[channel]}
            if channel.startswith("U"):  # a user id: the app's DM with that user
                channel = params["channel"] = "D" + channel[1:]
            if isinstance(params.get("metadata"), str):
                params["metadata"] = json.loads(params["metadata"])
            ts = f"1700000000.{next(self._ts):06d}"
            params["ts"] = ts
            with self._lock:
                self.posted.append(params)
                self.post_times.append((time.monotonic(), channel, params))
            return {"ok": True, "channel": channel, "ts": ts}
        if method == "chat.update":
            with self._lock:
                found = next(
                    (
                        p
                        for p in self.posted
                        if p.get("ts") == params.get("ts") and p["channel"] == params.get("channel")
                    ),
                    None,
                )
                if found is None:
                    return {"ok": False, "error": "message_not_found"}
                found.update({k: v for k, v in params.items() if k in ("text", "blocks")})
                found["edited"] = True
            return {"ok": True, "channel": params["channel"], "ts": params["ts"]}
        if method == "chat.delete":
            with self._lock:
                found = next(
                    (
                        p
                        for p in self.posted
                        if p.get("ts") == params.get("ts") and p["channel"] == params.get("channel")
                    ),
                    None,
                )
                if found is None:
                    return {"ok": False, "error": "message_not_found"}
                self.posted.remove(found)
                self.deleted.append(params)
            return {"ok": True, "channel": params["channel"], "ts": params["ts"]}
        if method == "conversations.history":
            # (the stand-in's ts are not times: ``oldest`` is not applied)
            with self._lock:
                messages = [
                    {"ts": p["ts"], "text": p.get("text"), "metadata": p.get("metadata")}
                    for p in self.posted
                    if p["channel"] == params.get("channel")
                ]
            return {"ok": True, "messages": list(reversed(messages)), "has_more": False}
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
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):08d}"
            with self._lock:
                self.uploaded[file_id] = b""
            return {
                "ok": True,
                "upload_url": f"{self.base_url}/upload/{file_id}",
                "file_id": file_id,
            }
        if method == "files.completeUploadExternal":
            files = params.get("files")
            if isinstance(files, str):
                files = json.loads(files)
            shared = []
            with self._lock:
                for item in files or []:
                    content = self.uploaded.get(item["id"])
                    if not content:
                        return {"ok": False, "error": "file_not_found"}
                    shared.append(
                        {
                            "id": item["id"],
                            "title": item.get("title"),
                            "channel": params.get("channel_id"),
                            "content": content,
                        }
                    )
                self.files.extend(shared)
            return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in shared]}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V1"}}
        if method == "views.open":
            view = params.get("view")
            if isinstance(view, str):
                view = params["view"] = json.loads(view)
            if not params.get("trigger_id") or not isinstance(view, dict):
                return {"ok": False, "error": "invalid_arguments"}
            number = next(self._ts)
            return {"ok": True, "view": {**view, "id": f"V{number:08d}", "hash": f"h{number}"}}
        return {"ok": False, "error": "unknown_method"}

    def messages_to(self, channel: str) -> list[dict[str, Any]]:
        with self._lock:
            return [p for p in self.posted if channel in (p.get("channel"), p.get("to"))]


def main() -> None:
    """Serve a stand-in on 127.0.0.1 in this process: ``python -m tests.slack_standin PORT``."""
    import sys

    import uvicorn

    standin = SlackStandIn({})
    uvicorn.run(
        standin.app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
