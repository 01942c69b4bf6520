"""The wording of the relays' community: who's who, good practices, round tables.

Built in the reader's language by handlers and by the reminder job alike.
"""

from __future__ import annotations

from bot.clock import local
from bot.community import service
from bot.community.models import APPROVED, COMING, TO_EVERYONE, Meeting, Practice
from bot.config import AppConfig
from bot.delivery.models import PROMOTIONAL
from bot.delivery.outbox import Outgoing
from bot.i18n import Tr, format_day
from bot.members.models import Member
from bot.messages import (
    Actions,
    Button,
    ContextLine,
    Divider,
    Link,
    Message,
    People,
    Section,
    command_button,
)
from bot.notify import to_member

USEFUL_ACTION = "practice.useful"
APPROVE_ACTION = "practice.approve"
REJECT_ACTION = "practice.reject"
COMING_ACTION = "meeting.yes"
NOT_COMING_ACTION = "meeting.no"


def _department_name(config: AppConfig, department_id: str | None, tr: Tr) -> str | None:
    found = config.department(department_id)
    return (found.name.get(tr.lang) or found.id) if found else None


def who_is_who_message(
    found: service.WhoIsWho, member: Member, config: AppConfig, tr: Tr
) -> Message:
    """`relays`: each group of people with how to reach them, first contact first."""
    intro = {
        "department": tr(
            "Your department's relays are your first contact for the programme: a question, "
            "a worrying mention, an idea of a post."
        ),
        "hub": tr("Your business unit's hub runs the programme for your unit: turn to them first."),
        "central": tr("The central team runs the programme for everyone: turn to them first."),
    }[found.first]
    if config.department(member.department) is None:
        intro = tr("You are in no department yet: the central team is your contact.")
    blocks: list = [Section(title=tr("Who's who"), text=intro)]
    others_started = False
    for group in found.groups:
        people = [
            found.people[email].model_copy(update={"note": group.notes.get(email, "")})
            for email in group.emails
            if email in found.people
        ]
        department = _department_name(config, group.department, tr) or ""
        if group.key == "department":
            title = tr("Relays of {department}", department=department)
        elif group.key == "backups":
            title = tr("Backup relays of {department}", department=department)
        elif group.key == "hub":
            home = config.department(group.department)
            unit = next(
                (u for u in config.business_units if home and u.id == home.business_unit), None
            )
            title = tr("Hub of {unit}", unit=(unit.name.get(tr.lang) or unit.id) if unit else "")
        elif group.key == "central":
            title = tr("Central team (coordinators)")
        elif group.key == "crisis":
            title = "🚨 " + tr("Crisis cell — {crisis}", crisis=found.crisis_title or "")
        else:
            if not others_started:
                blocks.append(Divider())
                blocks.append(Section(text=tr("The other departments' relays:")))
                others_started = True
            title = tr("Relays of {department}", department=department)
        if group.key == found.first:
            title += " — " + tr("turn to them first")
        if people:
            blocks.append(People(title=title, people=people))
        elif group.key == "department":
            blocks.append(
                Section(
                    title=title, text=tr("Your department has no relay yet: ask the central team.")
                )
            )
    blocks.append(
        ContextLine(
            text=tr(
                "Write to them directly; the e-mail shows where the chat does not know them yet."
            )
        )
    )
    return Message(text=tr("Who's who"), blocks=blocks)


def practice_preview(practice: Practice, author: Member | None, config: AppConfig, tr: Tr) -> list:
    department = _department_name(config, practice.department, tr)
    title = (
        tr("Good practice from {department}", department=department)
        if department
        else tr("Good practice from the central team")
    )
    blocks: list = [
        Section(title=title, text=practice.text),
        Link(url=practice.link, label=tr("Open the link")),
    ]
    if author is not None:
        blocks.append(ContextLine(text=tr("Shared by {name}", name=author.name)))
    return blocks


def approval_request(
    practice: Practice, author: Member | None, config: AppConfig, tr: Tr
) -> Message:
    """To the central team: the practice, and Approve (for relays, for everyone) / Reject."""
    value = str(practice.id)
    return Message(
        text=tr("A good practice awaits your approval"),
        blocks=[
            Section(
                text=tr(
                    "{name} shares a good practice. Send it to the other relays, to everyone, "
                    "or reject it.",
                    name=author.name if author else tr("A relay"),
                )
            ),
            *practice_preview(practice, author, config, tr),
            Actions(
                buttons=[
                    Button(
                        label=tr("Approve for the relays"),
                        action_id=APPROVE_ACTION,
                        value=f"{value}:relays",
                        style="primary",
                    ),
                    Button(
                        label=tr("Approve for everyone"),
                        action_id=APPROVE_ACTION,
                        value=f"{value}:everyone",
                    ),
                    Button(
                        label=tr("Reject"), action_id=REJECT_ACTION, value=value, style="danger"
                    ),
                ]
            ),
        ],
    )


def practice_message(
    practice: Practice, author: Member | None, config: AppConfig, tr: Tr
) -> Message:
    """An approved practice, as it reaches relays (or everyone), with its "Useful" button."""
    blocks = practice_preview(practice, author, config, tr)
    blocks.append(
        Actions(
            buttons=[
                Button(label="👍 " + tr("Useful"), action_id=USEFUL_ACTION, value=str(practice.id))
            ]
        )
    )
    return Message(text=blocks[0].title or tr("A good practice"), blocks=blocks)


