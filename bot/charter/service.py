"""Charter messages and acknowledgement records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func
from sqlmodel import Session, select

from bot.charter.models import CharterAcknowledgement, CharterReminderRequest
from bot.config import AppConfig
from bot.content.library import ContentLibrary
from bot.content.schema import Charter
from bot.delivery.models import PROMOTIONAL
from bot.i18n import Tr, format_day
from bot.members.models import Member
from bot.messages import Actions, Button, ContextLine, Message, Section, command_button

ACCEPT_ACTION = "charter.accept"


def current(content: ContentLibrary, lang: str) -> Charter | None:
    found = content.current_charter(lang)
    return found[1] if found else None


def acknowledgement(
    session: Session, member_id: int, version: int
) -> CharterAcknowledgement | None:
    return session.exec(
        select(CharterAcknowledgement).where(
            CharterAcknowledgement.member_id == member_id, CharterAcknowledgement.version == version
        )
    ).first()


def has_accepted_current(
    session: Session, member_id: int, content: ContentLibrary, lang: str
) -> bool:
    charter = current(content, lang)
    return charter is None or acknowledgement(session, member_id, charter.version) is not None


def accept_button(charter: Charter, tr: Tr) -> Actions:
    return Actions(
        buttons=[
            Button(
                label=tr("I have read and accept the charter"),
                action_id=ACCEPT_ACTION,
                value=str(charter.version),
                style="primary",
            )
        ]
    )


def full_message(
    charter: Charter, tr: Tr, accepted_at: datetime | None, signed: str | None = None
) -> Message:
    """The whole charter, with where the member stands and, if needed, the accept button.

    ``signed``: who signed this version off and when (see bot/charter/signoff.py).
    """
    blocks: list = [
        Section(title=charter.title, text=charter.summary or ""),
        ContextLine(
            text=tr(
                "Version {version}, in force since {date}",
                version=charter.version,
                date=format_day(charter.effective, tr.lang, "long"),
            )
            + (f" · {signed}" if signed else "")
        ),
    ]
    blocks += [Section(title=section.title, text=section.text) for section in charter.sections]
    if accepted_at is None:
        blocks.append(accept_button(charter, tr))
    else:
        blocks.append(
            ContextLine(
                text=tr(
                    "You accepted this version on {date}.",
                    date=format_day(accepted_at.date(), tr.lang, "long"),
                )
            )
        )
    return Message(text=charter.title, blocks=blocks)


@dataclass(frozen=True)
class Changes:
    """Sections of a charter version added, removed or modified since the previous version."""

    added: list[str]
    removed: list[str]
    modified: list[str]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.modified)


def previous(content: ContentLibrary, charter: Charter, lang: str) -> Charter | None:
    """The version before ``charter`` (the highest lower published version), if any."""
    gate = content.charter_published
    older = [
        found
        for cid in content.charters
        if (found := content._pick(content.charters, cid, lang)).version < charter.version
        and (gate is None or found.version in gate)
    ]
    return max(older, key=lambda c: c.version) if older else None


def changes(old: Charter, new: Charter) -> Changes:
    """Sections matched by title: new titles were added, missing ones removed, others compared."""
    before = {section.title: section.text.strip() for section in old.sections}
    after = {section.title: section.text.strip() for section in new.sections}
    return Changes(
        added=[title for title in after if title not in before],
        removed=[title for title in before if title not in after],
        modified=[title for title in after if title in before and before[title] != after[title]],
    )


def what_changed(content: ContentLibrary, charter: Charter, lang: str) -> Changes | None:
    old = previous(content, charter, lang)
    return changes(old, charter) if old is not None else None


def changes_text(found: Changes, tr: Tr) -> str:
    lines = [tr("What changed:")]
    lines += [tr("• Added: {title}", title=title) for title in found.added]
    lines += [tr("• Removed: {title}", title=title) for title in found.removed]
    lines += [tr("• Modified: {title}", title=title) for title in found.modified]
    return "\n".join(lines)


def reminder_message(
    charter: Charter, tr: Tr, new_version: bool, what_changed: Changes | None = None
) -> Message:
    intro = (
        tr(
            "The charter has a new version ({version}): please read it and accept it.",
            version=charter.version,
        )
        if new_version
        else tr("You have not accepted the programme's charter yet: it takes two minutes.")
    )
    return Message(
        text=intro,
        blocks=[
            Section(
                title=charter.title,
                text=intro + ("\n\n" + charter.summary if charter.summary else ""),
            ),
            *(
                [Section(text=changes_text(what_changed, tr))]
                if new_version and what_changed
                else []
            ),
            Actions(buttons=[command_button(tr("Read the charter"), "charter")]),
            accept_button(charter, tr),
        ],
    )


# --- "remind now" ------------------------------------------------------------------------

# A coordinator's "remind now" is queued by the `charter_remind_now` job, this many members
# a transaction (the chat request only stores it and answers).
REMIND_CHUNK = 2000


def _in_reach(departments: list[str] | None) -> list[Any]:
    """Opted-in members still here, of these departments (None: the whole programme)."""
    found = [Member.opted_in.is_(True), Member.left_at.is_(None)]  # type: ignore[attr-defined,union-attr]
    if departments is not None:
        found.append(Member.department.in_(departments))  # type: ignore[union-attr]
    return found


def count_not_accepted(
    session: Session, content: ContentLibrary, departments: list[str] | None
) -> int:
    """How many in reach have not accepted the current version in their language: one count
    per language, not a walk over the members (what the chat request answers at once)."""
    reach = _in_reach(departments)
    total = 0
    for lang in session.execute(select(Member.language).distinct().where(*reach)).scalars():
        charter = current(content, lang)
        if charter is None:
            continue
        accepted = exists().where(
            CharterAcknowledgement.member_id == Member.id,
            CharterAcknowledgement.version == charter.version,
        )
        total += int(
            session.execute(
                select(func.count())
                .select_from(Member)
                .where(*reach, Member.language == lang, ~accepted)
            ).scalar_one()
        )
    return total


def ask_reminders(
    session: Session, asked_by: int | None, departments: list[str] | None
) -> CharterReminderRequest:
    """Store a "remind now" for the `charter_remind_now` job."""
    request = CharterReminderRequest(asked_by=asked_by, departments=departments)
    session.add(request)
    session.flush()
    return request


def pending_reminder_requests(session: Session) -> list[int]:
    return list(
        session.execute(
            select(CharterReminderRequest.id)
            .where(CharterReminderRequest.queued_at.is_(None))  # type: ignore[union-attr]
            .order_by(CharterReminderRequest.id)  # type: ignore[arg-type]
        ).scalars()
    )


def queue_reminder_chunk(
    session: Session,
    config: AppConfig,
    content: ContentLibrary,
    request: CharterReminderRequest,
    now: datetime,
    limit: int | None = None,
) -> int:
    """Queue the reminders of the next members in reach who have not accepted the current
    version, and move the request's mark; return how many members were read (0: all done)."""
    from bot.delivery.outbox import enqueue_many
    from bot.notify import to_member

    limit = limit or REMIND_CHUNK
    if request.queued_at is not None:
        return 0
    batch = list(
        session.exec(
            select(Member)
            .where(*_in_reach(request.departments), Member.id > request.queued_after)  # type: ignore[operator]
            .order_by(Member.id)  # type: ignore[arg-type]
            .limit(limit)
        ).all()
    )
    if batch:
        # Two queries a chunk, not one per member: who is there, and what they accepted.
        accepted: dict[int, set[int]] = {}
        for member_id, version in session.execute(
            select(CharterAcknowledgement.member_id, CharterAcknowledgement.version).where(
                CharterAcknowledgement.member_id.in_([m.id for m in batch])  # type: ignore[attr-defined]
            )
        ):
            accepted.setdefault(member_id, set()).add(version)
        messages: dict[tuple[str, bool], Message] = {}  # one per language and case
        outgoing = []
        for member in batch:
            charter = current(content, member.language)
            versions = accepted.get(member.id or 0, set())
            if charter is None or charter.version in versions:
                continue
            wording = (member.language, bool(versions))
            message = messages.get(wording)
            if message is None:
                message = messages[wording] = reminder_message(
                    charter,
                    Tr(member.language),
                    new_version=bool(versions),
                    what_changed=what_changed(content, charter, member.language),
                )
            outgoing.append(
                to_member(
                    member,
                    config,
                    message,
                    key=f"charter-remind:v{charter.version}:{request.id}",
                    kind="charter_reminder",
                    subject=f"v{charter.version}",
                    purpose=PROMOTIONAL,
                )
            )
        request.recipients += len(enqueue_many(session, outgoing, now))
        request.queued_after = batch[-1].id or 0
    if len(batch) < limit:
        request.queued_at = now
    session.add(request)
    return len(batch)


def send_reminders(
    engine: Any,
    config: AppConfig,
    content: ContentLibrary,
    request_id: int,
    now: datetime,
    chunks: int | None = None,
) -> int:
    """Queue a "remind now" chunk by chunk (``bot.jobs.chunk_by_chunk``); return how many."""
    from bot.jobs import chunk_by_chunk

    return chunk_by_chunk(
        engine,
        CharterReminderRequest,
        request_id,
        lambda session, request: queue_reminder_chunk(session, config, content, request, now),
        chunks,
    )
