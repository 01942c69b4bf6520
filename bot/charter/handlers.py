"""`charter` (read it, see whether you accepted it) and the Accept button."""

from __future__ import annotations

from bot.charter import service
from bot.charter.models import CharterAcknowledgement
from bot.clock import utcnow
from bot.events import record_id
from bot.i18n import N_
from bot.participation.models import record
from bot.registry import Context, Registry, UserError


def register(registry: Registry) -> None:
    @registry.command(
        "charter", N_("read the programme's charter of conduct and accept it"), aliases=("charte",)
    )
    def charter(ctx: Context) -> None:
        found = ctx.content.current_charter(ctx.member.language)
        if found is None:
            raise UserError(ctx.tr("The programme has no charter yet."))
        charter_id, charter = found
        accepted = service.acknowledgement(ctx.session, ctx.member.id or 0, charter.version)
        record(ctx.session, "charter_viewed", ctx.member.id, charter_id, ctx.event.who.platform)
        ctx.reply(
            service.full_message(charter, ctx.tr, accepted.acknowledged_at if accepted else None)
        )

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
