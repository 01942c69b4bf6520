"""The export of a member's data (a JSON document) and the erasure of a person.

Erasure keeps the member's row as an anonymous tombstone (its id, department,
location, language and time zone), so every figure that counts them stays
right: participation events, rollups, charter acknowledgements and lesson
progress keep pointing to that id, which no longer leads to anyone. Everything
that says who they were (e-mail, name, platform ids, conversation references,
sign-in links, handled-event keys) is deleted or replaced, and their words
(reports, notes, decisions, unpublished posts) are replaced by ``[erased]`` in
every table, including the messages other members were sent that quote them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    String,
    Table,
    Text,
    TypeDecorator,
    cast,
    delete,
    or_,
    text,
    update,
)
from sqlmodel import Session, SQLModel, select

from bot.audit.models import AuditEntry
from bot.clock import utcnow
from bot.community.models import APPROVED, Practice
from bot.config import AppConfig
from bot.crisis.models import Crisis, CrisisStep
from bot.delivery.models import (
    CANCELLED,
    PENDING,
    Delivery,
    DeliveryBody,
    DeliveryPart,
    HandledEvent,
)
from bot.members import service as members
from bot.members.models import Address, Member
from bot.posts.models import SHAREABLE, Post, PostApproval, PostContent
from bot.reporting.models import DashboardToken
from bot.response.models import CaseStep, MentionReport
from bot.triage.models import TriageCorrection

ERASED = "[erased]"
# Shorter identifiers or words are not searched for elsewhere: "Jo" or "ok" would hit others.
MIN_IDENTIFIER = 6
MIN_WORDS = 8
# Columns that refer to a member without a foreign key (rollups and the audit log stand alone).
UNLINKED = {("reporting_active", "member_id"), ("audit_entry", "actor_id")}
# Never shown in an export: secrets' hashes and platform event keys say nothing about the person.
HIDDEN = {("dashboard_token", "token_hash"), ("inboundevent", "key")}
# Tables the erasure does not search: the content files' mirror (the files are the source; a
# person named in content is the content owners' to edit) and the member table itself
# (another member may share a name; the person's own row is rewritten directly).
NOT_SEARCHED = {"contentitem", "member"}


def tombstone_email(member_id: int) -> str:
    return f"erased-{member_id}@erased.invalid"


def tombstone_name(member_id: int) -> str:
    return f"erased member #{member_id}"


def member_columns() -> Iterator[tuple[Table, Column[Any]]]:
    """Every (table, column) that names a member by id, found in the metadata."""
    for table in SQLModel.metadata.sorted_tables:
        if table.name == "member":
            continue
        for column in table.columns:
            refers = any(fk.column.table.name == "member" for fk in column.foreign_keys)
            if refers or (table.name, column.name) in UNLINKED:
                yield table, column


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(table: Table, row: Any) -> dict[str, Any]:
    return {
        key: _plain(value) for key, value in row._mapping.items() if (table.name, key) not in HIDDEN
    }


def _texts(session: Session, keys: set[str]) -> dict[str, str]:
    """What each message body says, in words (attachments and buttons are left out of an export)."""
    found: dict[str, str] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):
        for key, payload in session.execute(
            select(DeliveryBody.hash, DeliveryBody.payload).where(
                DeliveryBody.hash.in_(ordered[start : start + 500])  # type: ignore[attr-defined]
            )
        ):
            found[key] = str(payload.get("text", "")) if isinstance(payload, dict) else ""
    return found


def export(session: Session, member: Member, config: AppConfig) -> dict[str, Any]:
    """Everything Relais holds that refers to this member, table by table, as plain JSON."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for table, column in member_columns():
        rows = session.execute(
            select(table).where(column == member.id).order_by(*table.primary_key.columns)
        ).all()
        if not rows:
            continue
        found = [_row(table, row) for row in rows]
        if table.name == "delivery":
            texts = _texts(session, {str(item["body_hash"]) for item in found})
            for item in found:
                item["message"] = texts.get(str(item["body_hash"]), "")
        key = table.name if table.name not in tables else f"{table.name}.{column.name}"
        tables.setdefault(key, []).extend(found)
    table = AuditEntry.__table__  # type: ignore[attr-defined]
    named = session.execute(
        select(table).where(table.c.target == member.email, table.c.actor_id.is_(None))
    ).all()
    if named:
        tables["audit_entry.target"] = [_row(table, row) for row in named]
    return {
        "programme": config.programme.name,
        "exported_at": utcnow().isoformat(),
        "member": {k: _plain(v) for k, v in member.model_dump().items()},
        "roles": sorted(members.roles(member, config)),
        "tables": tables,
    }


def as_json(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True, default=str)


@dataclass
class Erasure:
    """What an erasure changed: rows per table."""

    member_id: int
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, count: int) -> None:
        if count:
            self.rows[table] = self.rows.get(table, 0) + count


