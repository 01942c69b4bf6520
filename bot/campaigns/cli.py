"""`relais campaign …`: send an approved post to an audience, follow it, pause it, withdraw it.

The command line runs as the operator (every permission, over the programme).
``--wait`` follows the campaign with a progress bar and runs a delivery worker
in this process meanwhile, so it finishes even where `relais serve` is not
running; with `relais serve` running too, both drain the same outbox safely
(claims with leases, as replicas do).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import Session, select

from bot import audit
from bot.campaigns import service
from bot.campaigns.models import Campaign
from bot.cli import ConfigOption, fail, failing_on, open_runtime, out, tr
from bot.db import session_scope
from bot.permissions import Actor
from bot.runtime import Runtime

POLL = 0.5  # seconds between two looks at the figures while waiting
# `send --wait` queues this many members, then sends while it queues the rest (chunk by chunk):
# the first messages leave within a second, whatever the audience's size.
FIRST_CHUNK = 200
NEXT_CHUNK = 1000
CampaignId = Annotated[int, typer.Argument(help=tr("The campaign's number."))]


def _title(runtime: Runtime, post_id: str) -> str:
    with Session(runtime.engine) as session:
        post = service.post_version(session, runtime.relais.content, post_id, tr.lang)
    return post.title if post else post_id


async def _follow(runtime: Runtime, figures, done, queue_rest=None) -> None:  # type: ignore[no-untyped-def]
    """Run a delivery worker here while a progress bar shows ``figures()`` until ``done()``.

    ``queue_rest``: queues one more chunk and says whether more remain; run in a thread
    meanwhile, the worker woken after each chunk, so sending never waits for the queueing.
    """
    logging.getLogger("relais").setLevel(logging.ERROR)
    worker = runtime.worker
    task = asyncio.create_task(worker.run())

    async def queue_in_background() -> None:
        while await asyncio.to_thread(queue_rest):
            worker.kick()
        worker.kick()

    queueing = asyncio.create_task(queue_in_background()) if queue_rest else None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[figures]}"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=out, transient=False) as bar:
            total, completed, text = await asyncio.to_thread(figures)
            job = bar.add_task(tr("Sending"), total=total or 1, completed=completed, figures=text)
            while True:
                total, completed, text = await asyncio.to_thread(figures)
                bar.update(job, total=total or 1, completed=completed, figures=text)
                if await asyncio.to_thread(done):
                    break
                if task.done():
                    task.result()  # the worker failed: say why
                if queueing is not None and queueing.done():
                    queueing.result()  # the queueing failed: say why
                await asyncio.sleep(POLL)
    finally:
        worker.stop()
        if queueing is not None and not queueing.done():
            await asyncio.wait_for(queueing, timeout=60)
        await asyncio.wait_for(task, timeout=30)


def _campaign_figures(runtime: Runtime, campaign_id: int, queues: bool = True):  # type: ignore[no-untyped-def]
    """``figures()`` and ``done()`` of a campaign; ``queues``: ``done()`` queues what is left
    (a campaign queued elsewhere, in the background, says False)."""
    last: dict[str, service.Progress] = {}

    def figures() -> tuple[int, int, str]:
        with Session(runtime.engine) as session:
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            found = last["figures"] = service.progress(session, campaign)
        text = tr(
            "delivered {delivered} · failed {failed} · remaining {remaining}",
            delivered=found.delivered,
            failed=found.failed,
            remaining=found.remaining,
        )
        total = found.delivered + found.failed + found.remaining
        return total, found.delivered + found.failed, text

    def done() -> bool:
        with session_scope(runtime.engine) as session:
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            if campaign.queued_at is None:
                if queues:
                    service.queue_chunk(session, runtime.config, runtime.relais.content, campaign)
                return False
            # The figures were just read (the same poll): no second count of every row.
            found = last.pop("figures", None) or service.progress(session, campaign)
            return found.remaining == 0 or campaign.status not in (service.RUNNING,)

    return figures, done


def register(app: typer.Typer) -> None:
    campaign_app = typer.Typer(
        help=tr("Send approved posts to an audience, follow them, withdraw them."),
        no_args_is_help=True,
    )
    app.add_typer(campaign_app, name="campaign")

    @campaign_app.command(
        "send",
        help=tr(
            "Send an approved post: --to all|department:ID|business_unit:ID|location:NAME|"
            "language:CODE|role:ROLE (repeat --to: the same kind widens, different kinds narrow)."
        ),
    )
    def send(
        post_id: Annotated[str, typer.Argument(help=tr("The post's id (its file name)."))],
        to: Annotated[
            list[str],
            typer.Option("--to", help=tr("Who gets it, e.g. all, department:sales, language:fr.")),
        ],
        at: Annotated[
            str | None,
            typer.Option("--at", help=tr("When, for everyone: ISO 8601 (2026-11-24T10:00+01:00).")),
        ] = None,
        local: Annotated[
            str | None,
            typer.Option(
                "--local", help=tr("A time of day (HH:MM) in each member's own time zone.")
            ),
        ] = None,
        wait: Annotated[
            bool,
            typer.Option(
                "--wait", help=tr("Stay and show the progress until every message is sent.")
            ),
        ] = False,
        config: ConfigOption = None,
    ) -> None:
        runtime = open_runtime(config)
        relais = runtime.relais
        with failing_on(service.CampaignError), session_scope(runtime.engine) as session:
            campaign = service.create(
                session,
                runtime.config,
                relais.content,
                relais.permissions,
                Actor.operator(),
                post_id,
                to,
                tr,
                at=at,
                local_hhmm=local,
            )
            campaign_id = campaign.id or 0
            audit.record(session, None, "campaign.started", campaign_id, {"post": post_id})
        if wait:  # the first members only: the rest is queued while they are sent
            service.queue(
                runtime.engine,
                runtime.config,
                relais.content,
                campaign_id,
                chunks=1,
                limit=FIRST_CHUNK,
            )
        else:
            service.queue(runtime.engine, runtime.config, relais.content, campaign_id)
        with Session(runtime.engine) as session:
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            recipients = campaign.recipients
        out.print(str(campaign_id), highlight=False)
        if not wait:
            out.print(
                tr.plural(
                    "Campaign {id}: {count} message queued. Follow it with: relais campaign status {id}",
                    "Campaign {id}: {count} messages queued. Follow it with: relais campaign status {id}",
                    recipients,
                    id=campaign_id,
                    count=recipients,
                ),
                highlight=False,
                style="dim",
            )
            return
        figures, done = _campaign_figures(runtime, campaign_id, queues=False)

        def queue_rest() -> bool:
            """One more chunk of members; False once every member is queued."""
            service.queue(
                runtime.engine,
                runtime.config,
                relais.content,
                campaign_id,
                chunks=1,
                limit=NEXT_CHUNK,
            )
            with Session(runtime.engine) as session:
                campaign = session.get(Campaign, campaign_id)
                return campaign is not None and campaign.queued_at is None

        with Session(runtime.engine) as session:
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            later = service.progress(session, campaign).scheduled
        if later:
            out.print(
                tr.plural(
                    "{count} message waits for its member's local time or the end of quiet hours.",
                    "{count} messages wait for their members' local time or the end of quiet hours.",
                    later,
                    count=later,
                ),
                highlight=False,
            )
        try:
            asyncio.run(_follow(runtime, figures, done, queue_rest))
        except KeyboardInterrupt:
            fail(
                tr(
                    "Left. Campaign {id} goes on with relais serve: relais campaign status {id}",
                    id=campaign_id,
                ),
                130,
            )
        with Session(runtime.engine) as session:
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            found = service.progress(session, campaign)
        out.print(
            service.progress_text(found, tr, _title(runtime, campaign.post_id)), highlight=False
        )

    @campaign_app.command("list", help=tr("Every campaign, newest first, with its figures."))
    def list_(config: ConfigOption = None) -> None:
        runtime = open_runtime(config)
        with Session(runtime.engine) as session:
            campaigns = list(
                session.exec(select(Campaign).order_by(Campaign.id.desc())).all()  # type: ignore[union-attr]
            )
            figures = service.progress_of(session, campaigns)
        if not campaigns:
            out.print(tr("No campaign yet. Send one with: relais campaign send POST_ID --to all"))
            return
        table = Table(show_edge=False)
        for heading, wraps in (
            (tr("id"), False),
            (tr("post"), True),
            (tr("audience"), True),
            (tr("when"), True),
            (tr("status"), False),
            (tr("delivered"), False),
            (tr("failed"), False),
            (tr("remaining"), False),
        ):
            table.add_column(heading, overflow="fold", no_wrap=not wraps)
        for campaign in campaigns:
            found = figures[campaign.id or 0]
            table.add_row(
                str(campaign.id),
                campaign.post_id,
                " ".join(campaign.audience) or "—",
                service.when_words(campaign, tr),
                service.status_word(campaign, tr),
                str(found.delivered),
                str(found.failed),
                str(found.remaining),
            )
        out.print(table)

    def _one(runtime: Runtime, campaign_id: int, change, audited: str = "") -> None:  # type: ignore[no-untyped-def]
        with failing_on(service.CampaignError), session_scope(runtime.engine) as session:
            campaign = service.find(session, campaign_id, tr)
            message = change(session, campaign)
            if audited:
                audit.record(session, None, audited, campaign_id)
            found = service.progress(session, campaign)
            text = service.progress_text(found, tr, _title(runtime, campaign.post_id))
        if message:
            out.print(message, highlight=False)
        out.print(text, highlight=False)

    @campaign_app.command(
        "status", help=tr("Where a campaign stands: delivered, failed, remaining.")
    )
    def status(campaign_id: CampaignId, config: ConfigOption = None) -> None:
        _one(open_runtime(config), campaign_id, lambda session, campaign: None)

    @campaign_app.command(
        "pause", help=tr("Hold a campaign's messages not sent yet (on every replica).")
    )
    def pause(campaign_id: CampaignId, config: ConfigOption = None) -> None:
        _one(
            open_runtime(config),
            campaign_id,
            lambda session, campaign: (
                service.pause(session, campaign, tr)
                or tr("Campaign {id} is paused.", id=campaign_id)
            ),
            "campaign.paused",
        )

    @campaign_app.command("resume", help=tr("Let a paused campaign go on."))
    def resume(campaign_id: CampaignId, config: ConfigOption = None) -> None:
        _one(
            open_runtime(config),
            campaign_id,
            lambda session, campaign: (
                service.resume(session, campaign, tr)
                or tr("Campaign {id} goes on.", id=campaign_id)
            ),
            "campaign.resumed",
        )

    @campaign_app.command(
        "cancel", help=tr("Stop a campaign: what is not sent yet never will be (sent stays sent).")
    )
    def cancel(campaign_id: CampaignId, config: ConfigOption = None) -> None:
        def change(session, campaign):  # type: ignore[no-untyped-def]
            count = service.cancel(session, campaign, tr)
            return tr.plural(
                "Campaign {id} is cancelled: {count} message will not be sent.",
                "Campaign {id} is cancelled: {count} messages will not be sent.",
                count,
                id=campaign_id,
                count=count,
            )

        _one(open_runtime(config), campaign_id, change, "campaign.cancelled")

    @campaign_app.command(
        "withdraw",
        help=tr(
            "Withdraw a post everywhere: its messages say so (or are deleted), its links stop, "
            "what is queued is cancelled."
        ),
    )
    def withdraw(
        post_id: Annotated[str, typer.Argument(help=tr("The post's id."))],
        wait: Annotated[
            bool,
            typer.Option("--wait", help=tr("Stay until every message is retracted.")),
        ] = False,
        config: ConfigOption = None,
    ) -> None:
        runtime = open_runtime(config)
        started = time.monotonic()
        with failing_on(service.CampaignError), session_scope(runtime.engine) as session:
            found = service.withdraw(session, runtime.config, runtime.relais.content, post_id, tr)
            audit.record(session, None, "post.withdrawn", post_id)
        out.print(service.withdrawal_text(found, tr), highlight=False)
        if not wait:
            return

        last: dict[str, service.Retraction] = {}

        def figures() -> tuple[int, int, str]:
            with Session(runtime.engine) as session:
                found = last["figures"] = service.retraction_of(session, post_id)
            text = tr(
                "retracted {done} · could not {failed} · remaining {remaining}",
                done=found.done,
                failed=found.failed,
                remaining=found.remaining,
            )
            return found.total, found.done + found.failed, text

        def done() -> bool:
            found = last.pop("figures", None)  # read by this poll's figures() already
            if found is None:
                with Session(runtime.engine) as session:
                    found = service.retraction_of(session, post_id)
            return found.remaining == 0

        asyncio.run(_follow(runtime, figures, done))
        with Session(runtime.engine) as session:
            final = service.retraction_of(session, post_id)
        out.print(
            tr(
                "{done} of {total} messages retracted ({failed} could not be) in {seconds:.1f} s.",
                done=final.done,
                total=final.total,
                failed=final.failed,
                seconds=time.monotonic() - started,
            ),
            highlight=False,
        )
