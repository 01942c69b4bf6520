"""Charter messages and acknowledgement records."""

from __future__ import annotations

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


def full_message(charter: Charter, tr: Tr, accepted_at: datetime | None) -> Message:
    """The whole charter, with where the member stands and, if needed, the accept button."""
    blocks: list = [
        Section(title=charter.title, text=charter.summary or ""),
        ContextLine(
            text=tr(
                "Version {version}, in force since {date}",
                version=charter.version,
                date=format_day(charter.effective, tr.lang, "long"),
            )
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


def reminder_message(charter: Charter, tr: Tr, new_version: bool) -> Message:
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
            Actions(buttons=[command_button(tr("Read the charter"), "charter")]),
            accept_button(charter, tr),
        ],
    )