def identifiers(session: Session, member: Member) -> list[str]:
    """Strings that identify the person: e-mail, name, platform ids, conversation ids."""
    found = {member.email, member.name}
    for address in session.exec(select(Address).where(Address.member_id == member.id)).all():
        found |= {address.user_id or "", address.channel_id or ""}
        reference = address.reference or {}
        user = reference.get("user") if isinstance(reference.get("user"), dict) else {}
        conversation = (
            reference.get("conversation") if isinstance(reference.get("conversation"), dict) else {}
        )
        for value in (
            user.get("id"),
            user.get("aadObjectId"),
            user.get("name"),
            conversation.get("id"),
        ):
            if isinstance(value, str):
                found.add(value)
    return sorted(
        (value for value in found if len(value.strip()) >= MIN_IDENTIFIER),
        key=len,
        reverse=True,
    )


def words(session: Session, member: Member) -> list[str]:
    """Texts the person wrote that Relais keeps: reports, notes, decisions, unpublished posts."""
    found: set[str] = set()
    found |= set(
        session.exec(select(MentionReport.text).where(MentionReport.reporter_id == member.id))
    )
    found |= set(session.exec(select(PostApproval.note).where(PostApproval.member_id == member.id)))
    found |= set(session.exec(select(Crisis.note).where(Crisis.declared_by_id == member.id)))
    # Good practices they shared that never went out (waiting or rejected).
    found |= set(
        session.exec(
            select(Practice.text).where(
                Practice.author_id == member.id, Practice.status != APPROVED
            )
        )
    )
    found |= set(session.exec(select(Crisis.summary).where(Crisis.ended_by_id == member.id)))
    found |= set(
        session.exec(
            select(CaseStep.detail).where(CaseStep.member_id == member.id, CaseStep.kind == "noted")
        )
    )
    for content in unpublished_posts(session, member):
        found |= {content.title, content.body}
        for variants in content.networks.values():
            found |= set(variants)
    return sorted(
        (value.strip() for value in found if value and len(value.strip()) >= MIN_WORDS),
        key=len,
        reverse=True,
    )


def unpublished_posts(session: Session, member: Member) -> list[PostContent]:
    """Their posts that never became the company's: drafts, submitted, rejected."""
    return list(
        session.exec(
            select(PostContent)
            .join(Post, Post.id == PostContent.post_id)  # type: ignore[arg-type]
            .where(
                Post.author_id == member.id,
                Post.status.not_in([*SHAREABLE, "expired", "withdrawn"]),  # type: ignore[attr-defined]
            )
        ).all()
    )


def _escape_like(needle: str) -> str:
    return needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _forms(needle: str) -> set[str]:
    """The needle as written and as JSON stores it (non-ASCII and quotes escaped)."""
    return {needle, json.dumps(needle)[1:-1], json.dumps(needle, ensure_ascii=False)[1:-1]}


def scrub(value: Any, needles: Iterable[str]) -> Any:
    """``value`` (text or JSON) with every needle replaced by ``[erased]``."""
    if isinstance(value, str):
        for needle in needles:
            if needle in value:
                value = value.replace(needle, ERASED)
        return value
    if isinstance(value, list):
        return [scrub(item, needles) for item in value]
    if isinstance(value, dict):
        return {key: scrub(item, needles) for key, item in value.items()}
    return value


def _kind(column: Column[Any]) -> Any:
    """The column's type under any decorator (sqlmodel's AutoString is a decorated String)."""
    kind = column.type
    return kind.impl if isinstance(kind, TypeDecorator) else kind


def _text_columns(table: Table) -> list[Column[Any]]:
    return [
        column
        for column in table.columns
        if isinstance(_kind(column), String | Text | JSON)
        and not column.foreign_keys
        and not column.primary_key
    ]


def search_and_scrub(session: Session, needles: list[str], erasure: Erasure) -> None:
    """Replace the needles in every text and JSON column of every table (but ``NOT_SEARCHED``)."""
    if not needles:
        return
    patterns = sorted({form for needle in needles for form in _forms(needle)})
    for table in SQLModel.metadata.sorted_tables:
        if table.name in NOT_SEARCHED:
            continue
        columns = _text_columns(table)
        if not columns:
            continue
        keys = list(table.primary_key.columns)
        if table.name == "deliverybody":
            _scrub_bodies(session, table, columns, patterns, needles, erasure)
            continue
        # One pass over the table: any of its text columns holding any of the needles.
        condition = or_(
            *(
                _searched(column).like(f"%{_escape_like(p)}%", escape="\\")
                for column in columns
                for p in patterns
            )
        )
        for row in session.execute(select(*keys, *columns).where(condition)).all():
            key_values, found = row[: len(keys)], row[len(keys) :]
            changed = {
                column.name: cleaned
                for column, value in zip(columns, found, strict=True)
                if (cleaned := scrub(value, needles)) != value
            }
            if changed:
                session.execute(
                    update(table)
                    .where(*(k == v for k, v in zip(keys, key_values, strict=True)))
                    .values(changed)
                )
                erasure.add(table.name, 1)


