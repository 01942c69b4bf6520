"""`relais delivery status|pause|resume|cancel`: the outbox from the server's command line.

The command line runs as the operator principal and asks the permission model,
like every entry point. The pause is the stored one every replica honours:
promotional deliveries (lessons, reminders, posts) wait; operational ones
(replies, escalations, alerts) still go.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bot.cli import ConfigOption, _prepared_engine, fail, operator_programme, out, tr
from bot.i18n import N_
from bot.permissions import DELIVERY

STATUS_WORDS = {
    "pending": N_("waiting"),
    "sending": N_("being sent"),
    "sent": N_("sent"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
}
PURPOSE_WORDS = {"promotional": N_("promotional"), "operational": N_("operational")}


def _priority(value: int) -> str:
    from bot.delivery.models import PRIORITY_REPLY, PRIORITY_URGENT

    if value >= PRIORITY_URGENT:
        return tr("urgent ({priority})", priority=value)
    if value >= PRIORITY_REPLY:
        return tr("reply ({priority})", priority=value)
    return tr("scheduled ({priority})", priority=value)


def _when(moment) -> str:  # type: ignore[no-untyped-def]
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _waited(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return tr.plural("{count} second", "{count} seconds", int(seconds), count=int(seconds))
    if minutes < 120:
        return tr.plural("{count} minute", "{count} minutes", minutes, count=minutes)
    hours = minutes // 60
    return tr.plural("{count} hour", "{count} hours", hours, count=hours)


def register(app: typer.Typer) -> None:
    delivery_app = typer.Typer(
        help=tr(
            "The outbox: see the queue, pause or resume promotional deliveries, cancel a campaign."
        ),
        no_args_is_help=True,
    )
    app.add_typer(delivery_app, name="delivery")

    @delivery_app.command(
        "status",
        help=tr(
            "Show the queue: deliveries by status, purpose and priority, whether promotional "
            "deliveries are paused, and the oldest delivery waiting to go."
        ),
    )
    def status(config: ConfigOption = None) -> None:
        from sqlmodel import Session

        from bot.clock import utcnow
        from bot.delivery.service import queue_status

        operator_programme(config, DELIVERY)
        engine = _prepared_engine()
        now = utcnow()
        with Session(engine) as session:
            found = queue_status(session, now)
        if found.counts:
            table = Table(tr("Status"), tr("Purpose"), tr("Priority"), tr("Deliveries"))
            for state, purpose, priority, rows in found.counts:
                table.add_row(
                    tr(STATUS_WORDS.get(state, state)),
                    tr(PURPOSE_WORDS.get(purpose, purpose)),
                    _priority(priority),
                    f"{rows:,}".replace(",", "\u202f" if tr.lang == "fr" else ","),
                )
            out.print(table)
        else:
            out.print(tr("The outbox is empty."), highlight=False)
        if found.paused:
            out.print(
                tr(
                    "Promotional deliveries are PAUSED since {when} ({reason}).",
                    when=_when(found.paused_at),
                    reason=found.pause_reason or tr("no reason given"),
                ),
                highlight=False,
            )
        else:
            out.print(tr("Promotional deliveries are running."), highlight=False)
        if found.oldest_due_at is not None:
            waited = max(0.0, (now - found.oldest_due_at).total_seconds())
            out.print(
                tr(
                    "Oldest delivery waiting: #{id}, due {when} ({waited} ago).",
                    id=found.oldest_due_id,
                    when=_when(found.oldest_due_at),
                    waited=_waited(waited),
                ),
                highlight=False,
            )
        else:
            out.print(tr("No delivery is waiting to go."), highlight=False)
        if found.later:
            out.print(
                tr.plural(
                    "{count} delivery is scheduled for later.",
                    "{count} deliveries are scheduled for later.",
                    found.later,
                    count=found.later,
                ),
                highlight=False,
            )
        for campaign, rows in found.campaigns:
            out.print(
                tr.plural(
                    "Campaign {campaign}: {count} delivery queued.",
                    "Campaign {campaign}: {count} deliveries queued.",
                    rows,
                    campaign=campaign,
                    count=rows,
                ),
                highlight=False,
                markup=False,
            )

    @delivery_app.command(
        "pause",
        help=tr(
            "Pause promotional deliveries (lessons, reminders, posts) on every replica; "
            "replies, escalations and alerts still go."
        ),
    )
    def pause(
        reason: Annotated[
            str | None, typer.Option("--reason", help=tr("Why, shown by relais delivery status."))
        ] = None,
        config: ConfigOption = None,
    ) -> None:
        from sqlmodel import Session

        from bot.delivery.models import PROMOTIONAL_PAUSE, DeliveryPause
        from bot.delivery.outbox import pause_promotional

        operator_programme(config, DELIVERY)
        engine = _prepared_engine()
        with Session(engine) as session:
            already = session.get(DeliveryPause, PROMOTIONAL_PAUSE)
        if already is not None:
            out.print(
                tr(
                    "Promotional deliveries were already paused since {when} ({reason}).",
                    when=_when(already.paused_at),
                    reason=already.reason or tr("no reason given"),
                ),
                highlight=False,
            )
            return
        pause_promotional(engine, (reason or "").strip() or None)
        out.print(
            tr(
                "Promotional deliveries are paused on every replica: lessons, reminders and "
                "posts wait; replies, escalations and alerts still go. "
                "relais delivery resume starts them again."
            ),
            highlight=False,
        )

    @delivery_app.command(
        "resume", help=tr("Resume promotional deliveries: what waited goes out again.")
    )
    def resume(
        force: Annotated[
            bool,
            typer.Option("--force", help=tr("Resume even while a crisis is in progress.")),
        ] = False,
        config: ConfigOption = None,
    ) -> None:
        from sqlalchemy import func, select
        from sqlmodel import Session

        from bot.delivery.models import PENDING, PROMOTIONAL, Delivery
        from bot.delivery.outbox import promotional_paused, resume_promotional

        operator_programme(config, DELIVERY)
        engine = _prepared_engine()
        with Session(engine) as session:
            if not promotional_paused(session):
                out.print(tr("Promotional deliveries were not paused."), highlight=False)
                return
            crisis = _crisis_in_progress(session)
        if crisis and not force:
            fail(
                tr(
                    "A crisis is in progress ({crisis}): promotional deliveries stay paused until "
                    "it ends (relais crisis end). To resume them anyway, add --force.",
                    crisis=crisis,
                )
            )
        resume_promotional(engine)
        with Session(engine) as session:
            waiting = session.execute(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.status == PENDING, Delivery.purpose == PROMOTIONAL)
            ).scalar_one()
        out.print(
            tr.plural(
                "Promotional deliveries resumed: {count} waiting goes out now.",
                "Promotional deliveries resumed: {count} waiting go out now.",
                waiting,
                count=waiting,
            ),
            highlight=False,
        )

    @delivery_app.command(
        "cancel",
        help=tr(
            "Cancel the deliveries of a campaign still waiting to go; those already sent stay."
        ),
    )
    def cancel(
        campaign: Annotated[
            str,
            typer.Option(
                "--campaign", help=tr("The campaign's id, as relais delivery status shows it.")
            ),
        ],
        config: ConfigOption = None,
    ) -> None:
        from sqlalchemy import select

        from bot.db import session_scope
        from bot.delivery.models import Delivery
        from bot.delivery.outbox import cancel as cancel_queued

        operator_programme(config, DELIVERY)
        engine = _prepared_engine()
        name = campaign.strip()
        with session_scope(engine) as session:
            known = session.execute(
                select(Delivery.id).where(Delivery.campaign == name).limit(1)
            ).first()
            if known is None:
                fail(tr("No delivery belongs to the campaign {campaign}.", campaign=name))
            cancelled = cancel_queued(session, campaign=name)
        out.print(
            tr.plural(
                "{count} delivery of the campaign {campaign} cancelled; those already sent stay.",
                "{count} deliveries of the campaign {campaign} cancelled; those already sent stay.",
                cancelled,
                count=cancelled,
                campaign=name,
            ),
            highlight=False,
            markup=False,
        )


def _crisis_in_progress(session) -> str | None:  # type: ignore[no-untyped-def]
    """The title of the crisis in progress, if any (its pause must not be lifted by mistake)."""
    from bot.crisis import service as crisis

    found = crisis.active(session)
    return found.title if found is not None else None
