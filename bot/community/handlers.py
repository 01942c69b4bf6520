"""Relays' community in chat: `relays`, `practice`, `practices`, `meeting`, and their buttons.

Who may share, approve and announce is the permission model's
(``practice.share``, ``practice.approve``, ``meeting.announce``); every member
may see their own relays (``programme.use``), relays and the central team see
every department's (``relays.directory``).

Purposes: an approved good practice is *promotional* (like a lesson: programme
content, held while a crisis pauses promotion and sent when it ends); the
approval request, the author's answer, a round table's invitation and reminder
are *operational* (workflow and a date in people's calendars: late is useless).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from bot import permissions
from bot.audit import service as audit
from bot.clock import as_utc, utcnow
from bot.community import messages, service
from bot.community.models import APPROVED, COMING, NOT_COMING, REJECTED, TO_EVERYONE
from bot.delivery.models import OPERATIONAL
from bot.events import ActionEvent, record_id
from bot.i18n import N_, Tr
from bot.members.models import Member
from bot.messages import Form, FormField, Message, Option, Section
from bot.notify import to_member
from bot.permissions import Target
from bot.registry import Context, Registry, UserError, as_user_error

PRACTICE_FORM = "practice.form"
MEETING_FORM = "meeting.form"
ATTENDANCE_FORM = "meeting.attendance"


def problem(tr: Tr, error: service.CommunityError) -> str:
    """A CommunityError in the reader's words."""
    p = error.params
    texts = {
        "text_short": lambda: tr(
            "Say a little more: a good practice takes at least {minimum} characters.", **p
        ),
        "text_long": lambda: tr(
            "A good practice is short: at most {maximum} characters (yours has {length}).", **p
        ),
        "bad_link": lambda: tr(
            "“{link}” is not a web link: it should start with https:// (for example "
            "https://intranet.example.com/tip).",
            **p,
        ),
        "unknown_practice": lambda: tr("There is no good practice {id} to act on.", **p),
        "decided": lambda: tr("This good practice was already decided on."),
        "own_practice": lambda: tr(
            "This is your own good practice: the others will say if it helps."
        ),
        "bad_date": lambda: tr("“{value}” is not a date: write it as 2026-12-01.", **p),
        "bad_time": lambda: tr("“{value}” is not a time: write it as 17:30.", **p),
        "bad_zone": lambda: tr("“{value}” is not a time zone: write it as Europe/Paris.", **p),
        "no_title": lambda: tr("Give the meeting a title."),
        "title_long": lambda: tr("A meeting's title is at most {maximum} characters.", **p),
        "in_the_past": lambda: tr("This date and time are already past: choose a time to come."),
        "unknown_meeting": lambda: tr("There is no meeting {id}.", **p),
        "no_meeting": lambda: tr(
            "No round table was announced yet: type “meeting” to announce one."
        ),
        "not_invited": lambda: tr("You are not invited to this meeting."),
        "started": lambda: tr("This meeting has started: answers are closed."),
        "not_started": lambda: tr("This meeting has not started yet: mark who came once it has."),
    }
    found = texts.get(error.key)
    return found() if found else tr("This cannot be done.")


def _refused(tr: Tr) -> AbstractContextManager[None]:
    """A CommunityError raised inside, as the reply in the reader's words."""
    return as_user_error(service.CommunityError, say=lambda error: problem(tr, error))


def _correct(ctx: Context, heading: str, error: service.CommunityError, form: Form) -> None:
    """A form's answers refused: what is wrong, and the form again, filled in, to correct."""
    ctx.reply(
        Message(text=heading, blocks=[Section(title=heading, text=problem(ctx.tr, error)), form])
    )


def _fields(ctx: Context) -> dict[str, str] | None:
    return ctx.event.fields if isinstance(ctx.event, ActionEvent) else None


# --- who's who -----------------------------------------------------------------------------