def _searched(column: Column[Any]) -> Any:
    """A column as text for LIKE (JSON is searched in its stored form)."""
    return cast(column, Text) if isinstance(_kind(column), JSON) else column


def _scrub_bodies(
    session: Session,
    table: Table,
    columns: list[Column[Any]],
    patterns: list[str],
    needles: list[str],
    erasure: Erasure,
) -> None:
    """Message bodies are keyed by their content's hash: a scrubbed body is a new body."""
    payload = table.c.payload
    condition = or_(
        *(cast(payload, Text).like(f"%{_escape_like(p)}%", escape="\\") for p in patterns)
    )
    for digest, value in session.execute(select(table.c.hash, payload).where(condition)).all():
        cleaned = scrub(value, needles)
        if cleaned == value:
            continue
        new = _store_body(session, cleaned)
        deliveries = SQLModel.metadata.tables["delivery"]
        session.execute(
            update(deliveries).where(deliveries.c.body_hash == digest).values(body_hash=new)
        )
        session.execute(delete(table).where(table.c.hash == digest))
        erasure.add(table.name, 1)


def erased_message() -> dict[str, Any]:
    return {"text": ERASED, "blocks": []}


def _store_body(session: Session, payload: dict[str, Any]) -> str:
    """Keep a message body (once, by its hash) and return its key."""
    from bot.delivery import outbox

    key = outbox.body_hash(payload)
    outbox._store_bodies(session, {key: payload}, utcnow())
    return key


def _replace_payloads(session: Session, member_id: int) -> int:
    """Every message the person was sent now says ``[erased]`` (its row stays for the counts)."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.member_id == member_id)  # type: ignore[arg-type]
        .values(
            body_hash=_store_body(session, erased_message()),
            platform_message_id=None,
            platform_channel_id=None,
            error=None,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def erase(session: Session, member: Member, now: datetime | None = None) -> Erasure:
    """Forget the person in every table, in the caller's transaction; figures stay right."""
    now = now or utcnow()
    member_id = member.id or 0
    erasure = Erasure(member_id)
    if session.get_bind().dialect.name == "postgresql":
        # The audit log's trigger lets this transaction rewrite who a line names.
        session.execute(text("SET LOCAL relais.erasure = 'on'"))
    needles = sorted(
        set(identifiers(session, member)) | set(words(session, member)), key=len, reverse=True
    )

    # Their own rows: what reaches or identifies them goes, what counts them stays.
    mine = select(Delivery.id).where(Delivery.member_id == member_id)  # type: ignore[call-overload]
    erasure.add(
        "deliverypart",
        session.execute(delete(DeliveryPart).where(DeliveryPart.delivery_id.in_(mine))).rowcount,  # type: ignore[attr-defined]
    )
    erasure.add(
        "delivery",
        session.execute(
            update(Delivery)
            .where(Delivery.member_id == member_id, Delivery.status == PENDING)  # type: ignore[arg-type]
            .values(status=CANCELLED)
        ).rowcount,  # type: ignore[attr-defined]
    )
    _replace_payloads(session, member_id)
    for model, column in (
        (Address, Address.member_id),
        (HandledEvent, HandledEvent.member_id),
        (DashboardToken, DashboardToken.member_id),
    ):
        erasure.add(
            model.__tablename__,  # type: ignore[arg-type]
            session.execute(delete(model).where(column == member_id)).rowcount,  # type: ignore[attr-defined]
        )
    if needles:
        corrections = [
            TriageCorrection.text.like(f"%{_escape_like(n)}%", escape="\\")  # type: ignore[attr-defined]
            for n in needles
        ]
        # A classifier example made of their words is dropped, not learnt as "[erased]".
        erasure.add(
            "triagecorrection",
            session.execute(delete(TriageCorrection).where(or_(*corrections))).rowcount,  # type: ignore[attr-defined]
        )
    label = tombstone_name(member_id)
    session.execute(
        update(PostApproval)
        .where(PostApproval.member_id == member_id)  # type: ignore[arg-type]
        .values(email=tombstone_email(member_id), note="")
    )
    session.execute(
        update(CrisisStep)
        .where(or_(CrisisStep.member_id == member_id, CrisisStep.actor == member.email))  # type: ignore[arg-type]
        .values(actor=label)
    )
    session.execute(
        update(AuditEntry)
        .where(AuditEntry.actor_id == member_id)  # type: ignore[arg-type]
        .values(actor=label)
    )
    session.execute(
        update(AuditEntry)
        .where(AuditEntry.target == member.email)  # type: ignore[arg-type]
        .values(target=label)
    )
    search_and_scrub(session, needles, erasure)

    member.email = tombstone_email(member_id)
    member.name = label
    member.roles = []
    member.preferred_platform = None
    member.left_at = member.left_at or now
    member.updated_at = now
    session.add(member)
    session.flush()
    return erasure
