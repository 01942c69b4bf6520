"""Writing and reading the audit log.

``record`` adds a line to the caller's transaction (so it commits with the
action it records); ``in_context`` is the same for a chat handler, in one
line. Reading: the latest lines (chat, dashboard) and every line since a
date (``relais audit export``), oldest first.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from bot.audit.models import AuditEntry
from bot.clock import utcnow
from bot.i18n import N_

OPERATOR = "operator (CLI)"
RELAIS = "Relais"
CLI = "cli"

# What a line can say, in the programme's words (shown translated in chat and on the page).
ACTIONS: dict[str, str] = {
    "campaign.started": N_("started a campaign"),
    "campaign.paused": N_("paused a campaign"),
    "campaign.resumed": N_("resumed a campaign"),
    "campaign.cancelled": N_("cancelled a campaign"),
    "post.approved": N_("approved a post"),
    "post.changes_requested": N_("asked for changes to a post"),
    "post.rejected": N_("rejected a post"),
    "post.withdrawn": N_("withdrew a post everywhere"),
    "crisis.declared": N_("declared a crisis"),
    "crisis.ended": N_("ended a crisis"),
    "crisis.exported": N_("exported a crisis timeline"),
    "case.reassigned": N_("reassigned a case"),
    "practice.approved": N_("approved a good practice"),
    "practice.rejected": N_("rejected a good practice"),
    "meeting.announced": N_("announced a relays' round table"),
    "member.roles_changed": N_("changed a member's roles"),
    "member.exported": N_("exported a member's personal data"),
    "member.erased": N_("erased a member's personal data"),
    "audit.exported": N_("exported the audit log"),
    "config.loaded": N_("started Relais with a changed app.yaml"),
    "content.reloaded": N_("reloaded changed content"),
}

MAX_DETAILS = 4000  # characters of JSON kept per line: a line records, it does not archive


def _json_safe(details: dict[str, Any]) -> dict[str, Any]:
    """Details as plain JSON (dates and ids as text), cut if a caller passed something huge."""
    text = json.dumps(details, default=str, ensure_ascii=False, sort_keys=True)
    if len(text) > MAX_DETAILS:
        return {"truncated": text[:MAX_DETAILS]}
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def record(
    session: Session,
    actor: Any,
    action: str,
    target: object = "",
    details: dict[str, Any] | None = None,
    platform: str = CLI,
) -> AuditEntry:
    """Add one line to the caller's transaction.

    ``actor``: the member who acted, ``None`` for the operator at the command
    line, or a string (``RELAIS`` for scheduled work).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to bot.audit.service.ACTIONS")
    if actor is None:
        actor_id, who = None, OPERATOR
    elif isinstance(actor, str):
        actor_id, who = None, actor
    else:
        actor_id, who = actor.id, actor.email
    entry = AuditEntry(
        at=utcnow(),
        actor_id=actor_id,
        actor=who[:320],
        action=action,
        target=str(target)[:300],
        details=_json_safe(details or {}),
        platform=(platform or CLI)[:16],
    )
    session.add(entry)
    return entry


def in_context(ctx: Any, action: str, target: object = "", **details: Any) -> AuditEntry:
    """``record`` for a chat handler: the member, the event's platform, the open transaction."""
    return record(ctx.session, ctx.member, action, target, details, ctx.event.who.platform)


def latest(session: Session, count: int) -> list[AuditEntry]:
    """The ``count`` latest lines, newest first."""
    return list(
        session.exec(
            select(AuditEntry).order_by(AuditEntry.id.desc()).limit(count)  # type: ignore[union-attr]
        ).all()
    )


def since(session: Session, start: datetime | None, batch: int = 1000) -> Iterator[AuditEntry]:
    """Every line since ``start`` (all when None), oldest first, read in batches."""
    last = 0
    while True:
        query = select(AuditEntry).where(AuditEntry.id > last)  # type: ignore[operator]
        if start is not None:
            query = query.where(AuditEntry.at >= start)  # type: ignore[operator]
        rows = session.exec(query.order_by(AuditEntry.id).limit(batch)).all()  # type: ignore[arg-type]
        if not rows:
            return
        yield from rows
        last = rows[-1].id or 0


COLUMNS = ("id", "at", "actor", "actor_id", "action", "target", "platform", "details")


def as_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "actor_id": entry.actor_id,
        "action": entry.action,
        "target": entry.target,
        "platform": entry.platform,
        "details": entry.details,
    }


def csv_line(entry: AuditEntry) -> str:
    """One CSV line; a cell starting with = + - @ is prefixed so a spreadsheet shows, not runs, it."""
    out = io.StringIO()
    row = as_row(entry)
    row["details"] = json.dumps(entry.details, ensure_ascii=False, sort_keys=True)
    csv.writer(out, lineterminator="\n").writerow([_inert(row[column]) for column in COLUMNS])
    return out.getvalue()


def csv_header() -> str:
    return ",".join(COLUMNS) + "\n"


def _inert(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def jsonl_line(entry: AuditEntry) -> str:
    return json.dumps(as_row(entry), ensure_ascii=False, sort_keys=True) + "\n"


def content_synced(session: Session, counts: dict[str, int]) -> None:
    """A content sync that changed something (the first replica to see new files records it)."""
    if any(counts.values()):
        record(session, RELAIS, "content.reloaded", "content", counts, "relais")


def config_loaded(session: Session, config_file: Any) -> None:
    """Relais started with an app.yaml that differs from the last one recorded."""
    from pathlib import Path

    try:
        digest = hashlib.sha256(Path(config_file).read_bytes()).hexdigest()
    except OSError:
        return
    last = session.exec(
        select(AuditEntry)
        .where(AuditEntry.action == "config.loaded")
        .order_by(AuditEntry.id.desc())  # type: ignore[union-attr]
        .limit(1)
    ).first()
    if last is None or last.details.get("sha256") != digest:
        record(
            session, RELAIS, "config.loaded", Path(config_file).name, {"sha256": digest}, "relais"
        )
