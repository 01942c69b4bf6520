"""Relais as a Microsoft Teams bot: botbuilder's ``CloudAdapter`` on ``POST /api/messages``.

Every use of botbuilder stays in ``adapters/teams/`` (the Bot Framework SDK is
archived in favour of the Microsoft 365 Agents SDK; moving to it must stay
local to this folder).

Who a member is: the Teams id Relais keeps (the member's Teams ``Address.user_id``,
the ``teams_id`` column of the members CSV) is the member's **Microsoft Entra
object id** (``from.aadObjectId``, a GUID an administrator can export from
Entra ID), or the Bot Framework user id (``from.id``, ``29:…``) when an
activity carries no object id (e.g. the Bot Framework Emulator). A member
imported without it is recognised by e-mail on first contact: activities do
not carry the e-mail, so it is fetched once from Teams (``TeamsInfo.get_member``)
and the core links the id.

Where a member is reached: the conversation reference of their personal chat
with the bot, kept (through the core) whenever they install the bot, are added
to a personal chat, or write to it. Proactive sends (``continue_conversation``)
use it; a member without one is reported "not reachable in Teams". A member
who first writes in a channel or a group chat gets a personal chat opened for
them, so their lessons and answers stay private.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from msrest.exceptions import ClientRequestError, HttpOperationError

from adapters.teams.activities import RelaisActivityHandler
from adapters.teams.auth import (
    AUTH_TIMEOUT,
    INSECURE_ENV,
    KeysUnavailable,
    TeamsCredentials,
    authentication,
    credentials_factory,
)
from adapters.teams.cards import to_activity_payloads
from adapters.teams.limits import (
    CONVERSATION_LIMITS,
    TENANT_LIMITS,
    Pacer,
    classify,
    later,
)
from bot import lanes
from bot.core import Outcome, Relais
from bot.db import session_scope
from bot.events import InboundEvent, Who
from bot.members import service as members
from bot.members.models import Member
from bot.messages import Message
from bot.platforms import Attempt, Part, Platform, Recipient, SendResult
from bot.web import BodyTooLarge, read_body, too_large

log = logging.getLogger("relais.teams")

NAME = "teams"
NOT_REACHABLE = "not reachable in Teams: no conversation reference yet"
SEND_TIMEOUT = 30.0  # seconds for one call to the Bot Connector
MAX_INLINE_WAIT = 2.0  # wait in line this long for a slot; beyond, the worker retries later


def _status_of(error: HttpOperationError) -> tuple[int, str | None, str]:
    response = getattr(error, "response", None)
    status = int(getattr(response, "status_code", 0) or 0)
    headers = getattr(response, "headers", None) or {}
    retry_after = headers.get("Retry-After") if hasattr(headers, "get") else None
    detail = ""
    inner = getattr(error, "error", None)
    code = getattr(getattr(inner, "error", None), "code", None)
    if code:
        detail = str(code)
    return status, retry_after, detail


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TeamsPlatform(Platform):
    """Teams through botbuilder: inbound on ``/api/messages``, outbound proactive cards."""

    name = NAME

    def __init__(
        self,
        relais: Relais,
        credentials: TeamsCredentials,
        *,
        adapter: BotAdapter | None = None,
        auth: Any = None,
        pacer: Pacer | None = None,
        send_timeout: float = SEND_TIMEOUT,
        auth_timeout: float = AUTH_TIMEOUT,
    ) -> None:
        self.relais = relais
        self.credentials = credentials
        self.credentials_factory = credentials_factory(credentials)
        self.auth = auth or authentication(credentials, self.credentials_factory)
        self.adapter: Any = adapter or CloudAdapter(self.auth)
        self.adapter.on_turn_error = self._on_turn_error
        self.handler = RelaisActivityHandler(self)
        self.pacer = pacer or Pacer()
        self.tenant_limits = TENANT_LIMITS  # this replica's share of them (``share_limits``)
        self._held_until = 0.0
        self.send_timeout = send_timeout
        self.auth_timeout = auth_timeout
        self._emails: OrderedDict[str, str | None] = OrderedDict()

    # --- inbound ---------------------------------------------------------------

    @property
    def insecure(self) -> bool:
        return self.credentials.insecure

    def mount(self, app: FastAPI) -> None:
        @app.post("/api/messages", include_in_schema=False)
        async def messages(request: Request) -> Response:
            return await self.process(request)

    async def process(self, request: Request) -> Response:
        """One activity from the Bot Framework: authenticate, run the turn, answer."""
        if self.insecure and not _is_loopback(request.client.host if request.client else None):
            return JSONResponse({"error": "authentication is off: loopback clients only"}, 403)
        if "application/json" not in request.headers.get("content-type", ""):
            return JSONResponse({"error": "expected application/json"}, 415)
        try:
            raw = await read_body(request)
        except BodyTooLarge:
            return too_large()
        try:
            body = json.loads(raw)
        except ValueError:  # not JSON, or not UTF-8
            return JSONResponse({"error": "not an activity"}, 400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "not an activity"}, 400)
        try:
            activity = Activity().deserialize(body)
        except Exception:
            return JSONResponse({"error": "not an activity"}, 400)
        if not isinstance(activity.type, str) or not activity.type:
            return JSONResponse({"error": "not an activity"}, 400)
        # With authentication off (local tests), a header is ignored rather than half-checked.
        header = None if self.insecure else (request.headers.get("authorization") or None)
        try:
            # botbuilder validates the JWT (signature, issuer, audience = our app id,
            # serviceUrl claim); without a header it refuses unless auth is off. Its key
            # fetch runs in a thread (adapters.teams.auth); the whole check is bounded.
            authenticated = await asyncio.wait_for(
                self.auth.authenticate_request(activity, header), self.auth_timeout
            )
        except (TimeoutError, KeysUnavailable) as exc:
            log.warning("could not check an activity's token: %s", exc or type(exc).__name__)
            return JSONResponse({"error": "cannot check the token now"}, 503)
        except Exception as exc:  # PermissionError, or a token that is not even a JWT
            log.info("refused an activity: %s", type(exc).__name__)
            return JSONResponse({"error": "unauthorized"}, 401)
        invoke = await self.adapter.process_activity(authenticated, activity, self.handler.on_turn)
        if invoke is not None:
            return JSONResponse(invoke.body, status_code=invoke.status)
        return Response(status_code=201)

    async def _on_turn_error(self, turn_context: TurnContext, error: Exception) -> None:
        log.error(
            "Teams turn failed (%s activity %s): %s",
            turn_context.activity.type,
            turn_context.activity.id,
            error,
            exc_info=error,
        )

    @staticmethod
    def is_personal(activity: Activity) -> bool:
        conversation = activity.conversation
        if conversation is None:
            return False
        if conversation.conversation_type:
            return conversation.conversation_type == "personal"
        return not conversation.is_group

    @staticmethod
    def tenant_of(activity: Activity) -> str | None:
        """The member's tenant (botbuilder's schema misses Teams' ``conversation.tenantId``)."""
        conversation = activity.conversation
        tenant = conversation.tenant_id if conversation else None
        if not tenant and conversation is not None:
            tenant = (conversation.additional_properties or {}).get("tenantId")
        data = activity.channel_data
        if not tenant and isinstance(data, dict):
            tenant = (data.get("tenant") or {}).get("id")
        return tenant or None

    def reference_of(self, activity: Activity) -> dict[str, Any]:
        """The conversation reference to keep, as JSON (proactive sends never reply to an id)."""
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None
        if reference.conversation is not None and not reference.conversation.tenant_id:
            reference.conversation.tenant_id = self.tenant_of(activity)
        return reference.serialize()

    async def identify(self, turn_context: TurnContext) -> Who | None:
        """The sender as the core sees them; keeps their personal-chat reference."""
        activity = turn_context.activity
        user = activity.from_property
        if user is None or not user.id:
            return None
        teams_id = user.aad_object_id or user.id
        personal = self.is_personal(activity)
        channel = activity.conversation.id if personal else None
        reference = self.reference_of(activity) if personal else None
        who = Who(platform=NAME, user_id=teams_id, name=user.name)
        remember = self.relais.remember_address
        member_id = await lanes.inbound(remember, who, channel, reference)
        if member_id is None:
            email = await self._email_of(turn_context, user.id)
            if email:
                who = Who(platform=NAME, user_id=teams_id, email=email, name=user.name)
                member_id = await lanes.inbound(remember, who, channel, reference)
        if member_id is not None and not personal:
            await self._ensure_personal_chat(turn_context, who, member_id)
        return who

    async def _email_of(self, turn_context: TurnContext, user_id: str) -> str | None:
        """The member's e-mail from Teams (asked once per user and process)."""
        if user_id in self._emails:
            return self._emails[user_id]
        if turn_context.activity.channel_id != "msteams":
            return None  # only Teams answers this (not, e.g., the Bot Framework Emulator)
        try:
            account = await TeamsInfo.get_member(turn_context, user_id)
        except Exception as exc:
            log.warning("Teams: could not look up member %s: %s", user_id, exc)
            return None
        email = getattr(account, "email", None)
        principal = getattr(account, "user_principal_name", None)
        if not email and principal and "@" in principal and "#EXT#" not in principal.upper():
            email = principal
        self._emails[user_id] = email.lower() if email else None
        while len(self._emails) > 50_000:
            self._emails.popitem(last=False)
        return self._emails[user_id]

    def _has_reference(self, member_id: int) -> bool:
        with session_scope(self.relais.engine) as session:
            member = session.get(Member, member_id)
            return bool(member and members.recipient(session, member, NAME).reference)

    async def _ensure_personal_chat(
        self, turn_context: TurnContext, who: Who, member_id: int
    ) -> None:
        """Open a personal chat for a member first met in a channel or a group chat."""
        if await lanes.inbound(self._has_reference, member_id):
            return
        activity = turn_context.activity
        client = turn_context.turn_state.get(BotAdapter.BOT_CONNECTOR_CLIENT_KEY)
        if client is None:
            return
        tenant = self.tenant_of(activity)
        try:
            created = await client.conversations.create_conversation(
                ConversationParameters(
                    is_group=False,
                    bot=activity.recipient,
                    members=[ChannelAccount(id=activity.from_property.id)],
                    tenant_id=tenant,
                    channel_data={"tenant": {"id": tenant}} if tenant else None,
                )
            )
        except Exception as exc:
            log.warning("Teams: could not open a personal chat with %s: %s", who.user_id, exc)
            return
        reference = ConversationReference(
            user=activity.from_property,
            bot=activity.recipient,
            conversation=ConversationAccount(
                id=created.id, conversation_type="personal", is_group=False, tenant_id=tenant
            ),
            channel_id=activity.channel_id,
            service_url=activity.service_url,
        )
        await lanes.inbound(self.relais.remember_address, who, created.id, reference.serialize())

    async def dispatch(self, turn_context: TurnContext, event: InboundEvent) -> Outcome:
        """Hand the event to the core; answer strangers in the turn, wake the worker otherwise."""
        outcome = await lanes.inbound(self.relais.handle, event)
        if outcome.queued:
            self.wake()
        lang = self.relais.config.languages.default
        for message in outcome.direct:
            for payload in to_activity_payloads(message, lang):
                try:
                    await turn_context.send_activity(Activity().deserialize(payload))
                except Exception as exc:
                    log.warning("Teams: could not answer in the conversation: %s", exc)
        return outcome

    async def welcome(self, who: Who, key: str) -> None:
        """Queue the welcome card (the member's home) and wake the worker."""
        outcome = await lanes.inbound(self.relais.welcome, who, key)
        if outcome.queued:
            self.wake()

    # --- outbound --------------------------------------------------------------

    def tune_turn(self, turn_context: TurnContext) -> None:
        client = turn_context.turn_state.get(BotAdapter.BOT_CONNECTOR_CLIENT_KEY)
        if client is not None:
            self._tune(client)

    def _tune(self, client: Any) -> None:
        """No retries or long waits inside a send: the worker reschedules instead."""
        config = getattr(client, "config", None)
        if config is None:
            return
        policy = getattr(config, "retry_policy", None)
        if policy is not None:
            policy.retries = 0
        connection = getattr(config, "connection", None)
        if connection is not None:
            connection.timeout = self.send_timeout

    async def _in_turn(
        self, reference: ConversationReference, act: Callable[[TurnContext], Awaitable[Any]]
    ) -> Any:
        """Run ``act`` in a proactive turn of the member's conversation (botbuilder's connector).

        Errors are kept and raised here: the adapter's turn-error handler must not swallow them.
        """
        outcome: dict[str, Any] = {}

        async def callback(turn_context: TurnContext) -> None:
            try:
                self.tune_turn(turn_context)
                # botbuilder would address the message as a reply to the (made-up) id of the
                # continuation activity; a proactive message is a new message.
                turn_context.activity.id = None
                outcome["value"] = await act(turn_context)
            except Exception as exc:
                outcome["error"] = exc

        await asyncio.wait_for(
            self.adapter.continue_conversation(reference, callback, self.credentials.app_id),
            self.send_timeout,
        )
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    async def _send_one(self, reference: ConversationReference, payload: dict[str, Any]) -> str:
        async def post(turn_context: TurnContext) -> str:
            response = await turn_context.send_activity(Activity().deserialize(payload))
            return str(getattr(response, "id", None) or "")

        return str(await self._in_turn(reference, post))

    async def _update_one(
        self, reference: ConversationReference, activity_id: str, payload: dict[str, Any]
    ) -> None:
        """``PUT /v3/conversations/{conversation}/activities/{activity_id}`` with the new card."""

        async def replace(turn_context: TurnContext) -> None:
            activity = Activity().deserialize(payload)
            activity.id = activity_id
            await turn_context.update_activity(activity)

        await self._in_turn(reference, replace)

    async def _delete_one(self, reference: ConversationReference, activity_id: str) -> None:
        """``DELETE /v3/conversations/{conversation}/activities/{activity_id}``."""

        async def remove(turn_context: TurnContext) -> None:
            await turn_context.delete_activity(activity_id)

        await self._in_turn(reference, remove)

    def _reference(
        self, recipient: Recipient
    ) -> tuple[ConversationReference, dict[str, Any]] | SendResult:
        """The member's stored conversation reference and the pacing keys it falls under."""
        if not recipient.reference:
            return SendResult.failed(NOT_REACHABLE)
        try:
            reference = ConversationReference.deserialize(recipient.reference)
        except Exception:
            reference = None
        if reference is None or reference.conversation is None or not reference.service_url:
            return SendResult.failed("the stored Teams conversation reference is unusable")
        reference.activity_id = None  # a new message, not a reply to the member's last one
        keys = {
            f"conversation:{reference.conversation.id}": CONVERSATION_LIMITS,
            f"tenant:{reference.conversation.tenant_id or '-'}": self.tenant_limits,
        }
        return reference, keys

    async def _slot(self, keys: dict[str, Any]) -> SendResult | None:
        """Wait for a paced slot; a result (retry later) when the wait would be too long."""
        held = self._held_until - time.monotonic()
        if held > 0:
            return SendResult.throttled(
                held, "the fleet holds Teams sends (429 to a replica)", local=True
            )
        wait = self.pacer.delay(keys)
        if wait > MAX_INLINE_WAIT:
            return later(wait, "paced to stay within Teams' limits")
        wait = self.pacer.reserve(keys)
        if wait > 0:
            await asyncio.sleep(wait)
        return None

    def share_limits(self, share: float) -> None:
        self.tenant_limits = tuple(
            (window, max(1, int(most * min(1.0, share)))) for window, most in TENANT_LIMITS
        )

    def hold(self, seconds: float) -> None:
        self._held_until = max(self._held_until, time.monotonic() + max(0.0, seconds))

    def _refused(self, exc: Exception, conversation: str, delivery_id: int) -> SendResult:
        """What a failed call to the Bot Connector means for the operation."""
        if isinstance(exc, HttpOperationError):
            status, retry_after, detail = _status_of(exc)
            result = classify(status, retry_after, detail)
            if status == 429:
                self.pacer.pause(f"conversation:{conversation}", result.retry_after or 1.0)
                # Teams does not say whether the conversation or the tenant was over:
                # the conversation waits here; the tenant's pace is the fleet's share.
                result = SendResult.throttled(
                    result.retry_after or 1.0, result.error or "", local=True
                )
            elif status == 401:
                result = SendResult.outage(result.retry_after or 300.0, result.error or "")
            log.info(
                "Teams refused delivery %s (Retry-After %s): %s",
                delivery_id,
                retry_after,
                result.error,
            )
            return result
        if isinstance(exc, TimeoutError):
            return later(None, f"Teams did not answer within {self.send_timeout:.0f} s")
        if isinstance(exc, ClientRequestError | OSError):  # refused, reset, DNS…
            return SendResult.outage(30.0, f"cannot reach Teams: {type(exc).__name__}")
        raise exc

    async def send(self, recipient: Recipient, message: Message, attempt: Attempt) -> SendResult:
        found = self._reference(recipient)
        if isinstance(found, SendResult):
            return found
        reference, keys = found
        conversation = reference.conversation.id
        payloads = to_activity_payloads(message, recipient.language)
        sent = [part.message_id for part in attempt.parts]
        if not self.insecure:
            await self.credentials_factory.warm()
        for position in range(len(sent), len(payloads)):
            if attempt.promotional and not await attempt.may_continue():
                return SendResult.paused()
            if (held := await self._slot(keys)) is not None:
                return held
            if attempt.promotional and not await attempt.may_continue():
                return SendResult.paused()  # paused while it waited for its turn
            try:
                sent.append(await self._send_one(reference, payloads[position]))
            except (HttpOperationError, TimeoutError, ClientRequestError, OSError) as exc:
                return self._refused(exc, conversation, attempt.delivery_id)
            if position < len(payloads) - 1:
                await attempt.part_sent(position, Part(sent[-1], conversation))
        return SendResult.sent(
            sent[0] if sent else None,
            channel_id=conversation,
            parts=[Part(part, conversation) for part in sent],
        )

    async def update(self, recipient: Recipient, message: Message, attempt: Attempt) -> SendResult:
        """Replace every part in place; parts the new message needs more are posted, fewer deleted.

        Each part posted is stored at once (``part_sent``) and each part deleted
        forgotten at once (``part_gone``), so a retry after a refusal midway neither
        posts a part twice nor deletes one twice.
        """
        found = self._reference(recipient)
        if isinstance(found, SendResult):
            return found
        reference, keys = found
        conversation = reference.conversation.id
        parts = list(attempt.parts)
        payloads = to_activity_payloads(message, recipient.language)
        done: list[Part] = []
        if not self.insecure:
            await self.credentials_factory.warm()
        try:
            for position, payload in enumerate(payloads):
                if (held := await self._slot(keys)) is not None:
                    return held
                if position < len(parts):
                    part = parts[position]
                    await self._update_one(reference, part.message_id, payload)
                    done.append(Part(part.message_id, part.channel_id or conversation))
                else:
                    done.append(Part(await self._send_one(reference, payload), conversation))
                    await attempt.part_sent(position, done[-1])
            for part in parts[len(payloads) :]:
                if (held := await self._slot(keys)) is not None:
                    return held
                await self._delete_gone(reference, part, attempt)
        except (HttpOperationError, TimeoutError, ClientRequestError, OSError) as exc:
            return self._refused(exc, conversation, attempt.delivery_id)
        return SendResult.sent(done[0].message_id if done else None, conversation, parts=done)

    async def _delete_gone(
        self, reference: ConversationReference, part: Part, attempt: Attempt
    ) -> None:
        """Delete one part; one Teams no longer has (404) is as good as deleted."""
        try:
            await self._delete_one(reference, part.message_id)
        except HttpOperationError as exc:
            if _status_of(exc)[0] != 404:
                raise
        await attempt.part_gone(part)

    async def delete(self, recipient: Recipient, attempt: Attempt) -> SendResult:
        """Delete every part of the message; each part deleted is forgotten at once."""
        found = self._reference(recipient)
        if isinstance(found, SendResult):
            return found
        reference, keys = found
        if not self.insecure:
            await self.credentials_factory.warm()
        try:
            for part in attempt.parts:
                if (held := await self._slot(keys)) is not None:
                    return held
                await self._delete_gone(reference, part, attempt)
        except (HttpOperationError, TimeoutError, ClientRequestError, OSError) as exc:
            return self._refused(exc, reference.conversation.id, attempt.delivery_id)
        return SendResult.sent(None)

    def health(self) -> dict[str, Any]:
        if self.insecure:
            return {"ok": True, "authentication": f"OFF ({INSECURE_ENV}=1, local tests only)"}
        return {"ok": True, "authentication": "on", "app_type": self.credentials.app_type}
