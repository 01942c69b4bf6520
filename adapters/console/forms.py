"""A form on the console: one prompt per field, answered line by line.

Typed lines answer the current field: one line for a text, several lines
ended by an empty line for a longer text (a line ``---`` separates variants),
an option's number (or several, separated by commas) for a choice. An empty
answer keeps what the field already holds, ``-`` empties it; ``cancel`` stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.i18n import Tr
from bot.messages import VARIANT_SEPARATOR, Form, FormField

CANCEL = ("cancel", "annuler")
CLEAR = "-"  # empties a field that holds something


@dataclass
class FormFill:
    """A form being filled in at the console."""

    form: Form
    tr: Tr
    answers: dict[str, str] = field(default_factory=dict)
    position: int = 0
    lines: list[str] = field(default_factory=list)  # a longer text being typed

    @property
    def current(self) -> FormField | None:
        fields = self.form.fields
        return fields[self.position] if self.position < len(fields) else None

    @property
    def done(self) -> bool:
        return self.current is None

    def start(self) -> list[str]:
        tr = self.tr
        return [
            f"== {self.form.title} ==",
            tr("Answer each question; type “cancel” to stop."),
            *self.prompt(),
        ]

    def prompt(self) -> list[str]:
        """The question for the current field."""
        entry = self.current
        if entry is None:
            return []
        tr = self.tr
        lines = [f"? {entry.label}" + ("" if entry.required else " " + tr("(optional)"))]
        if entry.hint:
            lines.append(f"  ({entry.hint})")
        if entry.kind in ("choice", "choices"):
            lines.extend(
                f"  {number}. {option.label}" for number, option in enumerate(entry.options, 1)
            )
            lines.append(
                "  "
                + (
                    tr("Type a number.")
                    if entry.kind == "choice"
                    else tr("Type numbers separated by commas.")
                )
            )
        elif entry.kind in ("multiline", "variants"):
            lines.append("  " + tr("Type the text; an empty line ends it."))
            if entry.kind == "variants":
                lines.append(
                    "  "
                    + tr(
                        "Several versions: a line with only {separator} between them.",
                        separator=VARIANT_SEPARATOR,
                    )
                )
        if entry.value:
            lines.append(
                "  "
                + tr(
                    "Press Enter to keep: {value} (type {clear} to empty it)",
                    value=entry.value[:200],
                    clear=CLEAR,
                )
            )
        return lines

    def answer(self, line: str) -> list[str]:
        """Take one typed line; return what to show next (the next question, or a problem)."""
        entry = self.current
        assert entry is not None
        tr = self.tr
        if entry.kind in ("multiline", "variants"):
            if line.strip():
                self.lines.append(line.rstrip())
                return []
            text, self.lines = "\n".join(self.lines).strip(), []
        else:
            text = line.strip()
        if not text:
            text = entry.value
        elif text == CLEAR:
            text = ""
        if entry.kind in ("choice", "choices") and text and text != entry.value:
            chosen = []
            for part in text.replace(" ", "").split(","):
                if part.isdigit() and 1 <= int(part) <= len(entry.options):
                    chosen.append(entry.options[int(part) - 1].value)
                elif part in {option.value for option in entry.options}:
                    chosen.append(part)
                else:
                    return [tr("“{answer}” is not one of the numbers shown.", answer=part)]
            if entry.kind == "choice" and len(chosen) != 1:
                return [tr("Choose one option.")]
            text = ",".join(chosen)
        if entry.required and not text:
            return [tr("This field is required.")]
        self.answers[entry.name] = text
        self.position += 1
        return self.prompt()
