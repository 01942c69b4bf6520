"""The `relais` command line (Typer + Rich)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.padding import Padding
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.clitext import translate_cli
from bot.config import AppConfig, load_config
from bot.db import DatabaseUrlError, make_engine, upgrade
from bot.i18n import Tr, cli_language
from bot.problems import ProblemsError
from bot.runtime import Runtime, StartupError, build_runtime, prepare_database

if TYPE_CHECKING:
    from bot.content.library import ContentLibrary
    from bot.permissions import Target

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


def _prepared_engine():  # type: ignore[no-untyped-def]
    """The database, upgraded if it is the embedded one; or exit 1 saying why not."""
    engine = _engine()
    try:
        prepare_database(engine)
    except StartupError as exc:
        fail(str(exc))
    return engine


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


# --- what every capability's commands open the same way ---------------------------------------


def operator_programme(config: Path | None, action: str, target: Target | None = None) -> AppConfig:
    """app.yaml, once the permission model lets the command line (the operator principal) do
    ``action`` (over ``target``, if given); or exit 1 saying it may not."""
    from bot.permissions import Actor, Permissions

    programme = load_programme(config)
    if not Permissions(programme).allows(Actor.operator(), action, target):
        fail(tr("The command line may not do this."))
    return programme


def load_content(config: Path | None, programme: AppConfig) -> ContentLibrary:
    """content/ beside app.yaml, or exit 1 listing its problems."""
    from bot.config import config_path
    from bot.content.library import load_library

    root = config_path(config).resolve().parent / "content"
    library, problems = load_library(root, programme, tr.lang)
    if problems:
        fail_problems(ProblemsError(problems))
    return library


@contextmanager
def starting() -> Iterator[None]:
    """Exit 1 where what runs inside cannot start: the problems of app.yaml or the content
    listed, or why the database or the runtime cannot be had."""
    try:
        yield
    except ProblemsError as problems:
        fail_problems(problems)
    except (StartupError, DatabaseUrlError) as exc:
        fail(str(exc))


def open_runtime(config: Path | None) -> Runtime:
    """The whole runtime (app.yaml, content, database, platforms), or exit 1 saying why not."""
    with starting():
        runtime = build_runtime(config)
    return runtime


@contextmanager
def failing_on(*errors: type[Exception], say: Callable[[Any], str] = str) -> Iterator[None]:
    """Exit 1 with a clear message where a service refuses (raises one of ``errors``):
    the error's own words, or ``say(error)``."""
    try:
        yield
    except errors as error:
        fail(say(error))


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
    waiting = sum(
        1
        for versions in library.posts.values()
        if not (versions.get(programme.languages.default) or next(iter(versions.values()))).approved
    )
    if waiting:
        out.print(
            tr.plural(
                "{count} post has no approved_by in its front matter: it will wait for "
                "approval in chat (`posts`).",
                "{count} posts have no approved_by in their front matter: they will wait for "
                "approval in chat (`posts`).",
                waiting,
                count=waiting,
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
    sync: Annotated[
        bool,
        typer.Option(
            "--sync",
            help=tr(
                "The file lists the whole company: mark as left every member it does not list "
                "(they receive nothing more; their history stays)."
            ),
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help=tr(
                "With --sync: mark them as left even if that is more than half of the members."
            ),
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    from bot.members.importer import count_lines, import_members

    programme = load_programme(config)
    if force and not sync:
        fail(tr("--force only goes with --sync."))
    if not file.is_file():
        fail(tr("{file}: file not found", file=file))
    engine = _prepared_engine()
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
            engine,
            file,
            programme,
            tr.lang,
            lambda n: progress.advance(task, n),
            sync=sync,
            force=force,
        )
    for problem in report.problems:
        err.print(str(problem), markup=False, highlight=False)
    if report.refused:
        fail(
            tr(
                "Nothing imported: {file} does not list {leaving} of the {active} active members, "
                "and --sync would mark them all as left. Is it the whole HR export? "
                "If it is, run the same command with --force.",
                file=file,
                leaving=report.refused.leaving,
                active=report.refused.active,
            )
        )
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
    if report.returned:
        out.print(
            tr.plural(
                "{count} member who had left is listed again and active again.",
                "{count} members who had left are listed again and active again.",
                report.returned,
                count=report.returned,
            ),
            highlight=False,
        )
    if report.left is not None:
        out.print(
            tr.plural(
                "{count} member not in the file marked as left: they will receive nothing more.",
                "{count} members not in the file marked as left: they will receive nothing more.",
                report.left,
                count=report.left,
            ),
            highlight=False,
        )
    if report.rows_ok == 0 and report.problems:
        raise typer.Exit(1)


EmailsArgument = Annotated[list[str], typer.Argument(help=tr("E-mail addresses of members."))]


def _set_left(emails: list[str], left: bool) -> None:
    """Mark members as left (or back); unknown e-mails are named and exit 1, the others done."""
    from bot.db import session_scope
    from bot.members import service

    engine = _prepared_engine()
    unknown = []
    with session_scope(engine) as session:
        for email in emails:
            member = service.by_email(session, email)
            if member is None:
                unknown.append(email)
            elif not service.set_left(session, member, left):
                out.print(
                    tr("{email} had already left.", email=member.email)
                    if left
                    else tr("{email} is already active.", email=member.email),
                    highlight=False,
                )
            else:
                out.print(
                    tr(
                        "{email} is marked as left: they will receive nothing more.",
                        email=member.email,
                    )
                    if left
                    else tr("{email} is active again.", email=member.email),
                    highlight=False,
                )
    if unknown:
        fail(tr("No member has the e-mail: {emails}", emails=", ".join(unknown)))


@members_app.command(
    "deactivate",
    help=tr(
        "Mark members as left the company: they receive nothing more and the bot no longer "
        "knows them; their history stays for the figures."
    ),
)
def members_deactivate(emails: EmailsArgument) -> None:
    _set_left(emails, True)


@members_app.command(
    "reactivate", help=tr("Bring back members marked as left (their own opt-out is kept).")
)
def members_reactivate(emails: EmailsArgument) -> None:
    _set_left(emails, False)


CSV_COLUMNS = (
    "email",
    "name",
    "department",
    "location",
    "language",
    "time_zone",
    "roles",
    "opted_in",
    "left_at",
)


@members_app.command("list", help=tr("Show members with their department, language and roles."))
def members_list(
    config: ConfigOption = None,
    everyone: Annotated[
        bool, typer.Option("--all", help=tr("Also show the members who have left."))
    ] = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help=tr("Print CSV (every member) instead of a table."))
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            help=tr("How many members to show (default: 50 in the table, all in CSV; 0: all).")
        ),
    ] = None,
) -> None:
    import csv

    from sqlalchemy import func
    from sqlmodel import Session, select

    from bot.members import service
    from bot.members.models import Member

    programme = load_programme(config)
    engine = _prepared_engine()
    shown = limit if limit is not None else (0 if as_csv else 50)
    query = select(Member).order_by(Member.email)
    counted = select(func.count()).select_from(Member)
    if not everyone:
        query = query.where(Member.left_at.is_(None))  # type: ignore[union-attr]
        counted = counted.where(Member.left_at.is_(None))  # type: ignore[union-attr]
    if shown > 0:
        query = query.limit(shown)
    with Session(engine) as session:
        found = session.exec(query).all()
        total = session.execute(counted).scalar_one()
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for member in found:
            writer.writerow(
                [
                    member.email,
                    member.name,
                    member.department or "",
                    member.location or "",
                    member.language,
                    member.time_zone,
                    ";".join(sorted(service.roles(member, programme))),
                    "yes" if member.opted_in else "no",
                    member.left_at.date().isoformat() if member.left_at else "",
                ]
            )
    else:
        rows = [
            (
                member.email,
                member.name,
                member.department or "",
                member.language,
                ", ".join(sorted(service.roles(member, programme))),
                tr("left on {date}", date=member.left_at.date().isoformat())
                if member.left_at
                else (tr("yes") if member.opted_in else tr("no")),
            )
            for member in found
        ]
        _print_members(rows)
    if len(found) < total:
        err.print(
            tr(
                "{shown} of {total} members shown: --limit 0 shows them all.",
                shown=len(found),
                total=total,
            ),
            highlight=False,
        )


