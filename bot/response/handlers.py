"""`report <url> [text]`, the case card's buttons, `reports`, `case N` and `resolve N [note]`.

The Resolve button asks for the resolution note with a form (a Slack modal, a
Teams card, the console's prompt); its submission comes back as the same
action with ``fields`` and closes the case. The note goes on the case's
timeline and to the reporters.
"""

from __future__ import annotations

from urllib.parse import urlparse

from sqlmodel import select

from bot import audit, notify, permissions
from bot.clock import utcnow
from bot.config import CASE_CATEGORIES
from bot.delivery.models import OPERATIONAL, PRIORITY_REPLY
from bot.events import record_id
from bot.i18n import N_, Tr
from bot.members.models import Member
from bot.messages import MAX_URL, Form, FormField, Link, Message, Section
from bot.participation.models import record
from bot.registry import Context, Registry, UserError
from bot.response import messages, service
from bot.response.models import (
    ACKNOWLEDGED,
    ACTIVE,
    NOT_RELEVANT,
    OPEN,
    RESOLVED,
    Case,
    CaseAssignment,
    MentionReport,
)

OPEN_REPORTS_SHOWN = 10


def find_case(ctx: Context, value: str, action: str) -> Case:
    """The case a button or a command names, if the member may act on it."""
    tr = ctx.tr
    case_id = record_id(value)
    if case_id is None:
        raise UserError(tr("That button is no longer in use."))
    case = ctx.session.get(Case, case_id)
    if case is None:
        raise UserError(tr("There is no case #{id}.", id=value))
    if not ctx.can(action, service.case_target(ctx.session, case)):
        raise UserError(
            tr("This report was sent to other people; only they or a coordinator can take it.")
        )
    return case


def split_value(ctx: Context) -> tuple[str, str]:
    case_id, _, rest = str(getattr(ctx.event, "value", "")).partition(":")
    return case_id, rest


def tell_reporters(ctx: Context, case: Case, text_for: object, key: str) -> None:
    """A short message to everyone who reported the case, in their language."""
    outgoing = []
    for reporter in service.reporters_of(ctx.session, case):
        if reporter.id == ctx.member.id:
            continue
        rtr = Tr(reporter.language)
        text = text_for(rtr)  # type: ignore[operator]
        outgoing.append(
            notify.to_member(
                reporter,
                ctx.config,
                Message(
                    text=text,
                    blocks=[Section(text=text), Link(url=case.url, label=rtr("Open the mention"))],
                ),
                key=f"{key}:{case.id}",
                kind="reply",
                purpose=OPERATIONAL,
                subject=str(case.id),
                priority=PRIORITY_REPLY,
            )
        )
    ctx.enqueue(outgoing)


