"""`relais dashboard link EMAIL` and `relais demo seed`: reporting's command line."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli import ConfigOption, fail, load_programme, out, tr


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
