"""Relais as a Slack app: Bolt (async) on `POST /slack/events`, or Socket Mode.

The adapter translates: Slack payloads become the core's events, the core's
messages become Block Kit. Every request is acknowledged at once; the core's
work runs after the ack (``process_before_response`` only in tests), and its
replies go through the outbox to the member's DM. Retried events and clicks
carry the same idempotency key, so the core handles them once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections import OrderedDict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.inbound import Malformed, bolt_logger, check, signature_ok
from adapters.slack.render import home_view, parse_action_id, render
from bot.core import Outcome, Relais
from bot.events import ActionEvent, CommandEvent, InboundEvent, MessageEvent, Who, parse_command
from bot.messages import Message
from bot.platforms import Platform, Recipient, SendResult
from bot.web import BodyTooLarge, read_body, too_large

log = logging.getLogger("relais.slack")

NAME = "slack"
SLASH_COMMAND = "/relais"
REPORT_SHORTCUT = "relais_report"
# Errors that will not change by retrying: the delivery fails, with this reason.
FINAL_ERRORS = {
    "user_not_found",
    "users_not_found",
    "account_inactive",
    "user_disabled",
    "channel_not_found",
    "is_archived",
    "cannot_dm_bot",
    "not_in_channel",
    "invalid_blocks",
    "invalid_arguments",
    "msg_too_long",
    "no_text",
    "restricted_action",
    "team_access_not_granted",
}
# Errors an operator fixes (a revoked or wrong token): keep the message and try again later.
CONFIGURATION_ERRORS = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "missing_scope",
}
CONFIGURATION_RETRY_SECONDS = 300.0


class ChannelPacer:
    """At most one message per second per channel, as Slack's chat.postMessage allows."""

    def __init__(self, interval: float = 1.0, remembered: int = 10_000) -> None:
        self.interval = interval
        self._next: OrderedDict[str, float] = OrderedDict()
        self._lock = asyncio.Lock()

    async def wait(self, channel: str) -> None:
        async with self._lock:
            now = time.monotonic()
            ready = self._next.get(channel, now)
            self._next[channel] = max(now, ready) + self.interval
            self._next.move_to_end(channel)
            while len(self._next) > 10_000:
                self._next.popitem(last=False)
        if ready > now:
            await asyncio.sleep(ready - now)


def classify(error: SlackApiError, attempt_hint: int = 1) -> SendResult:
    """A Slack refusal as a retry (with Slack's Retry-After) or a final failure."""
    response = error.response
    status = getattr(response, "status_code", 0)
    code = str(response.get("error", "")) if hasattr(response, "get") else ""
    if status == 429 or code == "ratelimited":
        after = (
            float(response.headers.get("Retry-After", 1))
            if getattr(response, "headers", None)
            else 1.0
        )
        return SendResult.retry(after, "rate_limited")
    if status >= 500:
        return SendResult.retry(
            min(300.0, 2.0**attempt_hint) * random.uniform(0.8, 1.2), f"HTTP {status}"
        )
    if code in FINAL_ERRORS:
        return SendResult.failed(code)
    if code in CONFIGURATION_ERRORS:
        log.error(
            "Slack refused the bot token (%s): check SLACK_BOT_TOKEN and the app's scopes", code
        )
        return SendResult.retry(CONFIGURATION_RETRY_SECONDS, code)
    return SendResult.retry(30.0, code or f"HTTP {status}")