def register(registry: Registry) -> None:
    @registry.command(
        "report",
        N_("report a worrying mention: report <link> [what you saw]"),
        usage="<url> [text]",
        action=permissions.REPORT,
        aliases=("signaler",),
    )
    def report(ctx: Context) -> None:
        tr = ctx.tr
        url, _, text = getattr(ctx.event, "args", "").strip().partition(" ")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise UserError(
                tr(
                    "Give the link to the post, then what worries you. For example: "
                    "report https://x.com/someone/status/123 an angry customer"
                )
            )
        if len(url) > MAX_URL:  # kept whole or not at all: a cut link leads nowhere
            raise UserError(
                tr(
                    "That link is longer than {limit} characters: give the address of the post "
                    "itself, without tracking parameters.",
                    limit=MAX_URL,
                )
            )
        reporter = ctx.member
        filed = service.file_report(
            ctx.session,
            ctx.config,
            ctx.content,
            reporter,
            url,
            text.strip()[:4000],
            ctx.event.who.platform,
            utcnow(),
        )
        ctx.enqueue(filed.outgoing)
        case = filed.case
        record(
            ctx.session,
            "mention_reported",
            reporter.id,
            str(case.id),
            ctx.event.who.platform,
            case=case.id,
            merged=filed.merged,
            responders=len(filed.responders),
        )
        department = messages.department_name(ctx.config, case.department, tr)
        if filed.merged:
            owner = ctx.session.get(Member, case.owner_id) if case.owner_id else None
            ctx.reply(
                tr.plural(
                    "Thank you! This mention was already reported: your report joins case #{id} "
                    "({count} person reported it).",
                    "Thank you! This mention was already reported: your report joins case #{id} "
                    "({count} people reported it).",
                    case.reporters,
                    id=case.id,
                    count=case.reporters,
                )
                + " "
                + (
                    tr("{name} has it in charge.", name=owner.name)
                    if owner is not None and case.status == ACKNOWLEDGED
                    else tr(
                        "{department} has it; you will hear when someone takes it in charge.",
                        department=department,
                    )
                )
            )
        elif filed.responders:
            ctx.reply(
                tr.plural(
                    "Thank you! Your report (case #{id}, {department}) went to {count} person "
                    "of the response team. You will hear when someone takes it in charge.",
                    "Thank you! Your report (case #{id}, {department}) went to {count} people "
                    "of the response team. You will hear when someone takes it in charge.",
                    len(filed.responders),
                    id=case.id,
                    department=department,
                    count=len(filed.responders),
                )
            )
        else:
            ctx.reply(
                tr(
                    "Thank you! Your report is recorded, but nobody in the programme can receive it yet: "
                    "please tell your programme coordinator."
                )
            )

    def acknowledge_case(ctx: Context, case: Case) -> None:
        tr = ctx.tr
        if not ctx.can(permissions.ACKNOWLEDGE, service.case_target(ctx.session, case)):
            raise UserError(
                tr("This report was sent to other people; only they or a coordinator can take it.")
            )
        now = utcnow()
        if not service.acknowledge(ctx.session, case, ctx.member, now, ctx.event.who.platform):
            owner = ctx.session.get(Member, case.owner_id) if case.owner_id else None
            if owner is None or case.status not in ACTIVE:
                ctx.reply(
                    tr(
                        "Case #{id} is closed: {status}.",
                        id=case.id,
                        status=tr(messages.STATUS[case.status]),
                    )
                )
                return
            ctx.reply(
                messages.owner_line(tr, owner, ctx.member.time_zone, case.acknowledged_at or now)
            )
            return
        ctx.reply(tr("Thank you, the report is yours. The reporter has been told."))
        name = ctx.member.name
        tell_reporters(
            ctx, case, lambda rtr: rtr("{name} took your report in charge.", name=name), "case-ack"
        )

    @registry.action(messages.ACK, permission=permissions.ACKNOWLEDGE)
    def acknowledge(ctx: Context) -> None:
        case_id = record_id(getattr(ctx.event, "value", ""))
        case = ctx.session.get(Case, case_id) if case_id is not None else None
        if case is None:
            raise UserError(ctx.tr("That button is no longer in use."))
        acknowledge_case(ctx, case)

    @registry.action(messages.LEGACY_ACK, permission=permissions.ACKNOWLEDGE)
    def acknowledge_report(ctx: Context) -> None:
        """A button sent before reports became cases: its value is the report's id."""
        report_id = record_id(getattr(ctx.event, "value", ""))
        if report_id is None:
            raise UserError(ctx.tr("That button is no longer in use."))
        entry = ctx.session.get(MentionReport, report_id)
        case = ctx.session.get(Case, entry.case_id) if entry is not None else None
        if case is None:
            raise UserError(ctx.tr("That report no longer exists."))
        acknowledge_case(ctx, case)

    @registry.action(messages.REASSIGN, permission=permissions.REASSIGN)
    def reassign(ctx: Context) -> None:
        case = find_case(ctx, str(getattr(ctx.event, "value", "")), permissions.REASSIGN)
        if case.status not in ACTIVE:
            raise UserError(
                ctx.tr(
                    "Case #{id} is closed: {status}.",
                    id=case.id,
                    status=ctx.tr(messages.STATUS[case.status]),
                )
            )
        ctx.reply(messages.reassign_choice(ctx.tr, case, ctx.config))

    @registry.action(messages.MOVE, permission=permissions.REASSIGN)
    def move(ctx: Context) -> None:
        tr = ctx.tr
        case_id, department = split_value(ctx)
        case = find_case(ctx, case_id, permissions.REASSIGN)
        if ctx.config.department(department) is None:
            raise UserError(tr("That button is no longer in use."))
        if case.status not in ACTIVE:
            raise UserError(
                tr(
                    "Case #{id} is closed: {status}.",
                    id=case.id,
                    status=tr(messages.STATUS[case.status]),
                )
            )
        if department == case.department:
            ctx.reply(
                tr(
                    "Case #{id} is already with {department}.",
                    id=case.id,
                    department=messages.department_name(ctx.config, department, tr),
                )
            )
            return
        moved_from = case.department
        filed = service.reassign(ctx.session, ctx.config, case, ctx.member, department, utcnow())
        audit.in_context(ctx, "case.reassigned", case.id, source=moved_from, to=department)
        ctx.enqueue(filed.outgoing)
        ctx.reply(
            tr.plural(
                "Case #{id} now goes to {department}: {count} person told.",
                "Case #{id} now goes to {department}: {count} people told.",
                len(filed.responders),
                id=case.id,
                department=messages.department_name(ctx.config, department, tr),
                count=len(filed.responders),
            )
        )

    def close(ctx: Context, case: Case, status: str, note: str = "") -> None:
        tr = ctx.tr
        if not service.close(
            ctx.session, case, ctx.member, status, utcnow(), ctx.event.who.platform, note
        ):
            raise UserError(
                tr(
                    "Case #{id} is closed: {status}.",
                    id=case.id,
                    status=tr(messages.STATUS[case.status]),
                )
            )
        if status == RESOLVED:
            ctx.reply(
                tr("Case #{id} is resolved. Thank you!", id=case.id)
                + (
                    ""
                    if note
                    else " " + tr("To say what was done: resolve {id} <note>", id=case.id)
                )
            )
            name = ctx.member.name
            tell_reporters(
                ctx,
                case,
                lambda rtr: (
                    rtr("{name} resolved the mention you reported: {note}", name=name, note=note)
                    if note
                    else rtr("{name} resolved the mention you reported.", name=name)
                ),
                "case-resolved",
            )
        else:
            ctx.reply(tr("Case #{id} is marked not relevant.", id=case.id))

    def note_form(tr: Tr, case: Case, note: str = "") -> Form:
        return Form(
            title=tr("Resolve case #{id}", id=case.id),
            action_id=messages.RESOLVE,
            value=str(case.id),
            submit_label=tr("Resolve"),
            fields=[
                FormField(
                    name="note",
                    label=tr("What was done?"),
                    kind="multiline",
                    required=True,
                    max_length=2000,
                    value=note,
                    hint=tr("The reporters read it; it stays on the case's timeline."),
                )
            ],
        )

    @registry.action(messages.RESOLVE, permission=permissions.RESOLVE)
    def resolve_button(ctx: Context) -> None:
        """A click asks for the note (a form); the form's submission resolves the case."""
        tr = ctx.tr
        case = find_case(ctx, str(getattr(ctx.event, "value", "")), permissions.RESOLVE)
        if case.status not in ACTIVE:
            raise UserError(
                tr(
                    "Case #{id} is closed: {status}.",
                    id=case.id,
                    status=tr(messages.STATUS[case.status]),
                )
            )
        fields = getattr(ctx.event, "fields", None)
        if fields is None:
            form = note_form(tr, case)
            ctx.reply(Message(text=form.title, blocks=[form]))
            return
        note = (fields.get("note") or "").strip()[:2000]
        if not note:
            form = note_form(tr, case)
            ctx.reply(
                Message(
                    text=tr("Say what was done: the reporters read it."),
                    blocks=[Section(text=tr("Say what was done: the reporters read it.")), form],
                )
            )
            return
        close(ctx, case, RESOLVED, note)

    @registry.action(messages.DISMISS, permission=permissions.RESOLVE)
    def dismiss(ctx: Context) -> None:
        close(
            ctx,
            find_case(ctx, str(getattr(ctx.event, "value", "")), permissions.RESOLVE),
            NOT_RELEVANT,
        )

    @registry.command(
        "resolve",
        N_("close a case, saying what was done: resolve <case number> <note>"),
        usage="<case> [note]",
        action=permissions.RESOLVE,
        aliases=("resoudre", "résoudre"),
    )
    def resolve(ctx: Context) -> None:
        tr = ctx.tr
        number, _, note = getattr(ctx.event, "args", "").strip().lstrip("#").partition(" ")
        if record_id(number) is None:
            raise UserError(
                tr(
                    "Give the case number, then what was done. For example: resolve 12 answered publicly"
                )
            )
        case = find_case(ctx, number, permissions.RESOLVE)
        note = note.strip()
        if case.status in (RESOLVED, NOT_RELEVANT):
            if not note:
                raise UserError(
                    tr(
                        "Case #{id} is closed: {status}.",
                        id=case.id,
                        status=tr(messages.STATUS[case.status]),
                    )
                )
            service.add_note(ctx.session, case, ctx.member, note, utcnow())
            ctx.reply(tr("Your note is on case #{id}.", id=case.id))
            return
        close(ctx, case, RESOLVED, note)

    @registry.action(messages.CORRECT, permission=permissions.RESOLVE)
    def correct(ctx: Context) -> None:
        case = find_case(ctx, str(getattr(ctx.event, "value", "")), permissions.RESOLVE)
        ctx.reply(messages.category_choice(ctx.tr, case))

    @registry.action(messages.RECATEGORIZE, permission=permissions.RESOLVE)
    def recategorize(ctx: Context) -> None:
        tr = ctx.tr
        case_id, category = split_value(ctx)
        case = find_case(ctx, case_id, permissions.RESOLVE)
        if category not in CASE_CATEGORIES:
            raise UserError(tr("That button is no longer in use."))
        if category == case.category:
            ctx.reply(
                tr(
                    "Case #{id} is already “{category}”.",
                    id=case.id,
                    category=tr(messages.CATEGORY[category]),
                )
            )
            return
        service.correct_category(ctx.session, case, ctx.member, category, utcnow())
        ctx.reply(
            tr(
                "Case #{id} is now “{category}”. Thank you: triage learns from your correction.",
                id=case.id,
                category=tr(messages.CATEGORY[category]),
            )
        )

    @registry.command(
        "case",
        N_("a case and its timeline: case <number>"),
        usage="<case>",
        action=permissions.REPORTS_LIST,
        aliases=("dossier",),
    )
    def show_case(ctx: Context) -> None:
        number = getattr(ctx.event, "args", "").strip().lstrip("#")
        if record_id(number) is None:
            raise UserError(ctx.tr("Give the case number. For example: case 12"))
        case = find_case(ctx, number, permissions.REPORTS_LIST)
        ctx.reply(messages.timeline(ctx.session, case, ctx.config, ctx.tr, ctx.member.time_zone))
        if case.status in ACTIVE:
            ctx.reply(messages.case_card(ctx.session, case, ctx.config, ctx.tr))

    @registry.command(
        "reports",
        N_("the reported mentions waiting for someone to take them in charge"),
        action=permissions.REPORTS_LIST,
        aliases=("signalements",),
    )
    def reports(ctx: Context) -> None:
        """Open cases the member covers or was asked to handle, waiting ones first, oldest first."""
        tr = ctx.tr
        reach = ctx.reach(permissions.REPORTS_LIST)
        query = select(Case).where(Case.status.in_(ACTIVE))  # type: ignore[attr-defined]
        if not reach.programme:
            departments = {d.id for d in permissions.departments_in(reach, ctx.config)}
            assigned = select(CaseAssignment.case_id).where(
                CaseAssignment.member_id == ctx.member.id
            )
            query = query.where(
                Case.department.in_(sorted(departments))  # type: ignore[union-attr]
                | Case.id.in_(assigned)  # type: ignore[union-attr]
                | (Case.owner_id == ctx.member.id)
            )
        found = ctx.session.exec(
            query.order_by(Case.status != OPEN, Case.created_at, Case.id).limit(  # type: ignore[arg-type]
                OPEN_REPORTS_SHOWN + 1
            )
        ).all()
        if not found:
            ctx.reply(tr("No reported mention is waiting: thank you!"))
            return
        shown = found[:OPEN_REPORTS_SHOWN]
        ctx.reply(
            tr(
                "Open cases, those waiting to be taken in charge first: {count}.",
                count=len(shown),
            )
            if len(found) <= OPEN_REPORTS_SHOWN
            else tr("The {count} oldest open cases (there are more).", count=len(shown))
        )
        for case in shown:
            ctx.reply(messages.case_card(ctx.session, case, ctx.config, tr))
