"""`relais dashboard link EMAIL`, `relais stats fold` and `relais demo seed`: reporting's
command line."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from typing import Annotated

import typer

from bot.cli import ConfigOption, err, fail, load_programme, operator_programme, out, tr

_ONE_DAY = timedelta(days=1)


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(
            tr("{option}: “{text}” is not a day; write it as 2026-11-23.", option=option, text=text)
        )


def _progress():  # type: ignore[no-untyped-def]
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=not sys.stderr.isatty(),
    )


def register(app: typer.Typer) -> None:
    dashboard = typer.Typer(help=tr("The reporting dashboard."), no_args_is_help=True)
    app.add_typer(dashboard, name="dashboard")

    @dashboard.command(
        "link",
        help=tr(
            "Print a sign-in link to the dashboard for a member: it works once, for 15 "
            "minutes, and shows what that member may see."
        ),
    )
    def link(
        email: Annotated[str, typer.Argument(help=tr("The member's e-mail address."))],
        config: ConfigOption = None,
    ) -> None:
        from sqlmodel import Session, select

        from bot.cli import _prepared_engine
        from bot.members.models import Member
        from bot.reporting import access

        load_programme(config)
        engine = _prepared_engine()
        try:
            access.secret_for(engine)
        except access.NoSecret as exc:
            fail(str(exc))
        with Session(engine) as session:
            member = session.exec(
                select(Member).where(Member.email == email.strip().lower())
            ).first()
            if member is None or member.left_at is not None:
                fail(tr("No member has the e-mail address {email}.", email=email))
            url = access.new_link(session, member)
            session.commit()
        out.print(url, markup=False)

    stats = typer.Typer(help=tr("The participation figures."), no_args_is_help=True)
    app.add_typer(stats, name="stats")

    @stats.command(
        "fold",
        help=tr(
            "Fold the participation events not folded yet into the reporting rollups (on a "
            "database that had none, or after an import); with a period, --from/--to or --all, "
            "count those periods again from the raw events. Running it twice changes nothing."
        ),
    )
    def fold(
        period: Annotated[
            str | None,
            typer.Argument(
                help=tr(
                    "A period to count again: last-week, last-month, 2026-W47, 2026-11, 2026-Q4…"
                ),
                show_default=False,
            ),
        ] = None,
        first: Annotated[
            str | None,
            typer.Option(
                "--from", help=tr("Count again from this day (2026-01-31)."), show_default=False
            ),
        ] = None,
        last: Annotated[
            str | None,
            typer.Option(
                "--to",
                help=tr("Count again up to this day, included (default: today)."),
                show_default=False,
            ),
        ] = None,
        everything: Annotated[
            bool,
            typer.Option("--all", help=tr("Count every period again, from the first event.")),
        ] = False,
        config: ConfigOption = None,
    ) -> None:
        from sqlalchemy import func, select
        from sqlmodel import Session

        from bot import permissions
        from bot.cli import _prepared_engine
        from bot.clock import local, utcnow
        from bot.config import config_path
        from bot.content.library import load_library
        from bot.db import session_scope
        from bot.i18n import NP_
        from bot.participation.models import ParticipationEvent
        from bot.reporting import measures, periods, rollup

        # Statistics span every department: the operator must cover the whole programme.
        programme = operator_programme(config, permissions.STATS, permissions.EVERYONE)
        if sum((period is not None, first is not None or last is not None, everything)) > 1:
            fail(tr("Give one of: a period, --from/--to, or --all."))
        zone = programme.time.zone
        now = utcnow()
        today = local(now, zone).date()
        span: tuple[date, date] | None = None
        if period is not None:
            try:
                chosen = periods.parse(period[:20], now, zone, tr)
            except periods.PeriodError as exc:
                fail(str(exc))
            span = (chosen.start, periods.after(chosen.grain, chosen.start) - _ONE_DAY)
        elif first is not None or last is not None:
            start = _day(first, "--from")
            end = _day(last, "--to") or today
            if start is None:
                fail(tr("--to needs --from: from which day?"))
            if end < start:
                fail(
                    tr(
                        "--to ({end}) is before --from ({start}).",
                        end=end.isoformat(),
                        start=start.isoformat(),
                    )
                )
            span = (start, end)
        engine = _prepared_engine()
        if everything:
            with Session(engine) as session:
                oldest = session.execute(select(func.min(ParticipationEvent.occurred_at))).scalar()
            if oldest is not None:
                span = (local(oldest, zone).date(), today)

        started = now
        with _progress() as progress:
            waiting = rollup.pending(engine)
            task = progress.add_task(tr("Folding new events"), total=waiting or None)
            folded = rollup.catch_up(engine, zone, progress=lambda n: progress.advance(task, n))
            progress.update(task, total=max(folded, 1), completed=max(folded, 1))
            rebuilt = None
            if span is not None:
                again = progress.add_task(tr("Counting periods again"), total=None)
                rebuilt = rollup.rebuild(
                    engine,
                    zone,
                    span[0],
                    span[1],
                    progress=lambda n: progress.advance(again, n),
                    total=lambda n: progress.update(again, total=n or 1),
                )
                progress.update(again, completed=rebuilt.events or 1)
        root = config_path(config).resolve().parent / "content"
        library, problems = load_library(root, programme, tr.lang)
        version = measures.charter_version(library) if not problems else None
        with session_scope(engine) as session:
            measures.refresh_heads(session, version)
        seconds = (utcnow() - started).total_seconds()
        out.print(
            tr.plural(
                "{count} new event folded into the rollups.",
                "{count} new events folded into the rollups.",
                folded,
                count=f"{folded:,}",
            ),
            markup=False,
        )
        if rebuilt is not None:
            counted = ", ".join(
                tr.plural(*words, rebuilt.periods[grain], count=rebuilt.periods[grain])
                for grain, words in (
                    ("week", NP_("{count} week", "{count} weeks")),
                    ("month", NP_("{count} month", "{count} months")),
                    ("quarter", NP_("{count} quarter", "{count} quarters")),
                )
            )
            out.print(
                tr(
                    "Counted again from {events} raw events: {periods}, from {first} to {last}.",
                    events=f"{rebuilt.events:,}",
                    periods=counted,
                    first=rebuilt.first.isoformat(),
                    last=(rebuilt.end - _ONE_DAY).isoformat(),
                ),
                markup=False,
            )
        left = rollup.pending(engine)
        out.print(
            tr(
                "Head counts refreshed. Done in {seconds:.1f} s.",
                seconds=seconds,
            )
            + (
                " "
                + tr.plural(
                    "{count} event younger than 5 minutes is read live until the next fold.",
                    "{count} events younger than 5 minutes are read live until the next fold.",
                    left,
                    count=left,
                )
                if left
                else ""
            ),
            markup=False,
        )

    demo = typer.Typer(help=tr("The demo programme."), no_args_is_help=True)
    app.add_typer(demo, name="demo")

    @demo.command(
        "seed",
        help=tr(
            "Fill the demo programme with invented, clearly labelled participation over the "
            "last weeks, so the dashboard and the digest have something to show. Refuses "
            "any database that holds a real programme."
        ),
    )
    def seed(
        weeks: Annotated[
            int, typer.Option("--weeks", min=1, max=52, help=tr("How many weeks."))
        ] = 8,
        config: ConfigOption = None,
    ) -> None:
        from bot.cli import _prepared_engine
        from bot.config import config_path
        from bot.content.sync import load_checked
        from bot.problems import ProblemsError
        from bot.reporting import demo as demo_data
        from bot.reporting.measures import charter_version

        programme = load_programme(config)
        try:
            content = load_checked(
                config_path(config).resolve().parent / "content", programme, tr.lang
            )
        except ProblemsError as exc:
            fail(str(exc))
        engine = _prepared_engine()
        try:
            count = demo_data.seed(engine, programme, weeks, charter_version(content))
        except demo_data.NotTheDemo as exc:
            fail(str(exc))
        out.print(
            tr(
                "{count} invented participation events over {weeks} weeks, marked demo: "
                "the dashboard and the digest now have figures to show.",
                count=count,
                weeks=weeks,
            )
        )
