"""`relais audit export`: the whole audit log (or since a date), as CSV or JSON lines."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

from bot.cli import ConfigOption, _prepared_engine, fail, operator_programme, tr
from bot.permissions import AUDIT


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def parse_since(text: str) -> datetime:
    """A date (2026-11-01) or a moment (2026-11-01T09:00+01:00); naive means UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(
            tr(
                "--since {value} is not a date: write e.g. 2026-11-01 or 2026-11-01T09:00+01:00.",
                value=text,
            )
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(help=tr("The audit log: who did what, when, from where."))
    app.add_typer(audit_app, name="audit", no_args_is_help=True)

    @audit_app.command(
        "export",
        help=tr(
            "Print the audit log, oldest first, as CSV or JSON lines (the export is itself "
            "recorded in the log)."
        ),
    )
    def export(
        since: Annotated[
            str | None,
            typer.Option("--since", help=tr("Only lines from this date (or moment) on.")),
        ] = None,
        form: Annotated[Format, typer.Option("--format", help=tr("csv or jsonl."))] = Format.csv,
        config: ConfigOption = None,
    ) -> None:
        from bot.audit import service
        from bot.db import session_scope

        operator_programme(config, AUDIT)
        start = parse_since(since) if since else None
        engine = _prepared_engine()
        write = sys.stdout.write
        with session_scope(engine) as session:
            if form is Format.csv:
                write(service.csv_header())
            lines = 0
            for entry in service.since(session, start):
                write(service.csv_line(entry) if form is Format.csv else service.jsonl_line(entry))
                lines += 1
            service.record(
                session,
                None,
                "audit.exported",
                "",
                {
                    "since": start.isoformat() if start else None,
                    "format": form.value,
                    "lines": lines,
                },
            )
