"""Campaigns in chat: `broadcast`, "I shared it", the coordinator's Withdraw button, post results."""

from __future__ import annotations

from bot import permissions
from bot.campaigns import service
from bot.i18n import N_
from bot.permissions import EVERYONE
from bot.registry import Context, Registry, UserError


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
            raise UserError(
                ctx.tr(
                    "Write: broadcast POST all (or department:ID, business_unit:ID, location:NAME, "
                    "language:CODE, role:ROLE) [local 10:00 | at 2026-11-24T10:00+01:00]."
                )
            )
        post_id, targets, at, local_hhmm = parse_words(words, ctx)
        start(ctx, post_id, targets, at, local_hhmm)


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


def start(
    ctx: Context, post_id: str, targets: list[str], at: str | None, local_hhmm: str | None
) -> None:
    """Create the campaign, queue its first members, and show its progress message."""
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
        raise UserError(str(problem)) from None
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
