"""Typer's own words (Usage, Options, errors…) in the command line's language.

Typer marks some strings with the standard ``gettext`` functions (which read
system catalogues and know nothing of ``RELAIS_LANG``) and writes the rest in
English inside the copy of Click it ships (``typer._click``). ``translate_cli``
points the gettext functions at the project's catalogue, gives the usage line
and the ``--help`` option their translated words, and translates the error
messages of ``typer._click`` by their shape. The strings are listed here so that
``python -m bot.i18n`` extracts them and ``tests/test_i18n.py`` checks them.
Messages only a developer can trigger (a badly declared option) stay in English.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable

from bot.i18n import N_, NP_, SOURCE_LANGUAGE, lookup, lookup_plural, normalize

# Typer's gettext-marked strings.
GETTEXT_MESSAGES = (
    N_("Options"),
    N_("Arguments"),
    N_("Commands"),
    N_("default: {default}"),
    N_("env var: {var}"),
    N_("required"),
    N_("(dynamic)"),
    N_("(deprecated) "),
    N_("[default: {}]"),
    N_("[env var: {}]"),
    N_("[required]"),
    N_("Error"),
    N_("Aborted!"),
    N_("Aborted."),
    N_("Try [blue]'{command_path} {help_option}'[/] for help."),
    N_("Missing command."),
    N_("No such command {name!r}."),
)
USAGE = N_("Usage:")
HELP_OPTION = N_("Show this message and exit.")

# typer._click's English errors, by shape: (pattern, msgid or plural pair, plural count group).
_ERRORS: tuple[tuple[re.Pattern[str], str | tuple[str, str], str | None], ...] = (
    (re.compile(r"Missing argument (?P<name>.+)\.$"), N_("Missing argument {name}."), None),
    (re.compile(r"Missing option (?P<name>.+)\.$"), N_("Missing option {name}."), None),
    (re.compile(r"Missing parameter: (?P<name>.+)$"), N_("Missing parameter: {name}"), None),
    (
        re.compile(r"Got unexpected extra argument\(s\) \((?P<args>.*)\)$"),
        NP_("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"),
        "args",
    ),
    (
        re.compile(r"No such option: (?P<name>\S+) \(Possible options: (?P<options>.*)\)$"),
        N_("No such option: {name} (possible options: {options})"),
        None,
    ),
    (re.compile(r"No such option: (?P<name>\S+)$"), N_("No such option: {name}"), None),
    (
        re.compile(r"Invalid value for (?P<name>.+?): (?P<message>.*)$", re.S),
        N_("Invalid value for {name}: {message}"),
        None,
    ),
    (re.compile(r"Invalid value: (?P<message>.*)$", re.S), N_("Invalid value: {message}"), None),
    (
        re.compile(r"Option (?P<name>.+) does not take a value\.$"),
        N_("Option {name} does not take a value."),
        None,
    ),
    (
        re.compile(r"Option (?P<name>.+) requires an argument\.?$"),
        N_("Option {name} requires an argument."),
        None,
    ),
    (
        re.compile(r"Value (?P<value>.+) is not a valid (?P<kind>\w+)\.$"),
        N_("Value {value} is not a valid {kind}."),
        None,
    ),
    (
        re.compile(r"Could not open file (?P<name>.+?): (?P<message>.*)$", re.S),
        N_("Could not open file {name}: {message}"),
        None,
    ),
)


def translate_error(lang: str | None, message: str) -> str:
    """An error of typer._click's, in ``lang`` when its shape is known (else as it is)."""
    for pattern, msgid, count_group in _ERRORS:
        match = pattern.match(message)
        if match is None:
            continue
        values = match.groupdict()
        if isinstance(msgid, tuple):
            count = len((values[count_group or ""] or "").split())
            text = lookup_plural(lang, msgid[0], msgid[1], count)
        else:
            text = lookup(lang, msgid)
        return text.format(**values)
    return message


def _translated_messages(method: Callable[..., str], lang: str) -> Callable[..., str]:
    @functools.wraps(method)
    def format_message(self: object) -> str:
        return translate_error(lang, method(self))

    format_message.__relais_original__ = method  # type: ignore[attr-defined]
    return format_message


def translate_cli(lang: str | None) -> None:
    """Make Typer speak ``lang``; English restores its own words."""
    code = normalize(lang)

    def gettext(message: str) -> str:
        return lookup(code, message)

    for name in ("typer.core", "typer.rich_utils"):
        module = importlib.import_module(name)
        if hasattr(module, "_"):
            module._ = gettext  # type: ignore[attr-defined]
    rich_utils = importlib.import_module("typer.rich_utils")
    # Computed once, at import: set again.
    for constant, message in {
        "DEPRECATED_STRING": "(deprecated) ",
        "DEFAULT_STRING": "[default: {}]",
        "ENVVAR_STRING": "[env var: {}]",
        "REQUIRED_LONG_STRING": "[required]",
        "ARGUMENTS_PANEL_TITLE": "Arguments",
        "OPTIONS_PANEL_TITLE": "Options",
        "COMMANDS_PANEL_TITLE": "Commands",
        "ERRORS_PANEL_TITLE": "Error",
        "ABORTED_TEXT": "Aborted.",
        "RICH_HELP": "Try [blue]'{command_path} {help_option}'[/] for help.",
    }.items():
        if hasattr(rich_utils, constant):
            setattr(rich_utils, constant, gettext(message))

    try:
        from typer._click import core, exceptions, formatting
    except ImportError:  # pragma: no cover - a Typer that uses Click itself
        return
    formatter = formatting.HelpFormatter
    write_usage = getattr(formatter.write_usage, "__relais_original__", formatter.write_usage)

    @functools.wraps(write_usage)
    def translated_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:  # type: ignore[no-untyped-def]
        if prefix is None and code != SOURCE_LANGUAGE:
            prefix = gettext(USAGE) + " "
        write_usage(self, prog, args, prefix)

    translated_usage.__relais_original__ = write_usage  # type: ignore[attr-defined]
    formatter.write_usage = translated_usage  # type: ignore[method-assign]

    command = core.Command
    get_help_option = getattr(
        command.get_help_option, "__relais_original__", command.get_help_option
    )

    @functools.wraps(get_help_option)
    def translated_help_option(self, ctx):  # type: ignore[no-untyped-def]
        option = get_help_option(self, ctx)
        if option is not None and option.help == HELP_OPTION:
            option.help = gettext(HELP_OPTION)
        return option

    translated_help_option.__relais_original__ = get_help_option  # type: ignore[attr-defined]
    command.get_help_option = translated_help_option  # type: ignore[method-assign]

    for cls in vars(exceptions).values():
        if isinstance(cls, type) and "format_message" in vars(cls):
            method = getattr(cls.format_message, "__relais_original__", cls.format_message)
            cls.format_message = (  # type: ignore[method-assign]
                method if code == SOURCE_LANGUAGE else _translated_messages(method, code)
            )


__all__ = ["translate_cli", "translate_error"]