def relays_command(ctx: Context) -> None:
    found = service.who_is_who(
        ctx.session,
        ctx.member,
        ctx.config,
        ctx.content,
        others=ctx.can(permissions.DIRECTORY),
    )
    ctx.reply(messages.who_is_who_message(found, ctx.member, ctx.config, ctx.tr))


# --- good practices ------------------------------------------------------------------------


def practice_form(tr: Tr, values: dict[str, str] | None = None) -> Form:
    values = values or {}
    return Form(
        title=tr("Share a good practice"),
        action_id=PRACTICE_FORM,
        submit_label=tr("Send for approval"),
        fields=[
            FormField(
                name="text",
                label=tr("What works, in a few lines"),
                kind="multiline",
                required=True,
                max_length=service.MAX_PRACTICE,
                value=values.get("text", ""),
            ),
            FormField(
                name="link",
                label=tr("A link (an example, a post, a page)"),
                required=True,
                hint="https://…",
                value=values.get("link", ""),
            ),
        ],
    )


def _share(ctx: Context, text: str, link: str) -> None:
    tr = ctx.tr
    ctx.require(
        permissions.PRACTICE_SHARE, Target(member_id=None, department=ctx.member.department)
    )
    text, link = service.read_practice(text, link)
    practice = service.share_practice(ctx.session, ctx.member, text, link, ctx.event.who.platform)
    approvers = service.practice_approvers(ctx.session, ctx.config, ctx.relais.permissions)
    others = [a for a in approvers if a.id != ctx.member.id]
    approvers = others or approvers
    items = [
        to_member(
            approver,
            ctx.config,
            messages.approval_request(practice, ctx.member, ctx.config, Tr(approver.language)),
            key=f"practice:{practice.id}:ask",
            kind="practice_approval",
            subject=f"practice:{practice.id}",
            purpose=OPERATIONAL,
        )
        for approver in approvers
    ]
    asked = ctx.enqueue(items)
    ctx.reply(
        tr.plural(
            "Thank you! Your good practice was sent to {count} person of the central team "
            "for approval. I will tell you their answer.",
            "Thank you! Your good practice was sent to {count} people of the central team "
            "for approval. I will tell you their answer.",
            asked,
            count=asked,
        )
    )


def practice_command(ctx: Context) -> None:
    tr = ctx.tr
    args = getattr(ctx.event, "args", "").strip()
    if not args:
        ctx.require(
            permissions.PRACTICE_SHARE, Target(member_id=None, department=ctx.member.department)
        )
        ctx.reply(
            Message(
                text=tr("Share a good practice"),
                blocks=[
                    Section(
                        text=tr(
                            "What worked for you on social media? Share it: once the central "
                            "team approves it, the other relays receive it."
                        )
                    ),
                    practice_form(tr),
                ],
            )
        )
        return
    text, _, link = args.rpartition(" ")
    if not link.lower().startswith(("http://", "https://")):
        raise UserError(
            tr(
                "Put the link last: “practice TEXT LINK”, e.g. practice Answer within the hour, "
                "even to say you are looking into it https://intranet.example.com/tip "
                "— or type “practice” alone for a form."
            )
        )
    with _refused(tr):
        _share(ctx, text, link)


def practice_form_submitted(ctx: Context) -> None:
    tr = ctx.tr
    fields = _fields(ctx)
    if fields is None:
        raise UserError(tr("Type “practice” to open the form."))
    try:
        _share(ctx, fields.get("text", ""), fields.get("link", ""))
    except service.CommunityError as error:
        _correct(
            ctx,
            tr("Your good practice was not sent: please correct it."),
            error,
            practice_form(tr, fields),
        )


def _practice_id(ctx: Context) -> tuple[int, str]:
    value = getattr(ctx.event, "value", "")
    raw, _, audience = value.partition(":")
    practice_id = record_id(raw)
    if practice_id is None:
        raise UserError(ctx.tr("That button is no longer in use."))
    return practice_id, audience