def _print_members(rows: list[tuple[str, ...]]) -> None:
    """A table whose e-mails are never cut; one member per paragraph if they cannot fit."""
    headers = (
        tr("E-mail"),
        tr("Name"),
        tr("Department"),
        tr("Language"),
        tr("Roles"),
        tr("In programme"),
    )
    longest = max([len(row[0]) for row in rows] + [len(headers[0])])
    # Borders and padding take 3 characters per column; the others need ~10 to stay readable.
    if longest + 3 * len(headers) + 1 + 10 * (len(headers) - 1) > out.width:
        for row in rows:
            out.print(row[0], markup=False, highlight=False)
            details = " · ".join(cell for cell in row[1:] if cell)
            out.print(Padding(details, (0, 0, 0, 2), expand=False), markup=False, soft_wrap=False)
        return
    table = Table(*headers)
    table.columns[0].no_wrap = True
    table.columns[0].min_width = longest
    for column in table.columns[1:]:
        column.overflow = "fold"
    for row in rows:
        table.add_row(*row)
    out.print(table)


@app.command(help=tr("Run Relais: web endpoints, scheduler and delivery worker."))
def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help=tr("Address to listen on."))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=tr("Port to listen on."))] = 8000,
) -> None:
    import uvicorn

    from bot import logs
    from bot.web import create_app

    logs.configure()  # the environment's choice until app.yaml is read
    try:
        runtime = build_runtime(config)
    except ProblemsError as problems:
        err.print(tr("Relais cannot start: the configuration or content has problems."))
        fail_problems(problems)
    except (StartupError, DatabaseUrlError) as exc:
        fail(tr("Relais cannot start: {reason}", reason=exc))
    logs.configure(runtime.config)
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
    # Everything loaded so far (code, configuration, content) lives as long as the process:
    # moved out of the collector's sight, it is not walked again by every full collection,
    # which otherwise paused the event loop for 100-200 ms under load (p99 acknowledgement).
    gc.collect()
    gc.freeze()
    uvicorn.run(create_app(runtime), host=host, port=port, log_level="warning")


def _plugged_commands() -> None:
    """Let each capability and adapter add its own commands.

    A capability's ``bot/<name>/cli.py`` (``relais campaign …``, ``relais crisis …``) and an
    adapter's ``adapters/<name>/cli.py`` (``relais console``, ``relais teams package``) each
    have ``register(app)``, so a new feature does not edit this file.
    """
    import importlib
    import pkgutil

    import adapters
    import bot

    for package in (bot, adapters):
        for module in pkgutil.iter_modules(package.__path__):
            if not module.ispkg:
                continue
            name = f"{package.__name__}.{module.name}.cli"
            try:
                commands = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name == name:
                    continue
                raise
            commands.register(app)


_plugged_commands()


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
