"""Corrections by relays, stored as training data, and the model that includes them.

Chosen: corrections are folded in when the model is loaded, not by a separate
`train` step. Building the model takes tens of milliseconds (see
``benchmarks/triage.py``), so each process rebuilds it from the shipped training
set plus every stored correction whenever the corrections table changed since
its last look (one indexed query per triage). A correction made on one replica is
used by every replica at its next triage, there is no model file to deploy or to
get out of step with the database, and erasing a correction forgets it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.response import triage
from bot.triage.models import TriageCorrection

# A correction says the model was wrong on exactly this kind of text: it weighs as much
# as this many training examples (and the same text is remembered outright).
CORRECTION_WEIGHT = 3

_lock = threading.Lock()
# database URL -> (number of corrections, last correction id, the model built from them)
_models: dict[str, tuple[int, int | None, triage.Model]] = {}


class CorrectionError(ValueError):
    """A correction names a category triage does not have."""


def record_correction(
    session: Session,
    *,
    text: str,
    predicted: str,
    corrected: str,
    member_id: int,
    language: str | None = None,
    at: datetime | None = None,
) -> TriageCorrection | None:
    """Store a relay's correction of a text's category; None when nothing changed.

    The caller (the case's "correct category" button) has asked the permission
    model whether this member may handle the case.
    """
    for category in (predicted, corrected):
        if category not in triage.CATEGORIES:
            raise CorrectionError(category)
    if predicted == corrected:
        return None
    text = text.strip()[:4000]
    row = TriageCorrection(
        text=text,
        language=language if language in triage.LANGUAGES else triage.detect_language(text),
        predicted=predicted,
        corrected=corrected,
        corrected_by_id=member_id,
        at=at or utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def corrections(session: Session) -> list[TriageCorrection]:
    """Every stored correction, oldest first (a later one about the same text wins)."""
    return list(session.exec(select(TriageCorrection).order_by(TriageCorrection.id)).all())


def as_examples(rows: list[TriageCorrection]) -> list[triage.Example]:
    return [
        triage.Example(text=row.text, category=row.corrected, language=row.language)
        for row in rows
        if row.text
    ]


def model_for(session: Session) -> triage.Model:
    """The shipped model plus this database's corrections, rebuilt only when they changed."""
    bind = session.get_bind()
    key = bind.engine.url.render_as_string(hide_password=False)
    count, last = session.execute(
        select(func.count(), func.max(TriageCorrection.id)).select_from(TriageCorrection)
    ).one()
    with _lock:
        cached = _models.get(key)
        if cached is not None and cached[:2] == (count, last):
            return cached[2]
    model = (
        triage.train(as_examples(corrections(session)), weight=CORRECTION_WEIGHT)
        if count
        else triage.default_model()
    )
    with _lock:
        _models[key] = (count, last, model)
    return model


def classify(
    session: Session, text: str, *, reporters: int = 1, language: str | None = None
) -> triage.Triage:
    """``triage.classify`` with what relays corrected in this database taken into account."""
    return model_for(session).classify(text, reporters=reporters, language=language)


def export(session: Session) -> Iterator[dict[str, str]]:
    """Corrections as labelled lines, in the training file's format (who corrected is left out).

    ``text``, ``category`` and ``language`` are what training reads; ``predicted`` and
    ``at`` say what triage had said and when, for whoever reviews them.
    """
    for row in corrections(session):
        yield {
            "text": row.text,
            "category": row.corrected,
            "language": row.language,
            "predicted": row.predicted,
            "at": row.at.isoformat(),
        }
