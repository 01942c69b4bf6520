"""Charter messages and acknowledgement records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.charter.models import CharterAcknowledgement
from bot.content.library import ContentLibrary
from bot.content.schema import Charter
from bot.i18n import Tr, format_day
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
