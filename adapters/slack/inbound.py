"""What `POST /slack/events` accepts before Bolt sees a request.

The endpoint is reachable by anyone, so every request is checked in this
order, and refused quickly with a 4xx when it fails:

1. the body is read up to ``bot.web.MAX_BODY`` bytes (413 beyond);
2. the v0 signature and its timestamp are verified (401), before anything
   in the body is parsed;
3. the body must have the shape of a request Slack sends and Relais handles
   (400): a slash command, an Events API callback, or an interaction payload
   with the fields the listeners read.

Only then is it handed to Bolt. Raw bodies are never logged: Bolt's own log
lines that would carry one are cut by ``NoBodies``.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

# Interaction payloads (form field ``payload``) that carry the clicking user.
INTERACTIONS = {
    "block_actions",
    "message_action",
    "shortcut",
    "view_submission",
    "view_closed",
    "block_suggestion",
    "interactive_message",
    "dialog_submission",
}
# Events whose listeners need to know who did it.
EVENTS_WITH_USER = {"message", "app_home_opened"}


class Malformed(ValueError):
    """The body is not a request Slack would send (the reason is for the log, not the body)."""


def signature_ok(secret: str, body: bytes, timestamp: str | None, signature: str | None) -> bool:
    """Slack's v0 HMAC over ``v0:<timestamp>:<body>``, with the timestamp within 5 minutes."""
    if not timestamp or not signature or not timestamp.strip().isdigit():
        return False
    return SignatureVerifier(secret).is_valid(body, timestamp.strip(), signature)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def check(body: str, content_type: str | None) -> dict[str, Any]:
    """The parsed request as Bolt will parse it, if it is of a shape Relais handles."""
    kind = (content_type or "").split(";")[0].strip().lower() or None
    try:
        parsed = parse_body(body, kind)
    except (ValueError, TypeError) as exc:  # invalid JSON (also inside payload=)
        raise Malformed(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(parsed, dict) or not parsed:
        raise Malformed("not an object")
    if "ssl_check" in parsed:
        return parsed
    # Bolt's log line for a request no listener matches reads these as objects.
    if "view" in parsed and not isinstance(parsed["view"], dict):
        raise Malformed("view is not an object")
    for key in ("event", "message", "channel", "container", "user", "team"):
        if parsed.get(key) is not None and not isinstance(parsed[key], dict):
            raise Malformed(f"{key} is not an object")
    if "command" in parsed:
        if not (_is_text(parsed.get("command")) and _is_text(parsed.get("user_id"))):
            raise Malformed("slash command without command or user_id")
        return parsed
    kind_of = parsed.get("type")
    if kind_of is not None and not isinstance(kind_of, str):
        raise Malformed("type is not a string")
    if kind_of == "url_verification":
        if not _is_text(parsed.get("challenge")):
            raise Malformed("url_verification without challenge")
        return parsed
    if kind_of == "event_callback":
        event = parsed.get("event")
        if not isinstance(event, dict) or not _is_text(event.get("type")):
            raise Malformed("event_callback without an event")
        if event["type"] in EVENTS_WITH_USER and not (
            event.get("subtype") or event.get("bot_id") or _is_text(event.get("user"))
        ):
            raise Malformed("event without a user")
        if not isinstance(event.get("text", ""), str):
            raise Malformed("event text is not a string")
        return parsed
    if kind_of in INTERACTIONS:
        user = parsed.get("user")
        if not isinstance(user, dict) or not _is_text(user.get("id")):
            raise Malformed("interaction without a user")
        actions = parsed.get("actions", [])
        if not isinstance(actions, list) or not all(
            isinstance(action, dict)
            and isinstance(action.get("action_id", ""), str)
            and isinstance(action.get("value", ""), str)
            for action in actions
        ):
            raise Malformed("malformed actions")
        if kind_of == "block_actions" and not actions:
            raise Malformed("block_actions without actions")
        if kind_of == "view_submission":
            view = parsed.get("view")
            if (
                not isinstance(view, dict)
                or not _is_text(view.get("type"))
                or not isinstance(view.get("state", {}), dict)
            ):
                raise Malformed("view_submission without a view")
            if not isinstance(view.get("private_metadata", ""), str):
                raise Malformed("view private_metadata is not a string")
        return parsed
    if _is_text(kind_of):
        return parsed  # another Events API envelope (app_rate_limited…): Bolt answers it
    raise Malformed("no request type")


class NoBodies(logging.Filter):
    """Cut request bodies out of Bolt's log lines (they can be huge, or forge log lines)."""

    CUT = ("Invalid request signature detected", "Unhandled request")

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        for start in self.CUT:
            if message.startswith(start):
                record.msg = f"{start} (body not logged)"
                record.args = ()
        return True


def bolt_logger() -> logging.Logger:
    """The logger Bolt and all its middleware inherit their filters from."""
    logger = logging.getLogger("relais.slack.bolt")
    if not any(isinstance(f, NoBodies) for f in logger.filters):
        logger.addFilter(NoBodies())
    return logger