def decide(ctx: Context, decision: str) -> None:
    """Approve or reject a practice. The click only records the decision and answers at once:
    the ``practices`` job queues the recipients (the whole company, for everyone) in chunks."""
    tr = ctx.tr
    practice_id, audience = _practice_id(ctx)
    with _refused(tr):
        practice = service.decide_practice(
            ctx.session, practice_id, ctx.member, decision, audience or None
        )
    audit.in_context(ctx, f"practice.{practice.status}", practice.id, audience=practice.audience)
    author = ctx.session.get(Member, practice.author_id)
    count = 0
    if practice.status == APPROVED:
        count = service.count_recipients(ctx.session, practice, ctx.config)
    if author is not None and author.id != ctx.member.id:
        ctx.enqueue(
            [
                to_member(
                    author,
                    ctx.config,
                    messages.decision_for_author(practice, count, Tr(author.language)),
                    key=f"practice:{practice.id}:decision",
                    kind="practice_decision",
                    subject=f"practice:{practice.id}",
                    purpose=OPERATIONAL,
                )
            ]
        )
    if practice.status == REJECTED:
        ctx.reply(tr("You rejected this good practice; its author is told."))
    elif practice.audience == TO_EVERYONE:
        ctx.reply(
            tr.plural(
                "Approved: the good practice is being sent to {count} person.",
                "Approved: the good practice is being sent to {count} people.",
                count,
                count=count,
            )
        )
    else:
        ctx.reply(
            tr.plural(
                "Approved: the good practice is being sent to {count} relay.",
                "Approved: the good practice is being sent to {count} relays.",
                count,
                count=count,
            )
        )


def useful(ctx: Context) -> None:
    tr = ctx.tr
    practice_id, _ = _practice_id(ctx)
    with _refused(tr):
        new, count = service.mark_useful(
            ctx.session, practice_id, ctx.member, ctx.event.who.platform
        )
    if new:
        ctx.reply(
            tr.plural(
                "Thank you! {count} person found this good practice useful.",
                "Thank you! {count} people found this good practice useful.",
                count,
                count=count,
            )
        )
    else:
        ctx.reply(tr("You already said this good practice was useful ({count}).", count=count))


def practices_command(ctx: Context) -> None:
    tr, session = ctx.tr, ctx.session
    blocks: list = []
    if ctx.can(permissions.PRACTICE_APPROVE):
        for practice in service.pending_practices(session):
            author = session.get(Member, practice.author_id)
            blocks += messages.approval_request(practice, author, ctx.config, tr).blocks
    mine = service.practices_by(session, ctx.member.id or 0)
    if mine:
        names = {
            "submitted": tr("waiting for approval"),
            "approved": tr("sent"),
            "rejected": tr("not approved"),
        }
        lines = [
            "• "
            + tr(
                "{text} — {status}, useful to {count}",
                text=practice.text[:80],
                status=names.get(practice.status, practice.status),
                count=count,
            )
            for practice, count in mine
        ]
        blocks.append(Section(title=tr("Your good practices"), text="\n".join(lines)))
    if not blocks:
        raise UserError(tr("You have shared no good practice yet. Type “practice” to share one."))
    ctx.reply(Message(text=tr("Good practices"), blocks=blocks))


# --- round tables --------------------------------------------------------------------------


def meeting_form(ctx: Context, values: dict[str, str] | None = None) -> Form:
    tr = ctx.tr
    values = values or {}
    return Form(
        title=tr("Announce a round table"),
        action_id=MEETING_FORM,
        submit_label=tr("Announce"),
        fields=[
            FormField(
                name="title",
                label=tr("Title"),
                required=True,
                max_length=service.MAX_TITLE,
                value=values.get("title", ""),
            ),
            FormField(
                name="date",
                label=tr("Date"),
                required=True,
                hint="2026-12-01",
                value=values.get("date", ""),
            ),
            FormField(
                name="time",
                label=tr("Time"),
                required=True,
                hint="17:30",
                value=values.get("time", ""),
            ),
            FormField(
                name="zone",
                label=tr("Time zone of that time"),
                required=True,
                hint="Europe/Paris",
                value=values.get("zone") or ctx.member.time_zone,
            ),
            FormField(
                name="link",
                label=tr("Link to join"),
                required=True,
                hint="https://…",
                value=values.get("link", ""),
            ),
        ],
    )


