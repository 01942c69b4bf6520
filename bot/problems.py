"""Problems found in a user's files, reported as ``path:line: what is wrong``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bot.i18n import N_, t, tn
from bot.yamlfile import LocatedYaml


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one place; ``message`` is already in the reader's language."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class ProblemsError(Exception):
    """Raised when a file (or set of files) cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = sorted(problems)


# Pydantic's own messages are English only: the common ones get ours.
_PYDANTIC_MESSAGES = {
    "missing": N_("this key is required"),
    "extra_forbidden": N_("unknown key (check its spelling)"),
    "string_type": N_("expected a text value"),
    "int_type": N_("expected a whole number"),
    "int_parsing": N_("expected a whole number"),
    "float_parsing": N_("expected a number"),
    "float_type": N_("expected a number"),
    "bool_type": N_("expected true or false"),
    "bool_parsing": N_("expected true or false"),
    "list_type": N_("expected a list"),
    "dict_type": N_("expected a mapping of keys to values"),
    "model_type": N_("expected a mapping of keys to values"),
    "date_from_datetime_parsing": N_("expected a date (YYYY-MM-DD)"),
    "date_parsing": N_("expected a date (YYYY-MM-DD)"),
    "date_type": N_("expected a date (YYYY-MM-DD)"),
    "datetime_parsing": N_("expected a date and time (YYYY-MM-DDTHH:MM:SS+01:00)"),
    "datetime_type": N_("expected a date and time (YYYY-MM-DDTHH:MM:SS+01:00)"),
    "timezone_aware": N_("the date and time needs a UTC offset, e.g. +01:00"),
    "greater_than_equal": N_("must be at least {ge}"),
    "greater_than": N_("must be more than {gt}"),
    "less_than_equal": N_("must be at most {le}"),
    "string_too_short": N_("must not be empty"),
}


def _describe(error: Any, lang: str) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        choices = str(ctx.get("expected", "")).replace(" or ", ", ")
        return t(lang, "expected one of: {choices}", choices=choices)
    if kind in ("value_error", "assertion_error"):
        # Our own validators raise ValueError with an already translated message.
        message = str(ctx.get("error", error["msg"]))
        return message
    if kind == "too_short" and isinstance(ctx.get("min_length"), int):
        least = ctx["min_length"]
        return tn(
            lang, "needs at least {count} item", "needs at least {count} items", least, count=least
        )
    if kind in _PYDANTIC_MESSAGES:
        try:
            return t(lang, _PYDANTIC_MESSAGES[kind], **{k: v for k, v in ctx.items()})
        except (KeyError, IndexError):
            return t(lang, _PYDANTIC_MESSAGES[kind].split("{")[0].strip())
    return str(error["msg"])


def from_validation_error(
    exc: ValidationError, path: str, located: LocatedYaml, lang: str, prefix: tuple = ()
) -> list[Problem]:
    """Turn pydantic's errors into problems located at the offending key's line."""
    problems = []
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
        key = ".".join(str(part) for part in loc)
        line = located.line_of((*prefix, *loc))
        message = _describe(error, lang)
        problems.append(Problem(path, line, f"{key}: {message}" if key else message))
    return problems
