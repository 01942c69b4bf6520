"""`relais console --as EMAIL`: be a member and chat with Relais in this terminal."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

import typer
from rich.console import Console

from adapters.console.chat import ConsoleChat, Shown
from adapters.console.markdown import to_plain, to_rich
from bot.cli import ConfigOption, fail, out, starting, tr
from bot.runtime import build_runtime

POLL_SECONDS = 3.0


def show(items: list[Shown], console: Console = out) -> None:
    """Print messages: *bold* and _italics_ styled on a terminal, plain words elsewhere."""
    for item in items:
        console.rule(style="cyan")
        if console.is_terminal:
            console.print(to_rich(item.rendered.text), highlight=False)
        else:
            console.print(to_plain(item.rendered.text), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command(
        help=tr(
            "Chat with Relais as a member, in this terminal (type help; buttons by number; quit to leave)."
        )
    )
    def console(
        email: Annotated[
            str, typer.Option("--as", help=tr("E-mail of the member you want to be."))
        ],
        config: ConfigOption = None,
    ) -> None:
        logging.basicConfig(level=logging.WARNING)
        with starting():
            runtime = build_runtime(config)
            chat = ConsoleChat(runtime, email)
        if "console" not in runtime.platforms:
            fail(tr("The console platform is disabled in app.yaml (platforms.console.enabled)."))
        out.print(
            tr(
                "You are {name} <{email}>. Type “help”, a button's number "
                "(numbers keep their button for the whole conversation), or “quit”.",
                name=chat.name,
                email=chat.email,
            )
        )
        show(chat.inbox())

        # Lessons sent by `relais serve`'s scheduler appear while you wait at the prompt.
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(POLL_SECONDS):
                items = chat.inbox()
                if items:
                    out.print()
                    show(items)
                    out.print("> ", end="")

        threading.Thread(target=poll, daemon=True, name="console-inbox").start()
        try:
            while True:
                try:
                    line = input("> ")
                except (EOFError, KeyboardInterrupt):
                    out.print()
                    break
                if chat.filling is not None:  # answering a form's prompts, empty lines too
                    show(chat.type(line))
                    continue
                if line.strip().lower() in ("quit", "exit", "q"):
                    break
                typed = line.strip()
                pressed = chat.button(int(typed)) if typed.isdigit() else None
                if pressed is not None:  # say which button, however far up it was shown
                    out.print(f"→ [{typed}] {pressed.label}", style="dim", markup=False)
                show(chat.inbox() if not line.strip() else chat.type(line))
        finally:
            stop.set()


__all__ = ["register"]