def _announce(ctx: Context, day: str, clock: str, zone: str, link: str, title: str) -> None:
    tr = ctx.tr
    starts, zone, link, title = service.read_meeting(day, clock, zone, link, title)
    meeting, invited = service.announce(
        ctx.session, ctx.config, ctx.member, title, starts, zone, link, utcnow()
    )
    ctx.enqueue(invitations(ctx, meeting, invited))
    audit.in_context(ctx, "meeting.announced", meeting.id, starts_at=meeting.starts_at)
    ctx.reply(
        tr.plural(
            "Announced to {count} relay: {title}, {when}. Type “meeting status” to see "
            "their answers.",
            "Announced to {count} relays: {title}, {when}. Type “meeting status” to see "
            "their answers.",
            len(invited),
            count=len(invited),
            title=title,
            when=service.when_for(meeting, ctx.member.time_zone, tr),
        )
    )


def invitations(ctx: Context, meeting, invited: list[Member]) -> list:  # type: ignore[no-untyped-def]
    return [
        to_member(
            member,
            ctx.config,
            messages.invitation(meeting, member, ctx.member, Tr(member.language)),
            key=f"meeting:{meeting.id}:invite",
            kind="meeting",
            subject=f"meeting:{meeting.id}",
            purpose=OPERATIONAL,
        )
        for member in invited
    ]


