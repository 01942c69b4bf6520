"""Inbound Teams activities, translated into the core's events.

- ``message``: typed text becomes a ``MessageEvent`` (the core runs a command
  when the first word is one: ``lesson``, ``report <url> …``), with the bot's
  ``<at>…</at>`` mention removed; a card click (``Action.Submit``, whose
  ``value`` carries ``relais_action``/``relais_value``) becomes an
  ``ActionEvent``.
- ``invoke`` ``adaptiveCard/action`` (``Action.Execute``): the same, answered
  with an invoke response.
- ``conversationUpdate`` / ``installationUpdate``: the member's conversation
  reference is kept, so lessons and alerts can later be sent proactively; an
  installation in the personal scope is answered with the welcome card (the
  member's home, which opens with the crisis banner during a crisis).

The idempotency key of every event is the activity id, scoped by its
conversation (Teams' ids are only unique within one conversation), so a
redelivered activity is handled once.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import uuid
from typing import TYPE_CHECKING, Any

from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.schema import Activity

from adapters.teams.cards import parse_submit
from bot.events import ActionEvent, InboundEvent, MessageEvent
from bot.i18n import Tr

if TYPE_CHECKING:
    from adapters.teams.platform import TeamsPlatform

log = logging.getLogger("relais.teams")

_AT = re.compile(r"<at\b[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"</?(?:p|div|span|br|b|i|u|strong|em|a|ul|ol|li)\b[^>]*>", re.IGNORECASE)


def event_key(activity: Activity) -> str:
    """A key unique to this activity: its id within its conversation."""
    conversation = activity.conversation.id if activity.conversation else ""
    scope = hashlib.sha256((conversation or "").encode("utf-8")).hexdigest()[:16]
    return f"{scope}:{activity.id or uuid.uuid4().hex}"[:120]


def _mentions(activity: Activity) -> list[dict[str, Any]]:
    found = []
    for entity in activity.entities or []:
        if (getattr(entity, "type", "") or "").lower() != "mention":
            continue
        props = dict(getattr(entity, "additional_properties", None) or {})
        mentioned = getattr(entity, "mentioned", None)  # a botbuilder Mention object
        if mentioned is not None and "mentioned" not in props:
            props["mentioned"] = {"id": getattr(mentioned, "id", None)}
        if getattr(entity, "text", None) and "text" not in props:
            props["text"] = entity.text
        found.append(props)
    return found


def message_text(activity: Activity) -> str:
    """What the member typed, without the bot's mention, as plain text."""
    text = activity.text or ""
    bot_id = activity.recipient.id if activity.recipient else None
    for mention in _mentions(activity):
        mentioned = mention.get("mentioned") or {}
        if bot_id and mentioned.get("id") == bot_id and mention.get("text"):
            text = text.replace(str(mention["text"]), " ")
    # Any other <at>Name</at> (another bot mention, a colleague) keeps just the name.
    text = _AT.sub(lambda match: match.group(1), text)
    if (activity.text_format or "").lower() == "xml" or _TAGS.search(text):
        text = html.unescape(_TAGS.sub(" ", text))
    return " ".join(text.split())


class RelaisActivityHandler(ActivityHandler):
    """Thin: identify the member, keep their reference, hand the event to the core."""

    def __init__(self, platform: TeamsPlatform) -> None:
        self.platform = platform

    async def on_turn(self, turn_context: TurnContext) -> None:
        self.platform.tune_turn(turn_context)
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        who = await self.platform.identify(turn_context)
        if who is None:
            return
        key = event_key(activity)
        event: InboundEvent
        submitted = parse_submit(activity.value)
        if submitted is not None:
            event = ActionEvent(who, key, action_id=submitted.action_id, value=submitted.value)
        elif activity.value is not None and not activity.text:
            log.info("ignored a card submission Relais did not make (activity %s)", activity.id)
            return
        else:
            event = MessageEvent(who, key, text=message_text(activity))
        await self.platform.dispatch(turn_context, event)

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        # Installed in a personal chat, or a member added to one: keep the reference.
        if self.platform.is_personal(turn_context.activity):
            await self.platform.identify(turn_context)

    async def on_installation_update(self, turn_context: TurnContext) -> None:
        action = (turn_context.activity.action or "").lower()
        if action.startswith("add") and self.platform.is_personal(turn_context.activity):
            who = await self.platform.identify(turn_context)
            if who is not None:  # the welcome card: the member's home (crisis banner first)
                await self.platform.welcome(who, event_key(turn_context.activity))

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        # Action.Execute (Universal Actions): the same as a click, answered with a short
        # text (botbuilder's AdaptiveCardInvokeResponse cannot carry a text value).
        who = await self.platform.identify(turn_context)
        submitted = parse_submit(activity.value)
        tr = Tr(self.platform.relais.config.languages.default)
        if who is None or submitted is None:
            return InvokeResponse(
                status=400,
                body={
                    "statusCode": 400,
                    "type": "application/vnd.microsoft.error",
                    "value": {"code": "BadRequest", "message": "not a Relais card action"},
                },
            )
        await self.platform.dispatch(
            turn_context,
            ActionEvent(
                who,
                event_key(activity),
                action_id=submitted.action_id,
                value=submitted.value,
            ),
        )
        return InvokeResponse(
            status=200,
            body={
                "statusCode": 200,
                "type": "application/vnd.microsoft.activity.message",
                "value": tr("Received."),
            },
        )
