"""Campaigns in chat: `broadcast`, "I shared it", the coordinator's Withdraw button, post results.

`broadcast` alone opens a form (a Slack modal, a Teams card, the console's
prompts): the post, the audience within the member's scope, and when. Typed
arguments (`broadcast POST department:sales local 10:00`) start it at once.
Both end in the same ``start``.
"""

from __future__ import annotations

from sqlalchemy import select

from bot import audit, permissions
from bot.campaigns import service
from bot.clock import utcnow
from bot.events import ActionEvent
from bot.i18n import N_, Tr, language_name
from bot.members.models import Member
from bot.messages import Form, FormField, Message, Option, Section
from bot.permissions import EVERYONE
from bot.registry import Context, Registry, UserError

FORM_ACTION = "campaign.form"  # the broadcast form's submission
MAX_OPTIONS = 100  # Slack's largest select; newest posts and first locations first
ROLE_NAMES = {
    "ambassador": N_("ambassadors"),
    "relay": N_("relays"),
    "coordinator": N_("the central team"),
    "manager": N_("managers"),
    "crisis_cell": N_("the crisis cell"),
}
NOW, AT, LOCAL = "now", "at", "local"


def post_results(ctx: Context, post_id: str) -> bool:
    """`results POST_ID`: what became of a post's campaigns, labelled for what it is."""
    found = service.results(ctx.session, post_id)
    post = service.post_version(ctx.session, ctx.content, post_id, ctx.member.language)
    if post is None and not found.campaigns:
        return False
    title = post.title if post else post_id
    ctx.reply(service.results_message(found, ctx.tr, title))
    return True


def register(registry: Registry) -> None:
    registry.results.append(post_results)

    @registry.action(service.SHARED_ACTION, permission=permissions.SHARE)
    def shared(ctx: Context) -> None:
        try:
            reply = service.declare_shared(
                ctx.session,
                ctx.member,
                getattr(ctx.event, "value", ""),
                ctx.event.who.platform,
                ctx.tr,
            )
        except service.CampaignError as problem:
            raise UserError(str(problem)) from None
        ctx.reply(reply)

    @registry.action(service.WITHDRAW_ACTION, permission=permissions.APPROVE)
    def withdraw(ctx: Context) -> None:
        # A withdrawal reaches every campaign of the post: it takes a programme-wide grant.
        ctx.require(permissions.APPROVE, EVERYONE)
        post_id = getattr(ctx.event, "value", "").strip()[:100]
        try:
            found = service.withdraw(
                ctx.session, ctx.config, ctx.content, post_id, ctx.tr, by=ctx.member.id
            )
        except service.CampaignError as problem:
            raise UserError(str(problem)) from None
        audit.in_context(ctx, "post.withdrawn", post_id)
        ctx.reply(service.withdrawal_text(found, ctx.tr))

    @registry.command(
        "broadcast",
        N_("send an approved post to an audience: a campaign"),
        usage="POST [department:ID …] [local HH:MM | at ISO-8601]",
        action=permissions.BROADCAST,
        aliases=("diffuser",),
    )
    def broadcast(ctx: Context) -> None:
        words = getattr(ctx.event, "args", "").split()
        if not words:
            show_form(ctx)
            return
        post_id, targets, at, local_hhmm = parse_words(words, ctx)
        start(ctx, post_id, targets, at, local_hhmm)

    @registry.action(FORM_ACTION, permission=permissions.BROADCAST)
    def form_submitted(ctx: Context) -> None:
        event = ctx.event
        fields = event.fields if isinstance(event, ActionEvent) else None
        if fields is None:
            raise UserError(ctx.tr("Type “broadcast” to open the form."))
        post_id, targets, at, local_hhmm, problem = read_form(fields, ctx.tr)
        if problem is None:
            try:
                start(ctx, post_id, targets, at, local_hhmm, raising=True)
                return
            except service.CampaignError as error:
                problem = str(error)
        show_form(ctx, fields, problem)


def parse_words(words: list[str], ctx: Context) -> tuple[str, list[str], str | None, str | None]:
    """``POST department:sales language:fr local 10:00`` in its parts."""
    post_id, rest = words[0], words[1:]
    targets: list[str] = []
    at = local_hhmm = None
    index = 0
    while index < len(rest):
        word = rest[index]
        lowered = word.lower()
        if lowered in ("at", "local", "à", "heure-locale") and index + 1 < len(rest):
            if lowered in ("at", "à"):
                at = rest[index + 1]
            else:
                local_hhmm = rest[index + 1]
            index += 2
            continue
        targets.append(word)
        index += 1
    return post_id, targets, at, local_hhmm


