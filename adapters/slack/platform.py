"""Relais as a Slack app: Bolt (async) on `POST /slack/events`, or Socket Mode.

The adapter translates: Slack payloads become the core's events, the core's
messages become Block Kit. Every request is acknowledged at once; the core's
work runs after the ack (``process_before_response`` only in tests), and its
replies go through the outbox to the member's DM. Retried events and clicks
carry the same idempotency key, so the core handles them once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import re
import time
from collections import OrderedDict
from typing import Any

import aiohttp
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.inbound import (
    Malformed,
    answered_at_once,
    bolt_logger,
    check,
    signature_ok,
)
from adapters.slack.render import (
    FORM_CALLBACK,
    FORM_OPEN,
    form_values,
    home_view,
    modal_view,
    parse_action_id,
    render,
)
from bot import lanes
from bot.core import Outcome, Relais
from bot.delivery.pacing import TokenBucket
from bot.events import ActionEvent, CommandEvent, InboundEvent, MessageEvent, Who, parse_command
from bot.i18n import Tr
from bot.messages import Attachment, Form, Message
from bot.platforms import Attempt, Part, Platform, Recipient, SendResult
from bot.web import BodyTooLarge, read_body, too_large

log = logging.getLogger("relais.slack")

NAME = "slack"
SLASH_COMMAND = "/relais"
REPORT_SHORTCUT = "relais_report"
# Acknowledged requests handled at once; each waits mostly on the core's lane or on Slack.
CONSUMERS = 8
# On stop, how long acknowledged requests still queued may take to be handled.
STOP_GRACE = 20.0
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
SEND_TIMEOUT = 10.0  # seconds for one Web API call on the send path
METADATA_EVENT = "relais_delivery"


class PausedWhileWaiting(Exception):
    """Promotional work was paused while a part waited for its turn in the bucket."""


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


LOOKBACK = 900.0  # seconds of a DM's history searched for a message already posted


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
        return SendResult.throttled(after, "rate_limited")
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
        # Not the message's fault: it waits, without using an attempt, until the token works.
        return SendResult.outage(CONFIGURATION_RETRY_SECONDS, code)
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
        rate_per_second: float | None = None,
        send_timeout: float = SEND_TIMEOUT,
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
        # The send path: no retries hidden in the SDK (the worker sees every 429 and the
        # workspace's bucket learns from it), and a timeout short enough to check and go on.
        self._token = bot_token
        self._base_url = base_url
        self._senders: dict[asyncio.AbstractEventLoop, AsyncWebClient] = {}
        self.send_timeout = send_timeout
        self.bucket = TokenBucket(rate_per_second)  # one workspace per bot token
        self.app_token = app_token
        self.signing_secret = signing_secret or ""
        self.app = AsyncApp(
            client=self.client,
            signing_secret=signing_secret or "socket-mode",
            # Over HTTP, ``receive`` acknowledges what a listener takes before Bolt runs,
            # so Bolt runs it to the end (and a consumer's turn bounds how many run at once).
            # Socket Mode acknowledges after dispatch: there Bolt must ack first.
            process_before_response=process_before_response or app_token is None,
            request_verification_enabled=app_token is None,
            logger=bolt_logger(),
        )
        self.process_before_response = process_before_response
        # Requests acknowledged before Bolt ran them wait here for one of CONSUMERS tasks:
        # a burst of clicks queues (cheaply) instead of crowding the event loop that
        # acknowledges the next ones.
        self._acked: asyncio.Queue[AsyncBoltRequest] | None = None
        self._consumers: list[asyncio.Task[None]] = []
        self.pacer = ChannelPacer()
        self._rendered: OrderedDict[int, tuple[Message, list[dict[str, Any]]]] = OrderedDict()
        self._emails: OrderedDict[str, str | None] = OrderedDict()
        self._socket: Any = None
        self._register_listeners()

    # --- inbound ---------------------------------------------------------------

    async def _who(self, user_id: str, lookup: bool = True) -> Who:
        """The Slack user as the core sees them; the e-mail links members imported without an id.

        ``lookup=False``: no users.info call (a member is found by their Slack id;
        ``_handle`` asks for the e-mail only if the core does not know the id).
        """
        if user_id not in self._emails and not lookup:
            return Who(platform=NAME, user_id=user_id)
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
        outcome = await lanes.inbound(self.relais.handle, event)
        user_id = event.who.user_id
        if outcome.stranger and user_id and event.who.email is None:
            # Not known by their Slack id: perhaps imported by e-mail only. Ask Slack (once:
            # the e-mail is kept), even when another request of theirs asked a moment ago.
            who = await self._who(user_id)
            if who.email:
                outcome = await lanes.inbound(
                    self.relais.handle, dataclasses.replace(event, who=who)
                )
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

    async def _open_form(self, who: Who, value: str, trigger_id: str | None) -> None:
        """Open the modal of the form a message carries (found in the member's own delivery)."""
        delivery, _, index = value.partition(":")
        found = await lanes.inbound(self.relais.form_of, who, delivery, index)
        if found is None or not trigger_id:
            log.info("a form button pointed at no form of %s", who.user_id)
            return
        form, lang = found
        try:
            await self.client.views_open(
                trigger_id=trigger_id, view=modal_view(form, Tr(lang)("Cancel"))
            )
        except SlackApiError as exc:
            log.warning("views.open failed for %s: %s", who.user_id, exc.response.get("error"))

    def _register_listeners(self) -> None:
        app = self.app

        @app.command(SLASH_COMMAND)
        async def slash(ack: Any, command: dict[str, Any]) -> None:
            await ack()
            name, args = parse_command(command.get("text", ""))
            who = await self._who(command["user_id"], lookup=False)
            key = f"command:{command.get('trigger_id') or command.get('user_id')}:{command.get('text', '')}"
            await self._handle(CommandEvent(who, key, name=name, args=args))

        @app.action(re.compile(".+"))
        async def clicked(ack: Any, body: dict[str, Any]) -> None:
            await ack()
            for action in body.get("actions", []):
                if action.get("url"):
                    continue  # a link button: nothing to do
                if parse_action_id(action.get("action_id", "")) == FORM_OPEN:
                    who = await self._who(body["user"]["id"])
                    await self._open_form(who, action.get("value", ""), body.get("trigger_id"))
                    continue
                who = await self._who(body["user"]["id"], lookup=False)
                key = f"action:{body['user']['id']}:{action.get('action_ts')}:{action.get('action_id')}"
                await self._handle(
                    ActionEvent(
                        who,
                        key,
                        action_id=parse_action_id(action.get("action_id", "")),
                        value=action.get("value", ""),
                    )
                )

        @app.view(FORM_CALLBACK)
        async def form_submitted(ack: Any, body: dict[str, Any]) -> None:
            await ack()  # the modal closes; the core answers in the member's DM
            view = body.get("view") or {}
            submitted = form_values(view)
            if submitted is None:
                return
            action_id, value, fields = submitted
            who = await self._who(body["user"]["id"], lookup=False)
            key = f"view:{view.get('id')}:{view.get('hash')}"
            await self._handle(
                ActionEvent(who, key, action_id=action_id, value=value, fields=fields)
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
            who = await self._who(body["user"]["id"], lookup=False)
            text = " ".join((message.get("text") or "").split())
            key = f"shortcut:{body.get('trigger_id') or message.get('ts')}"
            await self._handle(
                CommandEvent(who, key, name="report", args=f"{link or ''} {text}".strip())
            )

        @app.event("message")
        async def direct_message(event: dict[str, Any], body: dict[str, Any]) -> None:
            if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
                return  # channels, edits, joins and our own messages are not for us
            who = await self._who(event["user"], lookup=False)
            key = f"event:{body.get('event_id') or event.get('client_msg_id') or event.get('ts')}"
            await self._handle(MessageEvent(who, key, text=event.get("text", "")))

        @app.event("app_home_opened")
        async def home_opened(event: dict[str, Any]) -> None:
            if event.get("tab") not in (None, "home"):
                return
            user_id = event["user"]
            home = await lanes.inbound(self.relais.home, await self._who(user_id))
            if home is None:
                return
            try:
                await self.client.views_publish(user_id=user_id, view=home_view(home))
            except SlackApiError as exc:
                log.warning("views.publish failed for %s: %s", user_id, exc.response.get("error"))

    # --- outbound ----------------------------------------------------------------

    @property
    def sender(self) -> AsyncWebClient:
        """The send path's client, with one kept-alive HTTP session per event loop.

        Without a session slack_sdk opens a new one (a new TCP connection) for every
        call, which costs more than the call itself against a nearby API.
        """
        loop = asyncio.get_running_loop()
        client = self._senders.get(loop)
        if client is None or client.session is None or client.session.closed:
            for stale in [other for other in self._senders if other.is_closed()]:
                del self._senders[stale]  # a finished drain's loop: its session died with it
            session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.send_timeout),
                connector=aiohttp.TCPConnector(limit=256, ttl_dns_cache=300),
            )
            client = self._senders[loop] = AsyncWebClient(
                token=self._token,
                base_url=self._base_url,
                timeout=max(1, int(self.send_timeout)),
                retry_handlers=[],
                session=session,
            )
        return client

    async def close(self) -> None:
        """Close this event loop's HTTP session (the end of a drain or of the service)."""
        with contextlib.suppress(RuntimeError):
            client = self._senders.pop(asyncio.get_running_loop(), None)
            if client is not None and client.session is not None:
                await client.session.close()

    def share_limits(self, share: float) -> None:
        self.bucket.set_share(share)

    def hold(self, seconds: float) -> None:
        self.bucket.hold(seconds)

    async def _post(
        self, channel: str, payload: dict[str, Any], attempt: Attempt, position: int
    ) -> Any:
        """One chat.postMessage within the workspace's bucket and the channel's pace.

        The metadata names the delivery and the part: after a timeout, the message
        can be found in the DM's history instead of being posted twice.
        """
        await self.bucket.acquire(attempt.priority)
        await self.pacer.wait(channel)
        # The wait can be long (the priority lane goes first, a crisis alert burst):
        # a pause decided meanwhile wins over a promotional part that was waiting.
        if attempt.promotional and not await attempt.may_continue():
            raise PausedWhileWaiting
        return await self.sender.chat_postMessage(
            channel=channel,
            metadata={
                "event_type": METADATA_EVENT,
                "event_payload": {"delivery": attempt.delivery_id, "part": position},
            },
            **payload,
        )

    def _render(self, message: Message, delivery_id: int | None) -> list[dict[str, Any]]:
        """Block Kit for a message; a campaign hands the same Message object to every send.

        The cache holds the message itself, so its ``id`` cannot be reused while cached;
        the payloads are shared read-only (slack_sdk copies what it changes). A message
        with a form is rendered for its delivery (the form's button names the row).
        """
        if any(isinstance(block, Form) for block in message.blocks):
            return render(message, delivery_id)
        cached = self._rendered.get(id(message))
        if cached is not None and cached[0] is message:
            return cached[1]
        payloads = render(message)
        self._rendered[id(message)] = (message, payloads)
        while len(self._rendered) > 64:
            self._rendered.popitem(last=False)
        return payloads

    async def _arrived(self, channel: str, attempt: Attempt, position: int) -> str | None:
        """The ts of part ``position`` if Slack has it in the DM since the attempt began."""
        # A worker that died holds its rows for a lease (a minute) before another retries:
        # look back well beyond it.
        since = max(0.0, (attempt.started_at or time.time()) - LOOKBACK)
        history = await self.sender.conversations_history(
            channel=channel, oldest=f"{since:.6f}", include_all_metadata=True, limit=200
        )
        for item in history.get("messages") or []:
            metadata = item.get("metadata") or {}
            body = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT
                and body.get("delivery") == attempt.delivery_id
                and body.get("part") == position
            ):
                return str(item.get("ts"))
        return None

    async def _open(self, user_id: str, attempt: Attempt) -> str:
        opened = await self.sender.conversations_open(users=user_id)
        channel = str(opened["channel"]["id"])
        await attempt.channel_learned(channel)  # kept before anything is posted into it
        return channel

    async def send(self, recipient: Recipient, message: Message, attempt: Attempt) -> SendResult:
        learned = None
        user_id = recipient.user_id
        parts = list(attempt.parts)
        channel = recipient.channel_id or (parts[-1].channel_id if parts else None)
        remember: dict[str, Any] = {}
        try:
            if not user_id and not channel:
                found = await self.sender.users_lookupByEmail(email=recipient.email)
                user_id = learned = found["user"]["id"]
            payloads = self._render(message, attempt.delivery_id)
            if attempt.after_timeout:
                # The previous try timed out: what Slack already has is not posted again.
                if not channel:  # the DM's id was not learned then: the same DM, once
                    channel = remember["channel_id"] = await self._open(str(user_id), attempt)
                while len(parts) < len(payloads):
                    ts = await self._arrived(channel, attempt, len(parts))
                    if ts is None:
                        break
                    parts.append(Part(ts, channel))
                    if len(parts) < len(payloads):
                        await attempt.part_sent(len(parts) - 1, parts[-1])
            for position in range(len(parts), len(payloads)):
                if attempt.promotional and not await attempt.may_continue():
                    return SendResult.paused()
                # Posting to the user id opens (or finds) the DM: one call, not two.
                target = channel or str(user_id)
                try:
                    posted = await self._post(target, payloads[position], attempt, position)
                except aiohttp.ClientConnectorError:
                    raise  # it never reached Slack: nothing to ask
                except (TimeoutError, aiohttp.ClientError) as exc:
                    # No answer (or half of one): Slack may have the message. Ask it.
                    if not channel:
                        channel = remember["channel_id"] = await self._open(str(user_id), attempt)
                    ts = await self._arrived(channel, attempt, position)
                    if ts is None:
                        return SendResult.retry(
                            2.0 * random.uniform(0.8, 1.2),
                            f"timeout: Slack's answer did not come ({type(exc).__name__})",
                        )
                    posted = {"ts": ts, "channel": channel}
                self.bucket.accepted()
                if not channel:
                    channel = str(posted.get("channel") or target)
                    remember["channel_id"] = channel
                parts.append(Part(str(posted["ts"]), channel))
                if position < len(payloads) - 1:
                    await attempt.part_sent(position, parts[-1])
            files = [block for block in message.blocks if isinstance(block, Attachment)]
            if files and not channel:
                channel = remember["channel_id"] = await self._open(str(user_id), attempt)
            for block in files:
                # files.getUploadURLExternal, the upload, files.completeUploadExternal.
                await self.bucket.acquire(attempt.priority)
                await self.sender.files_upload_v2(
                    channel=channel,
                    file=block.content(),
                    filename=block.name,
                    title=block.alt[:250],
                    alt_txt=block.alt[:1000],
                )
                self.bucket.accepted()
        except PausedWhileWaiting:
            return SendResult.paused()
        except SlackApiError as exc:
            return self._refused(exc)
        except TimeoutError:  # the check itself did not answer: the next try checks first
            return SendResult.retry(
                2.0 * random.uniform(0.8, 1.2), "timeout: the check did not answer either"
            )
        except OSError as exc:  # refused, DNS: Slack cannot be reached
            return SendResult.outage(30.0, f"cannot reach Slack: {type(exc).__name__}")
        except aiohttp.ClientError as exc:  # during the check: the next try checks first
            return SendResult.retry(
                2.0 * random.uniform(0.8, 1.2), f"timeout: {type(exc).__name__}"
            )
        return SendResult.sent(
            parts[0].message_id if parts else None,
            channel,
            remember=remember,
            user_id=learned,
            parts=parts,
        )

    def _refused(self, exc: SlackApiError) -> SendResult:
        result = classify(exc)
        if result.status == "throttled":
            self.bucket.throttled(result.retry_after or 1.0)
        return result

    async def update(self, recipient: Recipient, message: Message, attempt: Attempt) -> SendResult:
        """chat.update every part; parts the new text needs more are posted, fewer deleted."""
        parts = list(attempt.parts)
        payloads = self._render(message, attempt.delivery_id)
        channel = parts[0].channel_id or recipient.channel_id or ""
        done: list[Part] = []
        try:
            for position, payload in enumerate(payloads):
                await self.bucket.acquire(attempt.priority)
                if position < len(parts):
                    part = parts[position]
                    await self.sender.chat_update(
                        channel=part.channel_id or channel, ts=part.message_id, **payload
                    )
                    done.append(part)
                else:
                    posted = await self._post(channel, payload, attempt, position)
                    done.append(Part(str(posted["ts"]), channel))
                    await attempt.part_sent(position, done[-1])  # a retry will not post it again
                self.bucket.accepted()
            for part in parts[len(payloads) :]:
                await self._delete_part(part, attempt)
        except PausedWhileWaiting:
            return SendResult.paused()
        except SlackApiError as exc:
            return self._refused(exc)
        except (TimeoutError, OSError) as exc:
            return SendResult.retry(10.0 * random.uniform(0.8, 1.2), f"{type(exc).__name__}")
        return SendResult.sent(done[0].message_id if done else None, channel, parts=done)

    async def _delete_part(self, part: Part, attempt: Attempt) -> None:
        await self.bucket.acquire(attempt.priority)
        try:
            await self.sender.chat_delete(channel=part.channel_id or "", ts=part.message_id)
        except SlackApiError as exc:
            if exc.response.get("error") != "message_not_found":
                raise
        await attempt.part_gone(part)

    async def delete(self, recipient: Recipient, attempt: Attempt) -> SendResult:
        """chat.delete every part; each part deleted is forgotten at once."""
        try:
            for part in attempt.parts:
                await self._delete_part(part, attempt)
        except SlackApiError as exc:
            return self._refused(exc)
        except (TimeoutError, OSError) as exc:
            return SendResult.retry(10.0 * random.uniform(0.8, 1.2), f"{type(exc).__name__}")
        return SendResult.sent(None)

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
            parsed = check(body, headers.get("content-type"))
        except (UnicodeDecodeError, Malformed) as exc:
            log.warning("refused a signed Slack request: %s", exc)
            return JSONResponse({"error": "malformed request"}, status_code=400)
        bolt_request = AsyncBoltRequest(body=body, query=request.query_params, headers=headers)  # type: ignore[arg-type]
        if not self.process_before_response and answered_at_once(
            parsed, SLASH_COMMAND, REPORT_SHORTCUT, FORM_CALLBACK
        ):
            # Slack wants the ack within 3 s; it is the same empty 200 our listener would give.
            self._queue().put_nowait(bolt_request)
            return Response(status_code=200)
        response = await self.app.async_dispatch(bolt_request)
        return to_starlette_response(response)

    def _queue(self) -> asyncio.Queue[AsyncBoltRequest]:
        if self._acked is None:
            self._acked = asyncio.Queue()
            self._consumers = [
                asyncio.create_task(self._consume(self._acked)) for _ in range(CONSUMERS)
            ]
        return self._acked

    async def _consume(self, acked: asyncio.Queue[AsyncBoltRequest]) -> None:
        """Run acknowledged requests through Bolt, one at a time (its own answer goes nowhere)."""
        while True:
            bolt_request = await acked.get()
            try:
                response = await self.app.async_dispatch(bolt_request)
                if response.status >= 400:
                    log.warning(
                        "Bolt answered %s to a request Relais acknowledged", response.status
                    )
            except Exception:  # Bolt logs listener errors itself; this is anything else
                log.exception("a Slack request failed after it was acknowledged")
            finally:
                acked.task_done()

    async def start(self) -> None:
        if self.app_token:
            from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(self.app, self.app_token)
            await self._socket.connect_async()
            log.info("Slack: connected in Socket Mode")

    async def settle(self) -> None:
        if self._acked is None:
            return
        try:
            await asyncio.wait_for(self._acked.join(), timeout=STOP_GRACE)
        except TimeoutError:
            log.warning("%d acknowledged Slack requests left unhandled", self._acked.qsize())
        for consumer in self._consumers:
            consumer.cancel()
        self._acked, self._consumers = None, []

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
        await self.settle()
        await self.close()
        await asyncio.sleep(0)

    def health(self) -> dict[str, Any]:
        return {"ok": True, "mode": "socket" if self.app_token else "http"}
