"""Light Markdown (bold, italics) of the core's texts, for a terminal.

The core writes ``*bold*`` (chat style), content files ``**bold**`` and
``_italics_``. A terminal shows them as bold and italics (Rich markup); a pipe
or a file gets the words without the marks. Code spans are left as they are.
"""

from __future__ import annotations

import re

from rich.markup import escape

_CODE = re.compile(r"(`[^`\n]*`)")
_BOLD = re.compile(r"(?<![\w*])(\*\*|\*)(?=[^\s*])(.+?)(?<=[^\s*])\1(?![\w*])")
_ITALIC = re.compile(r"(?<![\w\\])_(?=\S)(.+?)(?<=\S)_(?!\w)")


def _each_prose_part(text: str, convert) -> str:  # type: ignore[no-untyped-def]
    """Apply ``convert`` to everything outside `code spans`."""
    return "".join(
        part if index % 2 else convert(part) for index, part in enumerate(_CODE.split(text))
    )


def to_rich(text: str) -> str:
    """Rich markup: *bold* and _italics_ styled, anything else printed literally."""

    def convert(part: str) -> str:
        part = _BOLD.sub(r"[bold]\2[/bold]", escape(part))
        return _ITALIC.sub(r"[italic]\1[/italic]", part)

    return "".join(
        escape(part) if index % 2 else convert(part) for index, part in enumerate(_CODE.split(text))
    )


def to_plain(text: str) -> str:
    """The same words without the Markdown marks, for output that is not a terminal."""

    def convert(part: str) -> str:
        return _ITALIC.sub(r"\1", _BOLD.sub(r"\2", part))

    return _each_prose_part(text, convert)
