"""Members CSV import: good rows stored, bad rows reported by line, re-import updates."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.config import load_config
from bot.db import make_engine, upgrade
from bot.members.importer import import_members
from bot.members.models import Member
from tests.conftest import DEMO_CONFIG, DEMO_MEMBERS, platform_id

HEADER = "email,name,department,location,language,time_zone,roles,slack_user_id,teams_id\n"


def engine_for(url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    upgrade(engine)
    return engine


def members(engine) -> dict[str, Member]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return {m.email: m for m in session.exec(select(Member)).all()}


def test_import_demo_then_reimport_updates_without_duplicates(
    database_url: str, tmp_path: Path
) -> None:
    engine = engine_for(database_url)
    config = load_config(DEMO_CONFIG)
    first = import_members(engine, DEMO_MEMBERS, config)
    assert (first.created, first.updated, first.problems) == (15, 0, [])
    again = import_members(engine, DEMO_MEMBERS, config)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 15)

    changed = tmp_path / "changed.csv"
    changed.write_text(
        HEADER
        + "karim.benali@example.com,Karim Benali,marketing,Lyon,en,Europe/Paris,ambassador;relay,U0KARIM01,\n",
        encoding="utf-8",
    )
    third = import_members(engine, changed, config)
    assert (third.created, third.updated) == (0, 1)
    stored = members(engine)
    assert len(stored) == 15
    karim = stored["karim.benali@example.com"]
    assert (
        karim.department,
        karim.language,
        karim.roles,
        platform_id(engine, karim.email, "slack"),
    ) == ("marketing", "en", ["ambassador", "relay"], "U0KARIM01")
    engine.dispose()


def test_bad_rows_reported_with_line_and_rest_imported(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'r.db'}")
    config = load_config(DEMO_CONFIG)
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        HEADER
        + "ana@example.com,Ana,marketing,,fr,Europe/Paris,,,\n"  # line 2: good
        + "not-an-email,Bob,marketing,,,,,,\n"  # line 3
        + "carl@example.com,Carl,finance,,,,,,\n"  # line 4: unknown department
        + "dina@example.com,Dina,,,de,,,,\n"  # line 5: language
        + "eve@example.com,Eve,,,,Mars/Base,,,\n"  # line 6: zone
        + "fay@example.com,Fay,,,,,boss,,\n"  # line 7: role
        + "ana@example.com,Ana again,,,,,,,\n"  # line 8: duplicate in file
        + "gus@example.com,,,,,,,,\n"  # line 9: no name
        + "hal@example.com,Hal,,,,,,,,extra\n"  # line 10: too many values
        + "ivy@example.com,Ivy,,,,,,,\n",  # line 11: good, defaults
        encoding="utf-8",
    )
    report = import_members(engine, csv_file, config)
    lines = sorted({problem.line for problem in report.problems})
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10]
    text = "\n".join(str(p) for p in report.problems)
    assert f"{csv_file}:3: email: 'not-an-email' is not an e-mail address" in text
    assert f"{csv_file}:4: department: no department has the id 'finance' in app.yaml" in text
    assert f"{csv_file}:8: email: ana@example.com already appears on line 2" in text
    stored = members(engine)
    assert set(stored) == {"ana@example.com", "ivy@example.com"}
    assert (stored["ivy@example.com"].language, stored["ivy@example.com"].time_zone) == (
        "fr",
        "Europe/Paris",
    )
    engine.dispose()


def test_member_opt_out_survives_reimport(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'r.db'}")
    config = load_config(DEMO_CONFIG)
    import_members(engine, DEMO_MEMBERS, config)
    with Session(engine) as session:
        member = session.exec(select(Member).where(Member.email == "lea.petit@example.com")).one()
        member.opted_in = False
        session.add(member)
        session.commit()
    import_members(engine, DEMO_MEMBERS, config)
    assert members(engine)["lea.petit@example.com"].opted_in is False
    engine.dispose()


def test_semicolons_bom_and_missing_columns(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'r.db'}")
    config = load_config(DEMO_CONFIG)
    excel = tmp_path / "excel.csv"
    excel.write_bytes("\ufeffEmail;Name;Department\nzoe@example.com;Zoé Durand;hr\n".encode())
    report = import_members(engine, excel, config)
    assert report.created == 1 and members(engine)["zoe@example.com"].name == "Zoé Durand"

    no_name = tmp_path / "no-name.csv"
    no_name.write_text("email,department\nx@example.com,hr\n", encoding="utf-8")
    report = import_members(engine, no_name, config)
    assert report.created == 0 and str(report.problems[0]).endswith(
        ":1: missing column: name (the first line must name the columns)"
    )

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("email,name\nyves@example.com,Yves Lefèvre\n".encode("latin-1"))
    report = import_members(engine, latin1, config)
    assert "not UTF-8" in str(report.problems[0])
    engine.dispose()


def test_cli_import_reports_and_counts(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RELAIS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    csv_file = tmp_path / "m.csv"
    csv_file.write_text(HEADER + "ok@example.com,Ok,hr,,,,,,\nbad,Bad,,,,,,,\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["members", "import", str(csv_file), "--config", str(DEMO_CONFIG)]
    )
    assert result.exit_code == 0, result.output
    assert f"{csv_file}:3: email: 'bad' is not an e-mail address" in result.output
    assert "1 member created, 0 updated, 0 unchanged, 1 row with problems." in result.output
    missing = CliRunner().invoke(
        app, ["members", "import", str(tmp_path / "nope.csv"), "--config", str(DEMO_CONFIG)]
    )
    assert missing.exit_code == 1 and "file not found" in missing.output


def test_empty_platform_id_cell_keeps_the_link(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'r.db'}")
    config = load_config(DEMO_CONFIG)
    linked = tmp_path / "linked.csv"
    linked.write_text(HEADER + "ana@example.com,Ana,hr,,,,,U0ANA0001,29:ana\n", encoding="utf-8")
    import_members(engine, linked, config)
    bare = tmp_path / "bare.csv"
    bare.write_text(HEADER + "ana@example.com,Ana Lopez,hr,,,,,,\n", encoding="utf-8")
    report = import_members(engine, bare, config)
    ana = members(engine)["ana@example.com"]
    assert report.updated == 1 and ana.name == "Ana Lopez"
    assert platform_id(engine, ana.email, "slack") == "U0ANA0001"
    assert platform_id(engine, ana.email, "teams") == "29:ana"
    engine.dispose()