class SlackPlatform(Platform):
    """Slack through Bolt's async app and slack_sdk's async Web API client."""

    name = NAME

    def __init__(
        self,
        relais: Relais,
        bot_token: str,
        signing_secret: str | None,
        app_token: str | None = None,
        api_url: str | None = None,
        process_before_response: bool = False,
    ) -> None:
        self.relais = relais
        base_url = api_url or "https://slack.com/api/"
        if not base_url.endswith("/"):
            base_url += "/"
        self.client = AsyncWebClient(
            token=bot_token,
            base_url=base_url,
            retry_handlers=[
                AsyncRateLimitErrorRetryHandler(max_retry_count=1),
                AsyncServerErrorRetryHandler(max_retry_count=1),
            ],
        )
        self.app_token = app_token
        self.signing_secret = signing_secret or ""
        self.app = AsyncApp(
            client=self.client,
            signing_secret=signing_secret or "socket-mode",
            process_before_response=process_before_response,
            request_verification_enabled=app_token is None,
            logger=bolt_logger(),
        )
        self.pacer = ChannelPacer()
        self._emails: OrderedDict[str, str | None] = OrderedDict()
        self._socket: Any = None
        self._parts: OrderedDict[int, list[str]] = OrderedDict()  # delivery id -> parts sent
        self._register_listeners()

    # --- inbound ---------------------------------------------------------------

    async def _who(self, user_id: str) -> Who:
        """The Slack user as the core sees them; the e-mail links members imported without an id."""
        if user_id not in self._emails:
            email = None
            try:
                info = await self.client.users_info(user=user_id)
                email = (info.get("user") or {}).get("profile", {}).get("email")
            except SlackApiError as exc:
                log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
            self._emails[user_id] = email
            while len(self._emails) > 50_000:
                self._emails.popitem(last=False)
        return Who(platform=NAME, user_id=user_id, email=self._emails[user_id])

    async def _handle(self, event: InboundEvent) -> Outcome:
        outcome = await asyncio.to_thread(self.relais.handle, event)
        if outcome.queued:
            self.wake()
        for message in outcome.direct:  # people not (yet) in the programme
            for payload in render(message):
                try:
                    await self.client.chat_postMessage(channel=event.who.user_id, **payload)
                except SlackApiError as exc:
                    log.warning(
                        "could not answer %s: %s", event.who.user_id, exc.response.get("error")
                    )
        return outcome

    def _register_listeners(self) -> None:
        app = self.app

        @app.command(SLASH_COMMAND)
        async def slash(ack: Any, command: dict[str, Any]) -> None:
            await ack()
            name, args = parse_command(command.get("text", ""))
            who = await self._who(command["user_id"])
            key = f"command:{command.get('trigger_id') or command.get('user_id')}:{command.get('text', '')}"
            await self._handle(CommandEvent(who, key, name=name, args=args))

        @app.action(re.compile(".+"))
        async def clicked(ack: Any, body: dict[str, Any]) -> None:
            await ack()
            for action in body.get("actions", []):
                if action.get("url"):
                    continue  # a link button: nothing to do
                who = await self._who(body["user"]["id"])
                key = f"action:{body['user']['id']}:{action.get('action_ts')}:{action.get('action_id')}"
                container = body.get("container") or {}
                await self._handle(
                    ActionEvent(
                        who,
                        key,
                        action_id=parse_action_id(action.get("action_id", "")),
                        value=action.get("value", ""),
                        message_ref=container.get("message_ts"),
                    )
                )

        @app.shortcut(REPORT_SHORTCUT)
        async def report_shortcut(ack: Any, body: dict[str, Any]) -> None:
            await ack()
            message = body.get("message") or {}
            channel = (body.get("channel") or {}).get("id")
            link = None
            if channel and message.get("ts"):
                try:
                    found = await self.client.chat_getPermalink(
                        channel=channel, message_ts=message["ts"]
                    )
                    link = found.get("permalink")
                except SlackApiError as exc:
                    log.warning("chat.getPermalink failed: %s", exc.response.get("error"))
            who = await self._who(body["user"]["id"])
            text = " ".join((message.get("text") or "").split())
            key = f"shortcut:{body.get('trigger_id') or message.get('ts')}"
            await self._handle(
                CommandEvent(who, key, name="report", args=f"{link or ''} {text}".strip())
            )

        @app.event("message")
        async def direct_message(event: dict[str, Any], body: dict[str, Any]) -> None:
            if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
                return  # channels, edits, joins and our own messages are not for us
            who = await self._who(event["user"])
            key = f"event:{body.get('event_id') or event.get('client_msg_id') or event.get('ts')}"
            await self._handle(MessageEvent(who, key, text=event.get("text", "")))

        @app.event("app_home_opened")
        async def home_opened(event: dict[str, Any]) -> None:
            if event.get("tab") not in (None, "home"):
                return
            user_id = event["user"]
            home = await asyncio.to_thread(self.relais.home, await self._who(user_id))
            if home is None:
                return
            try:
                await self.client.views_publish(user_id=user_id, view=home_view(home))
            except SlackApiError as exc:
                log.warning("views.publish failed for %s: %s", user_id, exc.response.get("error"))

    # --- outbound ----------------------------------------------------------------

    async def send(self, recipient: Recipient, message: Message, delivery_id: int) -> SendResult:
        learned = None
        user_id = recipient.user_id
        timestamps: list[str] = []
        try:
            if not user_id:
                found = await self.client.users_lookupByEmail(email=recipient.email)
                user_id = learned = found["user"]["id"]
            channel = recipient.channel_id
            remember: dict[str, Any] = {}
            if not channel:
                opened = await self.client.conversations_open(users=user_id)
                channel = opened["channel"]["id"]
                remember["channel_id"] = channel
            # A message split in several parts resumes after the parts Slack already took.
            timestamps = list(self._parts.pop(delivery_id, []))
            for payload in render(message)[len(timestamps) :]:
                await self.pacer.wait(channel)
                posted = await self.client.chat_postMessage(channel=channel, **payload)
                timestamps.append(posted["ts"])
        except SlackApiError as exc:
            self._keep_parts(delivery_id, timestamps)
            return classify(exc)
        except (TimeoutError, OSError) as exc:
            self._keep_parts(delivery_id, timestamps)
            return SendResult.retry(10.0 * random.uniform(0.8, 1.2), f"{type(exc).__name__}: {exc}")
        return SendResult.sent(
            ",".join(timestamps)[:200], channel, remember=remember, user_id=learned
        )

    def _keep_parts(self, delivery_id: int, timestamps: list[str]) -> None:
        if timestamps:
            self._parts[delivery_id] = timestamps
            while len(self._parts) > 10_000:
                self._parts.popitem(last=False)

    # --- wiring ------------------------------------------------------------------

    def mount(self, app: FastAPI) -> None:
        if self.app_token:
            return  # Socket Mode: no public URL

        @app.post("/slack/events", include_in_schema=False)
        async def slack_events(request: Request) -> Any:
            return await self.receive(request)

    async def receive(self, request: Request) -> Any:
        """One request from Slack: capped, signature checked, shape checked, then Bolt.

        See ``adapters.slack.inbound`` for what is refused and why.
        """
        try:
            raw = await read_body(request)
        except BodyTooLarge:
            return too_large()
        headers = request.headers
        if not signature_ok(
            self.signing_secret,
            raw,
            headers.get("x-slack-request-timestamp"),
            headers.get("x-slack-signature"),
        ):
            log.info("refused a Slack request: bad or missing signature")
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        try:
            body = raw.decode("utf-8")
            check(body, headers.get("content-type"))
        except (UnicodeDecodeError, Malformed) as exc:
            log.warning("refused a signed Slack request: %s", exc)
            return JSONResponse({"error": "malformed request"}, status_code=400)
        response = await self.app.async_dispatch(
            AsyncBoltRequest(body=body, query=request.query_params, headers=headers)  # type: ignore[arg-type]
        )
        return to_starlette_response(response)

    async def start(self) -> None:
        if self.app_token:
            from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(self.app, self.app_token)
            await self._socket.connect_async()
            log.info("Slack: connected in Socket Mode")

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
        await asyncio.sleep(0)

    def health(self) -> dict[str, Any]:
        return {"ok": True, "mode": "socket" if self.app_token else "http"}
