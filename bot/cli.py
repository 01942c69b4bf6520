"""The `relais` command line (Typer + Rich)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.clitext import translate_cli
from bot.config import AppConfig, load_config
from bot.db import DatabaseUrlError, make_engine, upgrade
from bot.i18n import Tr, cli_language
from bot.problems import ProblemsError
from bot.runtime import StartupError, build_runtime, prepare_database

tr = Tr(cli_language())
translate_cli(tr.lang)  # Typer's own words (Usage, Options, errors) too
out = Console(soft_wrap=True, emoji=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)

app = typer.Typer(
    help=tr("Relais: run your social media champions programme in Slack, Teams or a terminal."),
    no_args_is_help=True,
    add_completion=False,
)
content_app = typer.Typer(help=tr("Check the programme's content."), no_args_is_help=True)
db_app = typer.Typer(help=tr("Manage the database schema."), no_args_is_help=True)
members_app = typer.Typer(help=tr("Manage the programme's members."), no_args_is_help=True)
app.add_typer(content_app, name="content")
app.add_typer(db_app, name="db")
app.add_typer(members_app, name="members")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help=tr("app.yaml to use (default: $RELAIS_CONFIG or ./app.yaml).")
    ),
]


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(message, markup=False, highlight=False)
    raise typer.Exit(code)


def fail_problems(problems: ProblemsError) -> NoReturn:
    for problem in problems.problems:
        err.print(str(problem), markup=False, highlight=False)
    count = len(problems.problems)
    fail(tr.plural("{count} problem found.", "{count} problems found.", count, count=count))


def content_in_words(counts: dict[str, int], with_charter: bool = True) -> str:
    """'13 lessons, 6 posts, …' with each noun agreeing with its number."""
    parts = [
        tr.plural("{count} lesson", "{count} lessons", counts["lessons"], count=counts["lessons"]),
        tr.plural("{count} post", "{count} posts", counts["posts"], count=counts["posts"]),
    ]
    if with_charter:
        versions = counts["charter_versions"]
        parts.append(
            tr.plural(
                "{count} charter version", "{count} charter versions", versions, count=versions
            )
        )
    playbooks = counts["playbooks"]
    parts.append(tr.plural("{count} playbook", "{count} playbooks", playbooks, count=playbooks))
    return ", ".join(parts)


def load_programme(config: Path | None) -> AppConfig:
    """app.yaml, or exit 1 listing its problems."""
    try:
        return load_config(config, tr.lang)
    except ProblemsError as problems:
        fail_problems(problems)


def _engine():  # type: ignore[no-untyped-def]
    try:
        return make_engine()
    except DatabaseUrlError as exc:
        fail(
            tr(
                "RELAIS_DATABASE_URL is not a database URL ({value}); e.g. postgresql+psycopg://user@host/db",
                value=exc,
            )
        )


@content_app.command(
    "check", help=tr("Validate app.yaml and every content file; print path:line: problem for each.")
)
def content_check(
    path: Annotated[
        Path | None, typer.Argument(help=tr("Content folder (default: content/ next to app.yaml)."))
    ] = None,
    config: ConfigOption = None,
) -> None:
    from bot.config import config_path
    from bot.content.library import load_library

    file = config_path(config)
    try:
        programme = load_config(file, tr.lang)
    except ProblemsError as problems:
        fail_problems(problems)
    root = path or file.resolve().parent / "content"
    library, found = load_library(root, programme, tr.lang)
    if found:
        fail_problems(ProblemsError(found))
    counts = library.counts()
    out.print(
        tr(
            "OK: {config} and {root}: {counts} in {languages}.",
            config=file,
            root=root,
            counts=content_in_words(counts),
            languages=", ".join(programme.languages.available),
        ),
        highlight=False,
    )


@db_app.command(
    "upgrade",
    help=tr(
        "Apply every pending migration to the database ($RELAIS_DATABASE_URL or sqlite:///relais.db)."
    ),
)
def db_upgrade() -> None:
    engine = _engine()
    try:
        upgrade(engine)
    except Exception as exc:
        fail(
            tr(
                "Cannot upgrade {url}: {error}",
                url=engine.url.render_as_string(hide_password=True),
                error=str(exc).splitlines()[0],
            )
        )
    out.print(
        tr("Database {url} is up to date.", url=engine.url.render_as_string(hide_password=True)),
        highlight=False,
    )


@db_app.command(
    "revision",
    help=tr("For developers: write a new migration from the models (Alembic autogenerate)."),
)
def db_revision(
    message: Annotated[
        str, typer.Option("--message", "-m", help=tr("What the migration changes."))
    ],
) -> None:
    from alembic import command

    from bot.db import alembic_config

    engine = _engine()
    upgrade(engine)  # compare against a database at the latest revision
    command.revision(alembic_config(engine), message=message, autogenerate=True)


@members_app.command(
    "import",
    help=tr("Create or update members from a CSV file; bad rows are reported, the rest imported."),
)
def members_import(
    file: Annotated[
        Path,
        typer.Argument(
            help=tr(
                "CSV file: email, name, department, location, language, "
                "time_zone, roles, slack_user_id, teams_id."
            )
        ),
    ],
    config: ConfigOption = None,
) -> None:
    from bot.members.importer import count_lines, import_members

    programme = load_programme(config)
    if not file.is_file():
        fail(tr("{file}: file not found", file=file))
    engine = _engine()
    try:
        prepare_database(engine)
    except StartupError as exc:
        fail(str(exc))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task(tr("Importing"), total=count_lines(file) or None)
        report = import_members(
            engine, file, programme, tr.lang, lambda n: progress.advance(task, n)
        )
    for problem in report.problems:
        err.print(str(problem), markup=False, highlight=False)
    bad = len({p.line for p in report.problems if p.line > 1})
    out.print(
        ", ".join(
            [
                tr.plural(
                    "{count} member created",
                    "{count} members created",
                    report.created,
                    count=report.created,
                ),
                tr.plural(
                    "{count} updated", "{count} updated", report.updated, count=report.updated
                ),
                tr.plural(
                    "{count} unchanged",
                    "{count} unchanged",
                    report.unchanged,
                    count=report.unchanged,
                ),
                tr.plural(
                    "{count} row with problems.", "{count} rows with problems.", bad, count=bad
                ),
            ]
        ),
        highlight=False,
    )
    if report.rows_ok == 0 and report.problems:
        raise typer.Exit(1)


@members_app.command("list", help=tr("Show members with their department, language and roles."))
def members_list(config: ConfigOption = None, limit: int = 50) -> None:
    from sqlmodel import Session, select

    from bot.members import service
    from bot.members.models import Member

    programme = load_programme(config)
    engine = _engine()
    try:
        prepare_database(engine)
    except StartupError as exc:
        fail(str(exc))
    table = Table(
        tr("E-mail"), tr("Name"), tr("Department"), tr("Language"), tr("Roles"), tr("In programme")
    )
    with Session(engine) as session:
        for member in session.exec(select(Member).order_by(Member.email).limit(limit)).all():
            table.add_row(
                member.email,
                member.name,
                member.department or "",
                member.language,
                ", ".join(sorted(service.roles(member, programme))),
                tr("yes") if member.opted_in else tr("no"),
            )
    out.print(table)


@app.command(help=tr("Run Relais: web endpoints, scheduler and delivery worker."))
def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help=tr("Address to listen on."))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=tr("Port to listen on."))] = 8000,
) -> None:
    import uvicorn

    from bot.web import create_app

    logging.basicConfig(
        level=os.environ.get("RELAIS_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        runtime = build_runtime(config)
    except ProblemsError as problems:
        err.print(tr("Relais cannot start: the configuration or content has problems."))
        fail_problems(problems)
    except (StartupError, DatabaseUrlError) as exc:
        fail(tr("Relais cannot start: {reason}", reason=exc))
    counts = runtime.relais.content.counts()
    out.print(
        tr(
            "Relais is running the programme “{name}” ({model}) on {database}.",
            name=runtime.config.programme.name,
            model=runtime.config.programme.organisation_model,
            database=runtime.engine.url.render_as_string(hide_password=True),
        ),
        highlight=False,
    )
    out.print(
        tr(
            "Content: {counts}. Platforms: {platforms}.",
            counts=content_in_words(counts, with_charter=False),
            platforms=", ".join(runtime.platforms),
        ),
        highlight=False,
    )
    out.print(
        tr("Health check: http://{host}:{port}/healthz", host=host, port=port), highlight=False
    )
    if "console" in runtime.platforms:
        out.print(
            tr(
                "Chat as a demo member, in another terminal: .venv/bin/relais console --as karim.benali@example.com"
            ),
            highlight=False,
        )
    uvicorn.run(create_app(runtime), host=host, port=port, log_level="warning")


def _adapter_commands() -> None:
    """Let each adapter add its own commands (`relais console`, later `relais teams package`…)."""
    import importlib
    import pkgutil

    import adapters

    for module in pkgutil.iter_modules(adapters.__path__):
        try:
            commands = importlib.import_module(f"adapters.{module.name}.cli")
        except ModuleNotFoundError as exc:
            if exc.name == f"adapters.{module.name}.cli":
                continue
            raise
        commands.register(app)


_adapter_commands()


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