def decision_for_author(practice: Practice, count: int, tr: Tr) -> Message:
    if practice.status == APPROVED:
        text = (
            tr.plural(
                "Your good practice is approved and is being sent to {count} person.",
                "Your good practice is approved and is being sent to {count} people.",
                count,
                count=count,
            )
            if practice.audience == TO_EVERYONE
            else tr.plural(
                "Your good practice is approved and is being sent to {count} relay.",
                "Your good practice is approved and is being sent to {count} relays.",
                count,
                count=count,
            )
        )
        text += " " + tr("Type “practices” to see how many found it useful.")
    else:
        text = tr("Your good practice was not approved by the central team this time.")
    return Message(text=text, blocks=[Section(text=text), ContextLine(text=practice.text[:200])])


def meeting_blocks(meeting: Meeting, member: Member, tr: Tr) -> list:
    return [
        Section(
            title=meeting.title,
            text=service.when_for(meeting, member.time_zone, tr),
        ),
        Link(url=meeting.link, label=tr("Join the meeting")),
    ]


def answer_buttons(meeting: Meeting, tr: Tr) -> Actions:
    value = str(meeting.id)
    return Actions(
        buttons=[
            Button(label=tr("I'll come"), action_id=COMING_ACTION, value=value, style="primary"),
            Button(label=tr("I can't"), action_id=NOT_COMING_ACTION, value=value),
        ]
    )


def invitation(meeting: Meeting, member: Member, by: Member | None, tr: Tr) -> Message:
    intro = tr(
        "{name} invites the relays to a round table: share what works, ask what does not.",
        name=by.name if by else tr("The central team"),
    )
    return Message(
        text=tr("Relays' round table: {title}", title=meeting.title),
        blocks=[
            Section(text=intro),
            *meeting_blocks(meeting, member, tr),
            answer_buttons(meeting, tr),
        ],
    )


def reminder(
    meeting: Meeting, member: Member, answered: str | None, tr: Tr, tomorrow: bool
) -> Message:
    """Before the meeting: those coming are reminded, those silent asked again.
    ``tomorrow``: the meeting is the next day for the reader (else after a weekend)."""
    if tomorrow:
        intro = (
            tr("Tomorrow: the relays' round table.")
            if answered == COMING
            else tr("Tomorrow: the relays' round table. Will you come?")
        )
    else:
        day = format_day(local(meeting.starts_at, member.time_zone).date(), tr.lang, "full")
        intro = (
            tr("Coming up on {day}: the relays' round table.", day=day)
            if answered == COMING
            else tr("Coming up on {day}: the relays' round table. Will you come?", day=day)
        )
    blocks: list = [Section(text=intro), *meeting_blocks(meeting, member, tr)]
    if answered != COMING:
        blocks.append(answer_buttons(meeting, tr))
    return Message(text=tr("Reminder: {title}", title=meeting.title), blocks=blocks)


def status_message(found: service.Answers, zone: str, tr: Tr, attendance: bool) -> Message:
    meeting = found.meeting

    def names(members: list[Member]) -> str:
        return "\n".join(f"• {m.name}" for m in members) or tr("nobody")

    blocks: list = [
        Section(
            title=tr("{title} (meeting {id})", title=meeting.title, id=meeting.id),
            text=service.when_for(meeting, zone, tr),
        ),
        Section(title=tr("Coming ({count})", count=len(found.coming)), text=names(found.coming)),
        Section(
            title=tr("Can't come ({count})", count=len(found.not_coming)),
            text=names(found.not_coming),
        ),
        Section(
            title=tr("No answer yet ({count})", count=len(found.silent)), text=names(found.silent)
        ),
    ]
    if meeting.attendance_by:
        blocks.append(
            Section(
                title=tr("Came ({count})", count=len(found.attended)), text=names(found.attended)
            )
        )
    if attendance:
        blocks.append(
            Actions(
                buttons=[command_button(tr("Mark who came"), f"meeting attendance {meeting.id}")]
            )
        )
    return Message(text=tr("Answers to {title}", title=meeting.title), blocks=blocks)


def home_blocks(session, member: Member, content, config: AppConfig) -> list:  # type: ignore[no-untyped-def]
    """The member's home (Slack App Home, Teams welcome card): who to turn to first, and
    the crisis cell during a crisis; `relays` shows the whole who's who."""
    tr = Tr(member.language)
    found = service.who_is_who(session, member, config, content, others=False, home=True)
    blocks: list = []
    for group in found.groups:
        if group.key not in ("crisis", found.first):
            continue
        people = [
            found.people[email].model_copy(update={"note": group.notes.get(email, "")})
            for email in group.emails
            if email in found.people
        ]
        if not people:
            continue
        title = (
            "🚨 " + tr("Crisis cell — {crisis}", crisis=found.crisis_title or "")
            if group.key == "crisis"
            else tr("Your contacts in the programme")
        )
        blocks.append(People(title=title, people=people))
    if blocks:
        blocks.append(ContextLine(text=tr("Type “relays” to see the whole who's who.")))
    return blocks


def practice_deliveries(
    practice: Practice, author: Member | None, config: AppConfig, recipients: list[Member]
) -> list[Outgoing]:
    """The outbox rows of an approved practice for these recipients (a chunk of the fan-out):
    one per recipient, the message built once per language."""
    built: dict[str, Message] = {}
    items = []
    for member in recipients:
        message = built.get(member.language)
        if message is None:
            message = built[member.language] = practice_message(
                practice, author, config, Tr(member.language)
            )
        items.append(
            to_member(
                member,
                config,
                message,
                key=f"practice:{practice.id}",
                kind="practice",
                subject=f"practice:{practice.id}",
                purpose=PROMOTIONAL,
            )
        )
    return items
