"""`charter` (read it, see whether you accepted it) and the Accept button."""

from __future__ import annotations

from bot import permissions
from bot.charter import service, signoff
from bot.charter.models import CharterAcknowledgement
from bot.clock import utcnow
from bot.events import record_id
from bot.i18n import N_
from bot.messages import Actions, Button, ContextLine, Form, FormField, Message, Section
from bot.participation.models import record
from bot.registry import Context, Registry, UserError
from bot.reporting.measures import live_heads

REMIND_ACTION = "charter.remind"


def acceptance_message(ctx: Context) -> Message:
    """Acceptance of the current version in each department the reader covers."""
    tr = ctx.tr
    found = ctx.content.current_charter(ctx.member.language)
    if found is None:
        raise UserError(tr("The programme has no charter yet."))
    version = found[1].version
    departments = permissions.departments_in(ctx.reach(permissions.STATS), ctx.config)
    ids = [d.id for d in departments]
    totals: dict[str, list[int]] = {}
    for department, _location, _members, opted, accepted in live_heads(ctx.session, ids, version):
        row = totals.setdefault(department or "", [0, 0])
        row[0] += opted
        row[1] += accepted
    lines = []
    missing = 0
    for department in departments:
        opted, accepted = totals.get(department.id, [0, 0])
        accepted = min(accepted, opted)
        missing += opted - accepted
        lines.append(
            tr(
                "• *{department}*: {accepted} of {opted} ({share:.0%})",
                department=department.name.get(tr.lang) or department.id,
                accepted=accepted,
                opted=opted,
                share=accepted / opted if opted else 0.0,
            )
        )
    blocks: list = [
        Section(
            title=tr("Charter version {version}: who has accepted it", version=version),
            text="\n".join(lines) or tr("No department to show."),
        )
    ]
    signed = signoff.signed_line(ctx.session, version, tr, ctx.member.time_zone)
    if signed:
        blocks.append(ContextLine(text=signed))
    if missing and ctx.can(permissions.CHARTER_REMIND):
        blocks.append(
            Actions(
                buttons=[
                    Button(
                        label=tr.plural(
                            "Remind the {n} person who has not accepted",
                            "Remind the {n} people who have not accepted",
                            missing,
                            n=missing,
                        ),
                        action_id=REMIND_ACTION,
                        value=str(version),
                    )
                ]
            )
        )
    return Message(text=tr("Charter acceptance"), blocks=blocks)


def remind(ctx: Context) -> None:
    """Remind everyone in reach who has not accepted the current version. The request only
    counts them and stores the ask, and answers at once: the ``charter_remind_now`` job
    queues the reminders (the whole company, for the central team) in chunks."""
    ctx.require(permissions.CHARTER_REMIND)
    tr = ctx.tr
    if ctx.content.current_charter(ctx.config.languages.default) is None:
        raise UserError(tr("The programme has no charter yet."))
    reach = ctx.reach(permissions.CHARTER_REMIND)
    departments = (
        None if reach.programme else [d.id for d in permissions.departments_in(reach, ctx.config)]
    )
    count = service.count_not_accepted(ctx.session, ctx.content, departments)
    if count:
        service.ask_reminders(ctx.session, ctx.member.id, departments)
    ctx.reply(
        tr.plural(
            "The reminder is being sent to {n} person who has not accepted the current charter.",
            "The reminder is being sent to {n} people who have not accepted the current charter.",
            count,
            n=count,
        )
    )


def show_draft(ctx: Context) -> None:
    """The draft waiting for sign-off, whole, with its signatures so far."""
    tr = ctx.tr
    if not signoff.required(ctx.config):
        raise UserError(
            tr(
                "Charter versions need no sign-off in this programme: they are published as written."
            )
        )
    version = signoff.draft_version(ctx.session, ctx.content, ctx.config)
    if version is None:
        current = ctx.content.current_charter(ctx.member.language)
        raise UserError(
            tr(
                "No charter draft is waiting: version {version} is signed off and in force.",
                version=current[1].version,
            )
            if current
            else tr("The programme has no charter yet.")
        )
    found = ctx.content.charter_version(version, ctx.member.language)
    assert found is not None
    text = signoff.text_checksum(ctx.content, version)
    seats, objections = signoff.signatures(ctx.session, ctx.config, version, text)
    ctx.reply(
        signoff.draft_message(
            found[1], text, seats, ctx.config, tr, objections, ctx.can(permissions.CHARTER_SIGN_OFF)
        )
    )


