"""`relais slack manifest --url https://…`: the Slack app manifest, filled in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli import fail, out, tr

MANIFEST = Path(__file__).with_name("manifest.yaml")
PLACEHOLDER = "https://relais.example.com"


def register(app: typer.Typer) -> None:
    slack = typer.Typer(
        help=tr("Slack: the app manifest to create Relais in a workspace."), no_args_is_help=True
    )
    app.add_typer(slack, name="slack")

    @slack.command(
        "manifest", help=tr("Print the Slack app manifest for this server's public address.")
    )
    def manifest(
        url: Annotated[
            str | None, typer.Option(help=tr("Public https address of relais serve."))
        ] = None,
        socket_mode: Annotated[
            bool, typer.Option("--socket-mode", help=tr("No public URL: use Socket Mode."))
        ] = False,
    ) -> None:
        # The file's leading comments tell a person how to fill it in by hand; the
        # manifest printed here is filled in already, so they would only mislead.
        lines = MANIFEST.read_text(encoding="utf-8").splitlines()
        while lines and lines[0].startswith("#"):
            lines.pop(0)
        text = "\n".join(lines) + "\n"
        if socket_mode:
            lines = [
                line
                for line in text.splitlines()
                if not line.strip().startswith(("url:", "request_url:"))
            ]
            text = (
                "\n".join(lines).replace("socket_mode_enabled: false", "socket_mode_enabled: true")
                + "\n"
            )
        elif url:
            if not url.startswith("https://"):
                fail(tr("Slack only calls https addresses: {url}", url=url))
            text = text.replace(PLACEHOLDER, url.rstrip("/"))
        else:
            fail(
                tr(
                    "Give --url https://your-host (the public address of relais serve) or --socket-mode."
                )
            )
        out.print(text, end="", markup=False)