def _meeting_id(ctx: Context, text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    found = record_id(text)
    if found is None:
        raise UserError(ctx.tr("There is no meeting {id}.", id=text[:20]))
    return found


def meeting_command(ctx: Context) -> None:
    tr = ctx.tr
    args = getattr(ctx.event, "args", "").strip()
    word, _, rest = args.partition(" ")
    with _refused(tr):
        if not args:
            ctx.reply(
                Message(
                    text=tr("Announce a round table"),
                    blocks=[
                        Section(
                            text=tr(
                                "Every relay is invited; each sees the time in their own zone, "
                                "answers, and is reminded the day before."
                            )
                        ),
                        meeting_form(ctx),
                    ],
                )
            )
            return
        if word.lower() == "status":
            meeting = service.find_meeting(ctx.session, _meeting_id(ctx, rest))
            found = service.answers(ctx.session, meeting)
            started = as_utc(meeting.starts_at) <= utcnow()
            ctx.reply(messages.status_message(found, ctx.member.time_zone, tr, started))
            return
        if word.lower() == "attendance":
            meeting = service.find_meeting(ctx.session, _meeting_id(ctx, rest))
            ctx.reply(attendance_form(ctx, meeting))
            return
        parts = args.split(maxsplit=4)
        if len(parts) < 5:
            raise UserError(
                tr(
                    "Write “meeting DATE TIME ZONE LINK TITLE”, e.g. meeting 2026-12-01 17:30 "
                    "Europe/Paris https://meet.example.com/relays Round table — or type "
                    "“meeting” alone for a form, “meeting status” for the answers."
                )
            )
        _announce(ctx, *parts)


def meeting_form_submitted(ctx: Context) -> None:
    tr = ctx.tr
    fields = _fields(ctx)
    if fields is None:
        raise UserError(tr("Type “meeting” to open the form."))
    try:
        _announce(
            ctx,
            fields.get("date", ""),
            fields.get("time", ""),
            fields.get("zone", ""),
            fields.get("link", ""),
            fields.get("title", ""),
        )
    except service.CommunityError as error:
        _correct(
            ctx,
            tr("The round table was not announced: please correct it."),
            error,
            meeting_form(ctx, fields),
        )


def attendance_form(ctx: Context, meeting) -> Message:  # type: ignore[no-untyped-def]
    tr = ctx.tr
    found = service.answers(ctx.session, meeting)
    everyone = found.coming + found.not_coming + found.silent
    if not everyone:
        raise UserError(tr("Nobody was invited to this meeting."))
    came = found.attended if meeting.attendance_by else found.coming
    form = Form(
        title=tr("Who came?"),
        action_id=ATTENDANCE_FORM,
        value=str(meeting.id),
        submit_label=tr("Save"),
        fields=[
            FormField(
                name="came",
                label=tr("Who came to “{title}”?", title=meeting.title),
                kind="choices",
                options=[Option(value=str(m.id), label=m.name) for m in everyone],
                value=",".join(str(m.id) for m in came),
            )
        ],
    )
    return Message(text=form.title, blocks=[form])


def attendance_submitted(ctx: Context) -> None:
    tr = ctx.tr
    fields = _fields(ctx)
    meeting_id = record_id(getattr(ctx.event, "value", ""))
    if fields is None or meeting_id is None:
        raise UserError(tr("Type “meeting attendance” to open the form."))
    chosen = {found for part in fields.get("came", "").split(",") if (found := record_id(part))}
    with _refused(tr):
        meeting = service.find_meeting(ctx.session, meeting_id)
        count = service.mark_attendance(ctx.session, meeting, chosen, utcnow())
    ctx.reply(
        tr.plural(
            "Noted: {count} relay came to “{title}”.",
            "Noted: {count} relays came to “{title}”.",
            count,
            count=count,
            title=meeting.title,
        )
    )


def answer(ctx: Context, reply: str) -> None:
    tr = ctx.tr
    meeting_id = record_id(getattr(ctx.event, "value", ""))
    if meeting_id is None:
        raise UserError(tr("That button is no longer in use."))
    with _refused(tr):
        service.answer(ctx.session, meeting_id, ctx.member, reply, ctx.event.who.platform, utcnow())
    ctx.reply(
        tr("Noted: you will come. I will remind you the day before.")
        if reply == COMING
        else tr("Noted: you cannot come. Thank you for saying so.")
    )


def register(registry: Registry) -> None:
    registry.command(
        "relays",
        N_("who's who: your relays, your hub, the central team (and the crisis cell in a crisis)"),
        aliases=("annuaire", "whoswho"),
        suggest=False,  # on the home and in help; Teams' ten suggestions keep the core
    )(relays_command)
    registry.command(
        "practice",
        N_("share a good practice with the other relays (a form, or: practice TEXT LINK)"),
        usage="[TEXT LINK]",
        action=permissions.PRACTICE_SHARE,
        aliases=("pratique",),
    )(practice_command)
    registry.command(
        "practices",
        N_("good practices you shared (how many found them useful), and those to approve"),
        action=permissions.PRACTICE_SHARE,
        aliases=("pratiques",),
    )(practices_command)
    registry.command(
        "meeting",
        N_("announce a relays' round table (a form), see the answers: meeting status"),
        usage="[DATE TIME ZONE LINK TITLE | status [ID] | attendance [ID]]",
        action=permissions.MEETING,
        aliases=("reunion",),
    )(meeting_command)
    registry.action(PRACTICE_FORM, permission=permissions.PRACTICE_SHARE)(practice_form_submitted)
    registry.action(messages.APPROVE_ACTION, permission=permissions.PRACTICE_APPROVE)(
        lambda ctx: decide(ctx, APPROVED)
    )
    registry.action(messages.REJECT_ACTION, permission=permissions.PRACTICE_APPROVE)(
        lambda ctx: decide(ctx, REJECTED)
    )
    registry.action(messages.USEFUL_ACTION)(useful)
    registry.action(MEETING_FORM, permission=permissions.MEETING)(meeting_form_submitted)
    registry.action(ATTENDANCE_FORM, permission=permissions.MEETING)(attendance_submitted)
    registry.action(messages.COMING_ACTION)(lambda ctx: answer(ctx, COMING))
    registry.action(messages.NOT_COMING_ACTION)(lambda ctx: answer(ctx, NOT_COMING))
