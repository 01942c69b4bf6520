"""The console shows the core's light Markdown as styles on a terminal, as plain words elsewhere."""

from __future__ import annotations

import io

from rich.console import Console

import bot.cli  # noqa: F401  (loads the adapters' commands, console.cli among them)
from adapters.console.chat import Shown
from adapters.console.cli import show
from adapters.console.markdown import to_plain, to_rich
from adapters.console.render import Rendered
from bot.events import Who

EMMA = "emma.wilson@example.com"


def _printed(text: str, terminal: bool) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer, force_terminal=terminal, color_system="standard" if terminal else None
    )
    show([Shown(0, Rendered(lines=text.splitlines()))], console)
    return buffer.getvalue()


def test_bold_and_italics_become_terminal_styles() -> None:
    printed = _printed("*The basics*: 1 lesson, **really** _well_ [1] Next", terminal=True)
    assert "*" not in printed and "_well_" not in printed
    assert "\x1b[1mThe basics\x1b[0m" in printed and "\x1b[3mwell\x1b[0m" in printed
    assert "[1] Next" in printed  # button numbers are not read as markup


def test_without_a_terminal_the_marks_are_removed_and_nothing_else() -> None:
    printed = _printed("*The basics*: `crisis_cell:legal` a_b_c, 2*3*4 [bold]x[/bold]", False)
    assert "\x1b[" not in printed
    assert "The basics: `crisis_cell:legal` a_b_c, 2*3*4 [bold]x[/bold]" in printed


def test_marks_inside_code_spans_and_words_are_left_alone() -> None:
    assert to_plain("`*x*` snake_case_id *y*") == "`*x*` snake_case_id y"
    assert to_rich("[1] *y*") == "[1] [bold]y[/bold]"


def test_the_home_view_prints_without_asterisks(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    from adapters.console.render import render

    chat(EMMA).type("lesson")
    home = render(runtime.relais.home(Who("console", email=EMMA))).text
    assert "*The basics*" in home  # the core's text, as every platform gets it
    buffer = io.StringIO()
    show([Shown(0, render(runtime.relais.home(Who("console", email=EMMA))))], Console(file=buffer))
    assert "The basics: " in buffer.getvalue() and "*" not in buffer.getvalue()


def test_no_such_member_is_said_in_the_command_line_language(runtime_factory) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from bot.cli import app

    runtime = runtime_factory()  # the demo programme's default language is French
    url = runtime.engine.url.render_as_string(hide_password=False)
    args = ["console", "--as", "nobody@example.com", "--config", str(runtime.config_file)]
    env = {"RELAIS_DATABASE_URL": url}
    english = CliRunner().invoke(app, args, env={**env, "RELAIS_LANG": "en"})
    assert (
        english.exit_code == 1 and "No member has the e-mail nobody@example.com" in english.output
    )
    french = CliRunner().invoke(app, args, env={**env, "RELAIS_LANG": "fr"})
    assert (
        french.exit_code == 1 and "Aucun membre n’a l’adresse nobody@example.com" in french.output
    )
