"""`relais posts list`: where every post stands, from the server's command line.

The content files are checked and synced first, as `relais serve` does at start,
so a post just written in ``content/posts`` is listed with its approval state.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bot.cli import ConfigOption, _prepared_engine, fail, load_content, operator_programme, out, tr
from bot.permissions import APPROVE
from bot.posts.models import STATUSES


def register(app: typer.Typer) -> None:
    posts_app = typer.Typer(help=tr("Posts and their approval."), no_args_is_help=True)
    app.add_typer(posts_app, name="posts")

    @posts_app.command(
        "list",
        help=tr("List posts with their status, origin, sensitive topic and last day."),
    )
    def list_posts(
        status: Annotated[
            str | None,
            typer.Option("--status", help=tr("Only posts with this status (e.g. submitted).")),
        ] = None,
        config: ConfigOption = None,
    ) -> None:
        from sqlmodel import col, select

        from bot.content.sync import sync
        from bot.db import session_scope
        from bot.posts import service
        from bot.posts.handlers import STATUS_NAMES
        from bot.posts.models import Post

        programme = operator_programme(config, APPROVE)
        if status is not None and status not in STATUSES:
            fail(
                tr(
                    "Unknown status '{status}': choose one of {statuses}.",
                    status=status,
                    statuses=", ".join(STATUSES),
                )
            )
        library = load_content(config, programme)
        engine = _prepared_engine()
        with session_scope(engine) as session:
            sync(session, library, programme)
            query = select(Post).order_by(col(Post.updated_at).desc(), col(Post.id))
            if status is not None:
                query = query.where(Post.status == status)
            posts = session.exec(query).all()
            rows = []
            for post in posts:
                contents = service.contents_of(session, post.id)
                content = (
                    contents.get(tr.lang)
                    or contents.get(programme.languages.default)
                    or next(iter(contents.values()), None)
                )
                department = programme.department(post.department)
                rows.append(
                    (
                        post.id,
                        tr(STATUS_NAMES.get(post.status, post.status)),
                        content.title if content else "",
                        (department.name.get(tr.lang) or department.id) if department else "—",
                        post.topic or "",
                        post.expires.isoformat() if post.expires else "",
                    )
                )
        if not rows:
            out.print(tr("No post."))
            return
        table = Table(
            tr("id"), tr("status"), tr("title"), tr("from"), tr("sensitive topic"), tr("last day")
        )
        table.columns[0].no_wrap = True
        for column in table.columns[1:]:
            column.overflow = "fold"
        for row in rows:
            table.add_row(*row)
        out.print(table)
