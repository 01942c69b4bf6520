"""`relais triage classify | evaluate | export-corrections`: triage on a team's own data."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bot.cli import ConfigOption, _prepared_engine, err, fail, load_programme, out, tr
from bot.response import triage


def _model(shipped: bool, config: Path | None) -> triage.Model:
    """The model the bot uses (shipped + this database's corrections), or the shipped one."""
    if shipped:
        return triage.default_model()
    from sqlmodel import Session

    from bot import permissions
    from bot.triage import service

    # Corrections are texts people reported: reading them is seeing reported mentions.
    rules = permissions.Permissions(load_programme(config))
    if not rules.allows(
        permissions.Actor.operator(), permissions.REPORTS_LIST, permissions.EVERYONE
    ):
        fail(tr("The corrections stored in the database may not be read from here."))
    with Session(_prepared_engine()) as session:
        return service.model_for(session)


ShippedOption = Annotated[
    bool,
    typer.Option(
        "--shipped",
        help=tr(
            "Use only the model shipped with Relais, without the corrections stored in the "
            "database (no database or app.yaml needed)."
        ),
    ),
]


def _lines(file: Path | None) -> Iterable[str]:
    if file is None:
        return sys.stdin
    if not file.is_file():
        fail(tr("{file}: file not found", file=file))
    return file.read_text(encoding="utf-8").splitlines()


def register(app: typer.Typer) -> None:
    commands = typer.Typer(
        help=tr("Triage of reported mentions: try it and measure it on your own texts."),
        no_args_is_help=True,
    )
    app.add_typer(commands, name="triage")

    @commands.command(
        "classify",
        help=tr(
            'Read JSON lines {{"text": ...}} (optionally "reporters") on standard input and write '
            '{{"category": ..., "severity": ..., "reasons": [...]}} lines. A bad line gets an error '
            "naming it and the rest goes on; the exit code is then 1."
        ),
    )
    def classify(shipped: ShippedOption = False, config: ConfigOption = None) -> None:
        model = _model(shipped, config)
        bad = 0
        for number, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            try:
                request = triage.parse_request(line, number)
            except triage.LabelledFileError as problem:
                bad += 1
                err.print(problem.render(tr), markup=False, highlight=False)
                continue
            result = model.classify(
                request.text, reporters=request.reporters, language=request.language
            )
            sys.stdout.write(
                json.dumps(
                    {
                        "category": result.category,
                        "severity": result.severity,
                        "reasons": result.reasons,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            sys.stdout.flush()
        if bad:
            fail(
                tr.plural(
                    "{count} line not classified.", "{count} lines not classified.", bad, count=bad
                )
            )

    @commands.command(
        "evaluate",
        help=tr(
            'Measure triage on a labelled file: JSON lines {{"text": ..., "category": ...}} '
            '(optionally "severity" and "reporters"). Prints precision and recall per category.'
        ),
    )
    def evaluate(
        file: Annotated[Path, typer.Argument(help=tr("Labelled JSON lines file."))],
        mistakes: Annotated[
            int, typer.Option("--mistakes", help=tr("Also show this many misclassified texts."))
        ] = 0,
        shipped: ShippedOption = False,
        config: ConfigOption = None,
    ) -> None:
        examples: list[triage.Example] = []
        bad = 0
        for number, line in enumerate(_lines(file), start=1):
            if not line.strip() or line.lstrip().startswith("//"):
                continue
            try:
                examples.append(triage.parse_example(line, number))
            except triage.LabelledFileError as problem:
                bad += 1
                err.print(f"{file}: {problem.render(tr)}", markup=False, highlight=False)
        if not examples:
            fail(tr("{file}: no labelled line to evaluate.", file=file))
        result = triage.evaluate(examples, _model(shipped, config))
        _print_evaluation(result)
        if mistakes:
            _print_mistakes(result, mistakes)
        if bad:
            fail(tr.plural("{count} line left out.", "{count} lines left out.", bad, count=bad))

    @commands.command(
        "export-corrections",
        help=tr(
            "Write the categories relays corrected as labelled JSON lines, the training file's "
            "format: to review them, or to add them to a training set."
        ),
    )
    def export_corrections(
        out_file: Annotated[
            Path | None,
            typer.Option("--out", "-o", help=tr("Where to write (default: standard output).")),
        ] = None,
        config: ConfigOption = None,
    ) -> None:
        from sqlmodel import Session

        from bot import permissions
        from bot.triage import service

        rules = permissions.Permissions(load_programme(config))
        if not rules.allows(
            permissions.Actor.operator(), permissions.REPORTS_LIST, permissions.EVERYONE
        ):
            fail(tr("The corrections stored in the database may not be read from here."))
        with Session(_prepared_engine()) as session:
            lines = [json.dumps(row, ensure_ascii=False) + "\n" for row in service.export(session)]
        if out_file is None:
            sys.stdout.writelines(lines)
        else:
            out_file.write_text("".join(lines), encoding="utf-8")
        err.print(
            tr.plural(
                "{count} correction exported.",
                "{count} corrections exported.",
                len(lines),
                count=len(lines),
            ),
            highlight=False,
        )


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _print_evaluation(result: triage.Evaluation) -> None:
    table = Table(
        tr("Category"), tr("Examples"), tr("Predicted"), tr("Precision"), tr("Recall"), "F1"
    )
    for score in result.classes:
        table.add_row(
            score.category,
            str(score.support),
            str(score.predicted),
            _percent(score.precision),
            _percent(score.recall),
            _percent(score.f1),
        )
    out.print(table)
    out.print(
        tr(
            "Accuracy: {accuracy} of {total} texts; macro F1: {f1}.",
            accuracy=_percent(result.accuracy),
            total=result.total,
            f1=_percent(result.macro_f1),
        ),
        highlight=False,
    )
    if result.severity_total:
        out.print(
            tr(
                "Severity: {exact} exact, {close} within one level, of {total} labelled.",
                exact=_percent(result.severity_accuracy),
                close=_percent(result.severity_within_one / result.severity_total),
                total=result.severity_total,
            ),
            highlight=False,
        )
    confusion = Table(tr("Label ↓ / predicted →"), *triage.CATEGORIES)
    for label in triage.CATEGORIES:
        confusion.add_row(
            label, *(str(result.confusion.get((label, guess), 0)) for guess in triage.CATEGORIES)
        )
    out.print(confusion)


def _print_mistakes(result: triage.Evaluation, limit: int) -> None:
    for example, found in result.mistakes[:limit]:
        out.print(
            f"{example.category}/{example.severity or '-'} → {found.category}/{found.severity}: "
            f"{example.text}",
            markup=False,
            highlight=False,
        )
        out.print("    " + "; ".join(found.reasons), markup=False, highlight=False)
