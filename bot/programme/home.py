"""A member's home: where they stand, what the charter says, what there is to share.

Slack shows it as the App Home tab; other platforms may show it as a welcome card.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from bot.charter import service as charter_service
from bot.clock import local, utcnow
from bot.community.messages import home_blocks as contacts
from bot.config import AppConfig
from bot.content.library import ContentLibrary
from bot.crisis import service as crisis_service
from bot.i18n import Tr, format_day
from bot.members.models import Member
from bot.messages import Actions, ContextLine, Divider, Message, Section, command_button
from bot.posts import service as posts_service
from bot.training import service as training


def home_message(
    session: Session,
    member: Member,
    content: ContentLibrary,
    config: AppConfig,
    today: date | None = None,
) -> Message:
    tr = Tr(member.language)
    today = today or local(utcnow(), member.time_zone).date()  # expiry is the reader's date
    # A crisis comes first: its banner, the statement and "I have read it" if not yet done.
    blocks: list = crisis_service.banner(session, member, content)
    blocks.append(
        Section(
            title=tr("Hello {name}!", name=member.name.split(" ")[0]),
            text=tr("Welcome to {programme}.", programme=config.programme.name),
        )
    )
    if not member.opted_in:
        blocks.append(Section(text=tr("You have left the programme. Type “optin” to come back.")))
    views = {view.lesson_id: view for view in training.progress_of(session, member.id or 0)}
    lines = []
    for track_id in training.tracks_for(member, config):
        track = next(t for t in config.training.tracks if t.id == track_id)
        lessons = content.track(track_id)
        done = sum(1 for lid in lessons if views.get(lid) and views[lid].correct)
        name = track.name.get(tr.lang) or track.id
        lines.append(
            tr.plural(
                "*{track}*: {done} lesson answered correctly out of {total}",
                "*{track}*: {done} lessons answered correctly out of {total}",
                done,
                track=name,
                done=done,
                total=len(lessons),
            )
        )
    blocks.append(Section(title=tr("Your training"), text="\n".join(lines) or tr("No track yet.")))
    charter = charter_service.current(content, member.language)
    accepted = charter is None
    if charter is not None:
        ack = charter_service.acknowledgement(session, member.id or 0, charter.version)
        accepted = ack is not None
        status = (
            tr(
                "You accepted it on {date}.",
                date=format_day(ack.acknowledged_at.date(), tr.lang, "long"),
            )
            if ack
            else tr("You have not accepted this version yet.")
        )
        blocks.append(
            Section(
                title=tr("Charter"),
                text=tr(
                    "{title}, version {version}, in force since {date}.",
                    title=charter.title,
                    version=charter.version,
                    date=format_day(charter.effective, tr.lang, "long"),
                )
                + " "
                + status,
            )
        )
        if not accepted:
            blocks.append(charter_service.accept_button(charter, tr))
    posts = posts_service.shareable_for(session, member, config, today)
    if posts and accepted:
        default = config.languages.default
        titles = "\n".join(
            f"• {live.content(member.language, default).title}" for live in posts[:3]
        )
        blocks.append(Section(title=tr("To share now ({count})", count=len(posts)), text=titles))
    blocks += contacts(session, member, content, config)  # who's who: who to turn to first
    blocks.append(Divider())
    blocks.append(
        Actions(
            buttons=[
                command_button(tr("Next lesson"), "lesson", style="primary"),
                command_button(tr("Charter"), "charter"),
                command_button(tr("Share"), "share"),
                command_button(tr("My progress"), "progress"),
            ]
        )
    )
    blocks.append(ContextLine(text=tr("Type “help” to see everything I can do.")))
    return Message(
        text=tr("Welcome to {programme}.", programme=config.programme.name), blocks=blocks
    )
