"""`relais crisis declare|end|status|export|drill`: crisis mode from the server's command line.

`relais crisis drill PLAYBOOK [--audience …]` runs an exercise; `relais crisis drill status`,
`relais crisis drill end` and `relais crisis drill report [N]` follow it.

The command line runs as the operator principal; it still asks the permission
model, like every entry point. It queues the alerts; `relais serve` sends them.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bot import audit
from bot.cli import (
    ConfigOption,
    _prepared_engine,
    fail,
    failing_on,
    load_content,
    operator_programme,
    out,
    tr,
)
from bot.permissions import CRISIS, CRISIS_BOARD, Actor, Permissions


class Format(StrEnum):
    md = "md"
    csv = "csv"


def _print_board(heading: str, found) -> None:  # type: ignore[no-untyped-def]
    """Who has read the alert: the heading, then a line per department."""
    out.print(heading, highlight=False, markup=False)
    for line in found.lines:
        out.print(
            f"  {line.name}: {line.read}/{line.alerted} ({line.percent}%)",
            highlight=False,
            markup=False,
        )


def register(app: typer.Typer) -> None:
    crisis_app = typer.Typer(
        help=tr("Crisis mode: declare a crisis from a playbook, follow it, end it, export it."),
        no_args_is_help=True,
    )
    app.add_typer(crisis_app, name="crisis")

    @crisis_app.command(
        "declare",
        help=tr(
            "Declare a crisis: promotional messages pause, the crisis cell is alerted with "
            "their roles, every ambassador receives the holding statement."
        ),
    )
    def declare(
        playbook: Annotated[str, typer.Argument(help=tr("The playbook's id (content/playbooks)."))],
        note: Annotated[
            str, typer.Option("--note", help=tr("What is happening, in a few words."))
        ] = "",
        config: ConfigOption = None,
    ) -> None:
        from bot.crisis import service
        from bot.db import session_scope

        programme = operator_programme(config, CRISIS)
        library = load_content(config, programme)
        engine = _prepared_engine()
        with failing_on(service.CrisisRefused), session_scope(engine) as session:
            declared = service.declare(
                session,
                programme,
                library,
                tr,
                playbook_id=playbook.strip().lower(),
                note=note,
                by=None,
                via="cli",
            )
            crisis_id = declared.crisis.id
            audit.record(session, None, "crisis.declared", crisis_id, {"playbook": playbook})
        out.print(
            tr.plural(
                "Crisis {id} declared: {title}. Promotional messages are paused; alerts queued "
                "for {count} person, those the playbook names first (relais serve sends them).",
                "Crisis {id} declared: {title}. Promotional messages are paused; alerts queued "
                "for {count} people, those the playbook names first (relais serve sends them).",
                declared.cell + declared.ambassadors,
                id=crisis_id,
                title=service.title_of(library, declared.crisis, tr.lang),
                count=declared.cell + declared.ambassadors,
            ),
            highlight=False,
            markup=False,
        )

    @crisis_app.command(
        "end",
        help=tr("End the crisis: promotional messages resume and everyone alerted is told."),
    )
    def end(
        summary: Annotated[
            str,
            typer.Option("--summary", help=tr("How it ended, told to everyone who was alerted.")),
        ],
        config: ConfigOption = None,
    ) -> None:
        from bot.crisis import service
        from bot.db import session_scope

        programme = operator_programme(config, CRISIS)
        library = load_content(config, programme)
        engine = _prepared_engine()
        with failing_on(service.CrisisRefused), session_scope(engine) as session:
            ended, told = service.end(
                session, programme, library, tr, summary=summary, by=None, via="cli"
            )
            audit.record(session, None, "crisis.ended", ended.id, {"told": told})
        out.print(
            tr.plural(
                "Crisis {id} ended: promotional messages resume; {count} person is told. "
                "Export its timeline with: relais crisis export {id}",
                "Crisis {id} ended: promotional messages resume; {count} people are told. "
                "Export its timeline with: relais crisis export {id}",
                told,
                id=ended.id,
                count=told,
            ),
            highlight=False,
            markup=False,
        )

    @crisis_app.command("status", help=tr("Who has read the crisis alert, by department."))
    def status(config: ConfigOption = None) -> None:
        from sqlmodel import Session

        from bot.crisis import service

        programme = operator_programme(config, CRISIS_BOARD)
        library = load_content(config, programme)
        engine = _prepared_engine()
        with Session(engine) as session:
            current = service.active(session)
            if current is None:
                out.print(tr("No crisis is in progress."))
                return
            reach = Permissions(programme).reach(Actor.operator(), CRISIS_BOARD)
            found = service.board(session, programme, library, current, reach, tr.lang)
        _print_board(
            tr.plural(
                "Crisis {id}: {title}. {read} of {alerted} person has read it.",
                "Crisis {id}: {title}. {read} of {alerted} people have read it.",
                found.alerted,
                id=current.id,
                title=found.title,
                read=found.read,
                alerted=found.alerted,
            ),
            found,
        )

    @crisis_app.command(
        "drill",
        help=tr(
            "A crisis exercise: PLAYBOOK starts one (every message marked EXERCISE, nothing "
            "paused); status shows who has read it; end closes it and prints its report; "
            "report [N] prints a report again."
        ),
    )
    def drill_command(
        what: Annotated[str, typer.Argument(help=tr("A playbook's id, or status, end, report."))],
        number: Annotated[
            int | None, typer.Argument(help=tr("With report: the exercise's number."))
        ] = None,
        audience: Annotated[
            list[str] | None,
            typer.Option(
                "--audience",
                help=tr(
                    "Who gets the statement besides the crisis cell: all, department:ID, "
                    "business_unit:ID, location:NAME, language:CODE, role:ROLE (repeatable)."
                ),
            ),
        ] = None,
        config: ConfigOption = None,
    ) -> None:
        from sqlmodel import Session

        from bot.crisis import drill, service
        from bot.db import session_scope

        word = what.strip().lower()
        programme = operator_programme(config, CRISIS_BOARD if word == "status" else CRISIS)
        library = load_content(config, programme)
        engine = _prepared_engine()
        if word == "status":
            with Session(engine) as session:
                reach = Permissions(programme).reach(Actor.operator(), CRISIS_BOARD)
                found = drill.board(session, programme, library, reach, tr.lang)
            if found is None:
                fail(tr("No exercise is running."))
            _print_board(
                tr.plural(
                    "Exercise {id}: {title}. {read} of {alerted} person has read it.",
                    "Exercise {id}: {title}. {read} of {alerted} people have read it.",
                    found.alerted,
                    id=found.crisis.id,
                    title=found.title,
                    read=found.read,
                    alerted=found.alerted,
                ),
                found,
            )
            return
        with failing_on(service.CrisisRefused), session_scope(engine) as session:
            if word == "end":
                ended, told = drill.end(session, programme, library, tr, by=None, via="cli")
                out.print(
                    service.exercise(
                        tr,
                        tr.plural(
                            "The exercise is over; {count} person is told. Its report:",
                            "The exercise is over; {count} people are told. Its report:",
                            told,
                            count=told,
                        ),
                    ),
                    highlight=False,
                    markup=False,
                )
                shown = ended
            elif word == "report":
                shown = drill.find(session, number)
                if shown is None:
                    fail(tr("No exercise has the number {id}.", id=number or "—"))
            else:
                started = drill.start(
                    session,
                    programme,
                    library,
                    tr,
                    playbook_id=word,
                    audience=audience or [],
                    by=None,
                    via="cli",
                )
                out.print(
                    service.exercise(
                        tr,
                        tr.plural(
                            "Exercise {id} started: {title}. Nothing is paused; alerts "
                            "queued for {count} person, the crisis cell first (relais "
                            "serve sends them).",
                            "Exercise {id} started: {title}. Nothing is paused; alerts "
                            "queued for {count} people, the crisis cell first (relais "
                            "serve sends them).",
                            started.cell + started.ambassadors,
                            id=started.crisis.id,
                            title=service.title_of(library, started.crisis, tr.lang),
                            count=started.cell + started.ambassadors,
                        ),
                    ),
                    highlight=False,
                    markup=False,
                )
                return
            found = drill.report(session, programme, library, shown)
            title = service.title_of(library, shown, tr.lang)
            for heading, text in drill.report_lines(found, programme, tr, title):
                out.print(f"\n{heading}", highlight=False, markup=False)
                for line in text.splitlines():
                    out.print(f"  {line}", highlight=False, markup=False)

    @crisis_app.command(
        "export",
        help=tr("The crisis timeline for the post-mortem, as Markdown or CSV."),
    )
    def export(
        crisis_id: Annotated[int, typer.Argument(help=tr("The crisis number."))],
        format: Annotated[
            Format, typer.Option("--format", help=tr("md (Markdown) or csv."))
        ] = Format.md,
        output: Annotated[
            Path | None,
            typer.Option("--output", "-o", help=tr("Write to this file instead of the screen.")),
        ] = None,
        config: ConfigOption = None,
    ) -> None:
        import sys

        from sqlmodel import Session

        from bot.crisis import export as exporting

        programme = operator_programme(config, CRISIS_BOARD)
        engine = _prepared_engine()
        with Session(engine) as session:
            found = exporting.timeline(session, programme, crisis_id, tr.lang)
            if found is None:
                fail(tr("No crisis has the number {id}.", id=crisis_id))
            text = (
                exporting.markdown(found, tr.lang)
                if format is Format.md
                else exporting.csv_text(found)
            )
            audit.record(session, None, "crisis.exported", crisis_id, {"format": format.value})
            session.commit()
        if output is None:
            sys.stdout.write(text)
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(tr("Cannot write {file}: {error}", file=output, error=exc.strerror or exc))
        out.print(tr("Written: {file}", file=output), highlight=False, markup=False)


__all__ = ["register"]
