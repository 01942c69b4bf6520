"""Relays' corrections of triage: stored, learnt from at load, exported as training data."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.db import session_scope
from bot.members.models import Member
from bot.response import triage
from bot.triage import service
from bot.triage.models import TriageCorrection

IRONY = "Chapeau bas, trois techniciens Norvel pour changer une ampoule"


def _member_id(runtime, email: str = "karim.benali@example.com") -> int:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        member = session.exec(select(Member).where(Member.email == email)).one()
        return member.id or 0


def test_a_correction_is_stored_and_the_same_text_then_gets_it(runtime) -> None:  # type: ignore[no-untyped-def]
    relay = _member_id(runtime)
    with Session(runtime.engine) as session:
        before = service.classify(session, IRONY)
    assert before.category != "complaint"  # what the relay corrects
    at = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    with session_scope(runtime.engine) as session:
        row = service.record_correction(
            session,
            text=IRONY,
            predicted=before.category,
            corrected="complaint",
            member_id=relay,
            at=at,
        )
        assert row is not None and row.id
    with Session(runtime.engine) as session:
        stored = session.exec(select(TriageCorrection)).one()
        after = service.classify(session, IRONY + " ", reporters=1)
    assert (stored.text, stored.language, stored.predicted, stored.corrected) == (
        IRONY,
        "fr",
        before.category,
        "complaint",
    )
    assert stored.corrected_by_id == relay
    assert stored.at.replace(tzinfo=UTC) == at
    assert after.category == "complaint"
    assert after.reasons[0] == "a relay corrected this same text to complaint"
    # The shipped model is untouched: `relais triage classify --shipped` and the floor test.
    assert triage.classify(IRONY).category == before.category


def test_corrections_teach_the_model_beyond_the_exact_text(runtime) -> None:  # type: ignore[no-untyped-def]
    relay = _member_id(runtime)
    text = "Le bonhomme Norvel de la pub danse sur un compteur en tutu"
    with Session(runtime.engine) as session:
        assert service.classify(session, text).category != "praise"
    with session_scope(runtime.engine) as session:
        for sentence in (
            "J'adore la pub Norvel avec le compteur qui danse",
            "La pub Norvel du compteur qui danse est géniale",
            "Trop drôle la pub Norvel, le compteur danse en tutu",
        ):
            service.record_correction(
                session, text=sentence, predicted="other", corrected="praise", member_id=relay
            )
    with Session(runtime.engine) as session:
        assert service.classify(session, text).category == "praise"


def test_a_correction_to_the_same_category_or_an_unknown_one_is_refused(runtime) -> None:  # type: ignore[no-untyped-def]
    relay = _member_id(runtime)
    with session_scope(runtime.engine) as session:
        assert (
            service.record_correction(
                session, text="x", predicted="praise", corrected="praise", member_id=relay
            )
            is None
        )
        with pytest.raises(service.CorrectionError):
            service.record_correction(
                session, text="x", predicted="praise", corrected="rant", member_id=relay
            )
    with Session(runtime.engine) as session:
        assert session.exec(select(TriageCorrection)).all() == []


def test_export_and_classify_through_the_cli_use_the_stored_corrections(
    runtime, programme_dir, database_url, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    relay = _member_id(runtime)
    with session_scope(runtime.engine) as session:
        service.record_correction(
            session,
            text=IRONY,
            predicted="question",
            corrected="complaint",
            member_id=relay,
            at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
        )
        service.record_correction(
            session,
            text="Norvel's new ad is a bit much honestly",
            predicted="complaint",
            corrected="other",
            member_id=relay,
            language="en",
        )
    env = {"RELAIS_DATABASE_URL": database_url}
    config = ["--config", str(programme_dir / "app.yaml")]
    exported = tmp_path / "corrections.jsonl"
    result = CliRunner().invoke(
        app, ["triage", "export-corrections", "--out", str(exported), *config], env=env
    )
    assert result.exit_code == 0, result.output
    assert "2 corrections exported." in result.stderr
    lines = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {
        "text": IRONY,
        "category": "complaint",
        "language": "fr",
        "predicted": "question",
        "at": "2026-11-23T09:30:00+00:00",
    }
    assert (lines[1]["category"], lines[1]["language"]) == ("other", "en")
    # What was exported reads back as training data.
    assert [e.category for e in triage.read_examples(exported.open())] == ["complaint", "other"]

    classified = CliRunner().invoke(
        app, ["triage", "classify", *config], input=json.dumps({"text": IRONY}) + "\n", env=env
    )
    assert classified.exit_code == 0, classified.output
    assert json.loads(classified.stdout)["category"] == "complaint"
    shipped = CliRunner().invoke(
        app, ["triage", "classify", "--shipped"], input=json.dumps({"text": IRONY}) + "\n"
    )
    assert json.loads(shipped.stdout)["category"] != "complaint"


def test_export_with_no_correction_says_so(runtime, programme_dir, database_url) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        app,
        ["triage", "export-corrections", "--config", str(programme_dir / "app.yaml")],
        env={"RELAIS_DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "0 corrections exported." in result.stderr