def broadcast_form(ctx: Context, values: dict[str, str] | None = None) -> Form:
    """The broadcast form, offering only what the member may send and to whom.

    ``values``: what they typed before (a form shown again after a mistake keeps it).
    """
    tr, config, session = ctx.tr, ctx.config, ctx.session
    values = values or {}
    reach = ctx.reach(permissions.BROADCAST)
    today = utcnow().date()
    posts = service.live_posts(session, today, tr.lang, config.languages.default)[:MAX_OPTIONS]
    if not posts:
        raise UserError(tr("No approved post can be sent today: approve one first (type “posts”)."))
    departments = permissions.departments_in(reach, config)
    who: list[Option] = []
    if reach.programme:
        who.append(Option(value="all", label=tr("Everyone in the programme")))
    who += [
        Option(
            value=f"department:{d.id}",
            label=tr("Department: {name}", name=d.name.get(tr.lang) or d.id),
        )
        for d in departments
    ]
    who += [
        Option(
            value=f"business_unit:{u.id}",
            label=tr("Business unit: {name}", name=u.name.get(tr.lang) or u.id),
        )
        for u in config.business_units
        if reach.programme or u.id in reach.business_units
    ]
    query = (
        select(Member.location)
        .distinct()
        .where(
            Member.location.is_not(None),  # type: ignore[union-attr]
            Member.left_at.is_(None),  # type: ignore[union-attr]
        )
    )
    if not reach.programme:
        query = query.where(Member.department.in_([d.id for d in departments]))  # type: ignore[union-attr]
    locations = sorted(
        str(name) for name in session.execute(query.limit(MAX_OPTIONS)).scalars() if name
    )
    optional = tr("Optional: only these.")
    fields = [
        FormField(
            name="post",
            label=tr("Post"),
            kind="choice",
            required=True,
            options=[Option(value=pid, label=f"{title} ({pid})") for pid, title in posts],
            value=values.get("post", ""),
        ),
        FormField(
            name="to",
            label=tr("Who gets it"),
            kind="choices",
            required=True,
            options=who[:MAX_OPTIONS],
            value=values.get("to", ""),
            hint=tr("Several departments or units add up."),
        ),
    ]
    if len(config.languages.available) > 1:
        fields.append(
            FormField(
                name="languages",
                label=tr("Languages"),
                kind="choices",
                options=[
                    Option(value=f"language:{code}", label=language_name(code, tr.lang))
                    for code in config.languages.available
                ],
                value=values.get("languages", ""),
                hint=optional,
            )
        )
    if locations:
        fields.append(
            FormField(
                name="locations",
                label=tr("Locations"),
                kind="choices",
                options=[Option(value=f"location:{name}", label=name) for name in locations],
                value=values.get("locations", ""),
                hint=optional,
            )
        )
    fields += [
        FormField(
            name="roles",
            label=tr("Roles"),
            kind="choices",
            options=[
                Option(value=f"role:{role}", label=tr(name)) for role, name in ROLE_NAMES.items()
            ],
            value=values.get("roles", ""),
            hint=optional,
        ),
        FormField(
            name="when",
            label=tr("When"),
            kind="choice",
            required=True,
            options=[
                Option(value=NOW, label=tr("Now")),
                Option(value=AT, label=tr("At a date and time")),
                Option(value=LOCAL, label=tr("At a time of day in each member's zone")),
            ],
            value=values.get("when") or NOW,
        ),
        FormField(
            name="moment",
            label=tr("Date and time, or time of day"),
            value=values.get("moment", ""),
            hint=tr("e.g. 2026-11-24T10:00+01:00, or 10:00 in each member's zone"),
            max_length=40,
        ),
    ]
    return Form(
        title=tr("Broadcast a post"),
        action_id=FORM_ACTION,
        submit_label=tr("Send"),
        fields=fields,
    )


def show_form(ctx: Context, values: dict[str, str] | None = None, problem: str = "") -> None:
    tr = ctx.tr
    form = broadcast_form(ctx, values)
    intro = (
        Section(title=tr("The campaign was not started: please correct it."), text=problem)
        if problem
        else Section(
            text=tr(
                "Choose the post, who gets it and when: I will show the campaign's progress here."
            )
        )
    )
    ctx.reply(Message(text=form.title, blocks=[intro, form]))


def read_form(
    fields: dict[str, str], tr: Tr
) -> tuple[str, list[str], str | None, str | None, str | None]:
    """(post, targets, at, local time, problem) of a submitted broadcast form."""
    post_id = (fields.get("post") or "").strip()[:100]
    targets = [
        value.strip()
        for name in ("to", "languages", "locations", "roles")
        for value in (fields.get(name) or "").split(",")
        if value.strip()
    ]
    when = (fields.get("when") or NOW).strip()
    moment = (fields.get("moment") or "").strip()[:40]
    if not post_id:
        return post_id, targets, None, None, tr("Choose the post to send.")
    if not any(target for target in (fields.get("to") or "").split(",") if target.strip()):
        return post_id, targets, None, None, tr("Choose who gets it.")
    if when not in (NOW, AT, LOCAL):
        return post_id, targets, None, None, tr("Choose when to send it.")
    if when != NOW and not moment:
        return (
            post_id,
            targets,
            None,
            None,
            tr("Give the date and time (e.g. 2026-11-24T10:00+01:00).")
            if when == AT
            else tr("Give the time of day (e.g. 10:00)."),
        )
    return (
        post_id,
        targets,
        moment if when == AT else None,
        moment if when == LOCAL else None,
        None,
    )


def start(
    ctx: Context,
    post_id: str,
    targets: list[str],
    at: str | None,
    local_hhmm: str | None,
    raising: bool = False,
) -> None:
    """Create the campaign, queue its first members, and show its progress message.

    ``raising``: let a refusal through as a CampaignError (the form shows it again).
    """
    try:
        campaign = service.create(
            ctx.session,
            ctx.config,
            ctx.content,
            ctx.relais.permissions,
            ctx.actor,
            post_id,
            targets,
            ctx.tr,
            at=at,
            local_hhmm=local_hhmm,
        )
    except service.CampaignError as problem:
        if raising:
            raise
        raise UserError(str(problem)) from None
    audit.in_context(ctx, "campaign.started", campaign.id, post=post_id, audience=targets)
    # The first members now; the campaigns job queues the rest (and would after a crash).
    service.queue_chunk(ctx.session, ctx.config, ctx.content, campaign)
    service.show_progress(
        ctx.session,
        ctx.config,
        ctx.content,
        campaign,
        ctx.member,
        ctx.can(permissions.APPROVE, EVERYONE),
        ctx.event.who.platform,
    )
    ctx.queued += 1
