"""`relais teams package`: the Teams app package to upload in the Teams admin centre."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from bot.cli import ConfigOption, fail, load_programme, out, tr


def register(app: typer.Typer) -> None:
    teams = typer.Typer(help=tr("Microsoft Teams: build the app package."), no_args_is_help=True)
    app.add_typer(teams, name="teams")

    @teams.command(
        "package",
        help=tr(
            "Build the Teams app package (manifest.json and icons, in a zip) to upload in the "
            "Teams admin centre. The bot id comes from platforms.teams.app_id ($MicrosoftAppId)."
        ),
    )
    def package(
        website_url: Annotated[
            str | None,
            typer.Option(
                "--website-url",
                help=tr("Your programme's web page (https), shown in Teams' app details."),
            ),
        ] = None,
        out_file: Annotated[
            Path, typer.Option("--out", "-o", help=tr("Where to write the zip."))
        ] = Path("relais-teams.zip"),
        privacy_url: Annotated[
            str | None,
            typer.Option(
                "--privacy-url", help=tr("Privacy statement (https); default: the web page.")
            ),
        ] = None,
        terms_url: Annotated[
            str | None,
            typer.Option("--terms-url", help=tr("Terms of use (https); default: the web page.")),
        ] = None,
        version: Annotated[
            str,
            typer.Option("--version", help=tr("App version; raise it for each new upload.")),
        ] = "1.0.0",
        app_id: Annotated[
            str | None,
            typer.Option("--app-id", help=tr("Teams app id (a GUID); default: the bot id.")),
        ] = None,
        name: Annotated[
            str, typer.Option("--name", help=tr("Short name shown in Teams (30 characters)."))
        ] = "Relais",
        config: ConfigOption = None,
    ) -> None:
        from adapters.teams.auth import setting
        from adapters.teams.manifest import PackageError, PackageOptions, build_package

        programme = load_programme(config)
        settings = programme.platforms.teams
        bot_id = setting(settings, "app_id", dict(os.environ))
        if not bot_id:
            variable = getattr(settings.app_id, "variable", None) or "MicrosoftAppId"
            fail(
                tr(
                    "The bot's Microsoft app id is not set: export {variable} (see docs/teams.md).",
                    variable=variable,
                )
            )
        if not website_url:
            fail(
                tr(
                    "Say where people can read about your programme: --website-url https://… "
                    "(Teams shows it in the app's details)."
                )
            )
        options = PackageOptions(
            bot_id=bot_id,
            website_url=website_url,
            privacy_url=privacy_url,
            terms_url=terms_url,
            app_id=app_id,
            version=version,
            short_name=name,
        )
        try:
            data = build_package(programme, options, tr.lang)
        except PackageError as problem:
            fail(str(problem))
        try:
            out_file.write_bytes(data)
        except OSError as exc:
            fail(tr("Cannot write {file}: {error}", file=out_file, error=exc.strerror or exc))
        out.print(
            tr(
                "Wrote {file} for bot {bot}. Upload it in the Teams admin centre "
                "(Teams apps > Manage apps > Upload new app).",
                file=out_file,
                bot=bot_id,
            ),
            highlight=False,
        )


__all__ = ["register"]