def decide(ctx: Context, decision: str, note: str | None) -> None:
    try:
        done = signoff.decide(
            ctx.session,
            ctx.config,
            ctx.content,
            ctx.member,
            getattr(ctx.event, "value", ""),
            decision,
            note,
            ctx.event.who.platform,
            ctx.key,
            utcnow(),
        )
    except signoff.SignOffRefused as refused:
        raise UserError(str(refused)) from None
    ctx.enqueue(done.outgoing)
    ctx.reply(done.reply)


def register(registry: Registry) -> None:
    @registry.command(
        "charter",
        N_("read the programme's charter of conduct and accept it"),
        usage="[status | remind | draft]",
        aliases=("charte",),
    )
    def charter(ctx: Context) -> None:
        wanted = getattr(ctx.event, "args", "").strip().lower()
        if wanted in ("status", "suivi"):
            ctx.require(permissions.STATS)
            ctx.reply(acceptance_message(ctx))
            return
        if wanted in ("remind", "relancer"):
            remind(ctx)
            return
        if wanted in ("draft", "brouillon"):
            ctx.require(permissions.CHARTER_DRAFT)
            show_draft(ctx)
            return
        if wanted:
            raise UserError(
                ctx.tr(
                    "“charter {word}” is not something I know. Type “charter”, “charter status”, "
                    "“charter remind” or “charter draft”.",
                    word=wanted,
                )
            )
        found = ctx.content.current_charter(ctx.member.language)
        if found is None:
            raise UserError(ctx.tr("The programme has no charter yet."))
        charter_id, charter = found
        accepted = service.acknowledgement(ctx.session, ctx.member.id or 0, charter.version)
        record(ctx.session, "charter_viewed", ctx.member.id, charter_id, ctx.event.who.platform)
        signed = signoff.signed_line(ctx.session, charter.version, ctx.tr, ctx.member.time_zone)
        ctx.reply(
            service.full_message(
                charter, ctx.tr, accepted.acknowledged_at if accepted else None, signed
            )
        )

    @registry.action(signoff.READ_DRAFT_ACTION, permission=permissions.CHARTER_DRAFT)
    def read_draft(ctx: Context) -> None:
        show_draft(ctx)

    @registry.action(signoff.APPROVE_ACTION, permission=permissions.CHARTER_SIGN_OFF)
    def approve(ctx: Context) -> None:
        decide(ctx, signoff.APPROVED, None)

    @registry.action(signoff.CHANGES_ACTION, permission=permissions.CHARTER_SIGN_OFF)
    def request_changes(ctx: Context) -> None:
        """A click asks what should change (a form); the form's submission decides."""
        fields = getattr(ctx.event, "fields", None)
        if fields is not None:
            note = (fields.get("note") or "").strip()
            if not note:
                raise UserError(ctx.tr("Say what should change, so the coordinators can do it."))
            decide(ctx, signoff.CHANGES_REQUESTED, note)
            return
        tr = ctx.tr
        form = Form(
            title=tr("Request changes"),
            action_id=signoff.CHANGES_ACTION,
            value=getattr(ctx.event, "value", ""),
            submit_label=tr("Send"),
            fields=[
                FormField(
                    name="note",
                    label=tr("What should change?"),
                    kind="multiline",
                    required=True,
                    max_length=1000,
                )
            ],
        )
        ctx.reply(Message(text=form.title, blocks=[form]))

    @registry.action(REMIND_ACTION, permission=permissions.CHARTER_REMIND)
    def remind_button(ctx: Context) -> None:
        remind(ctx)

    @registry.action(service.ACCEPT_ACTION)
    def accept(ctx: Context) -> None:
        tr = ctx.tr
        charter = service.current(ctx.content, ctx.member.language)
        version = record_id(getattr(ctx.event, "value", "")) or -1
        if charter is None or version != charter.version:
            raise UserError(
                tr(
                    "This version of the charter has been replaced: type “charter” to read the new one."
                )
            )
        if service.acknowledgement(ctx.session, ctx.member.id or 0, version) is not None:
            ctx.reply(
                tr(
                    "You have already accepted version {version} of the charter. Thank you!",
                    version=version,
                )
            )
            return
        ctx.session.add(
            CharterAcknowledgement(
                member_id=ctx.member.id or 0,
                version=version,
                language=ctx.member.language,
                platform=ctx.event.who.platform,
                acknowledged_at=utcnow(),
            )
        )
        record(
            ctx.session,
            "charter_acknowledged",
            ctx.member.id,
            f"v{version}",
            ctx.event.who.platform,
        )
        ctx.reply(
            tr(
                "Thank you! You accepted version {version} of the charter. Approved posts are now yours to "
                "share: type “share”.",
                version=version,
            )
        )
