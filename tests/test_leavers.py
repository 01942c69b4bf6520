"""Members who left the company: `members import --sync`, `members deactivate`, and what they stop getting."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.db import make_engine, upgrade
from bot.delivery.models import FAILED, PENDING, SENT, Delivery
from bot.delivery.models import HandledEvent as SeenEvent
from bot.members.models import Member
from bot.participation.models import ParticipationEvent
from bot.response.models import CaseAssignment
from tests.conftest import DEMO_CONFIG, DEMO_MEMBERS, ROOT, pin_triage, platform_id, run_scheduled

EMMA = "emma.wilson@example.com"  # ambassador, sales, London
LEA = "lea.petit@example.com"  # relay, customer service
KARIM = "karim.benali@example.com"  # relay, customer service, Paris
NOAH = "noah.bernard@example.com"  # ambassador, hr
AMELIE = "amelie.garnier@example.com"  # the hr relay
JULIEN = "julien.roux@example.com"  # manager of sales, hr, legal
CLAIRE = "claire.dubois@example.com"  # coordinator


def relais(url: str, *args: str) -> tuple[int, str]:
    """Run `relais ARGS` (the real Typer app) on the database at ``url``; exit code and output."""
    runner = CliRunner()
    result = runner.invoke(app, list(args), env={"RELAIS_DATABASE_URL": url, "RELAIS_LANG": "en"})
    return result.exit_code, result.output


def demo_without(tmp_path: Path, *emails: str, extra: str = "") -> Path:
    """The demo members CSV without these people (as an HR export after they left)."""
    lines = DEMO_MEMBERS.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if line.split(",")[0].strip().lower() not in emails]
    path = tmp_path / "hr-export.csv"
    path.write_text("".join(kept) + extra, encoding="utf-8")
    return path


def people(url: str) -> dict[str, Member]:
    engine = make_engine(url)
    with Session(engine) as session:
        found = {m.email: m for m in session.exec(select(Member)).all()}
    engine.dispose()
    return found


def imported(url: str) -> str:
    engine = make_engine(url)
    upgrade(engine)  # PostgreSQL is never migrated implicitly
    engine.dispose()
    code, output = relais(url, "members", "import", str(DEMO_MEMBERS), "-c", str(DEMO_CONFIG))
    assert code == 0, output
    return url


def test_sync_marks_the_absent_as_left_and_a_later_import_brings_them_back(
    database_url: str, tmp_path: Path
) -> None:
    url = imported(database_url)
    engine = make_engine(url)
    with Session(engine) as session:
        lea = session.exec(select(Member).where(Member.email == LEA)).one()
        lea.opted_in = False  # her own choice, before she left
        session.add(lea)
        session.commit()
    engine.dispose()
    export = demo_without(tmp_path, EMMA, LEA)
    code, output = relais(url, "members", "import", str(export), "--sync", "-c", str(DEMO_CONFIG))
    assert code == 0, output
    assert "0 members created, 0 updated, 13 unchanged, 0 rows with problems." in output
    assert "2 members not in the file marked as left: they will receive nothing more." in output
    stored = people(url)
    assert stored[EMMA].left_at is not None and stored[LEA].left_at is not None
    assert stored[KARIM].left_at is None and len(stored) == 15  # nobody deleted

    code, listed = relais(url, "members", "list", "-c", str(DEMO_CONFIG))
    assert code == 0 and KARIM in listed and EMMA not in listed and LEA not in listed
    code, everyone = relais(url, "members", "list", "--all", "-c", str(DEMO_CONFIG))
    day = stored[EMMA].left_at.date().isoformat()
    assert EMMA in everyone and everyone.count(f"left on {day}") == 2

    # The same sync again marks nobody else.
    code, output = relais(url, "members", "import", str(export), "--sync", "-c", str(DEMO_CONFIG))
    assert "0 members not in the file marked as left" in output

    # Back in a later export: active again, and Léa's own opt-out is kept.
    code, output = relais(url, "members", "import", str(DEMO_MEMBERS), "-c", str(DEMO_CONFIG))
    assert code == 0 and "2 members who had left are listed again and active again." in output
    assert "marked as left" not in output  # without --sync nobody is marked
    stored = people(url)
    assert stored[EMMA].left_at is None and stored[LEA].left_at is None
    assert stored[LEA].opted_in is False and stored[EMMA].opted_in is True


def test_sync_refuses_to_mark_more_than_half_unless_forced(
    database_url: str, tmp_path: Path
) -> None:
    url = imported(database_url)
    wrong = tmp_path / "one-department.csv"
    lines = DEMO_MEMBERS.read_text(encoding="utf-8").splitlines(keepends=True)
    wrong.write_text(
        lines[0]
        + "".join(line for line in lines[1:] if ",hr," in line)
        # someone new in the wrong file must not be created either
        + "zoe.new@example.com,Zoé New,hr,,,,,,\n",
        encoding="utf-8",
    )
    kept = sum(1 for line in lines[1:] if ",hr," in line)
    code, output = relais(url, "members", "import", str(wrong), "--sync", "-c", str(DEMO_CONFIG))
    assert code == 1
    assert (
        f"Nothing imported: {wrong} does not list {15 - kept} of the 15 active members, "
        "and --sync would mark them all as left." in output
    )
    assert "run the same command with --force" in output and "Traceback" not in output
    stored = people(url)
    assert all(m.left_at is None for m in stored.values()) and "zoe.new@example.com" not in stored

    code, output = relais(
        url, "members", "import", str(wrong), "--sync", "--force", "-c", str(DEMO_CONFIG)
    )
    assert code == 0, output
    assert f"{15 - kept} members not in the file marked as left" in output
    assert sum(1 for m in people(url).values() if m.left_at is None) == kept + 1

    code, output = relais(url, "members", "import", str(wrong), "--force", "-c", str(DEMO_CONFIG))
    assert code == 1 and "--force only goes with --sync." in output


def test_sync_with_an_unreadable_file_marks_nobody(tmp_path: Path) -> None:
    url = imported(f"sqlite:///{tmp_path / 'r.db'}")
    broken = tmp_path / "broken.csv"
    broken.write_text("email,department\nemma.wilson@example.com,sales\n", encoding="utf-8")
    code, output = relais(url, "members", "import", str(broken), "--sync", "--force")
    assert code == 1 and f"{broken}:1: missing column: name" in output
    assert "marked as left" not in output
    assert all(m.left_at is None for m in people(url).values())


def test_deactivate_and_reactivate_by_email(tmp_path: Path) -> None:
    url = imported(f"sqlite:///{tmp_path / 'r.db'}")
    code, output = relais(
        url, "members", "deactivate", "Emma.Wilson@example.com", "nobody@x.example"
    )
    assert code == 1
    assert f"{EMMA} is marked as left: they will receive nothing more." in output
    assert "No member has the e-mail: nobody@x.example" in output
    assert people(url)[EMMA].left_at is not None
    code, output = relais(url, "members", "deactivate", EMMA)
    assert code == 0 and f"{EMMA} had already left." in output
    code, output = relais(url, "members", "reactivate", EMMA)
    assert code == 0 and f"{EMMA} is active again." in output
    assert people(url)[EMMA].left_at is None


def test_a_scheduled_lesson_slot_skips_a_leaver_and_queued_messages_are_not_sent(runtime) -> None:  # type: ignore[no-untyped-def]
    url = runtime.engine.url.render_as_string(hide_password=False)
    london = datetime(2026, 11, 24, 10, 0, 20, tzinfo=UTC)  # Tuesday 10:00 in London
    run_scheduled(runtime, "lessons", london)
    assert relais(url, "members", "deactivate", EMMA, KARIM)[0] == 0  # Emma's lesson is queued
    paris = datetime(2026, 11, 26, 9, 0, 20, tzinfo=UTC)  # Thursday 10:00 in Paris
    assert run_scheduled(runtime, "lessons", paris) > 0
    with Session(runtime.engine) as session:
        ids = {m.email: m.id for m in session.exec(select(Member)).all()}
        lessons = session.exec(select(Delivery).where(Delivery.kind == "lesson")).all()
    thursday = {row.member_id for row in lessons if row.dedupe_key.endswith("2026-11-26T10:00")}
    assert ids[KARIM] not in thursday  # he left before this slot
    assert ids[NOAH] in thursday and ids[CLAIRE] in thursday  # the others in Paris got theirs
    with time_machine.travel(paris + timedelta(minutes=1), tick=False):
        assert asyncio.run(runtime.worker.drain()) == len(lessons)
    leavers = (ids[EMMA], ids[KARIM])
    with Session(runtime.engine) as session:
        rows = session.exec(select(Delivery)).all()
        failed = session.exec(
            select(ParticipationEvent).where(ParticipationEvent.kind == "lesson_failed")
        ).all()
    # Queued on Tuesday, before they left: not sent.
    assert {(row.member_id, row.status, row.error) for row in rows if row.member_id in leavers} == {
        (ids[EMMA], FAILED, "member has left"),
        (ids[KARIM], FAILED, "member has left"),
    }
    assert {row.status for row in rows if row.member_id not in leavers} == {SENT}
    assert sorted(event.member_id for event in failed) == sorted(leavers)


def test_leavers_get_no_reminders_charter_reminders_or_digest(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    url = runtime.engine.url.render_as_string(hide_password=False)
    tuesday = datetime(2026, 11, 24, 9, 0, 20, tzinfo=UTC)  # the lesson slot, 10:00 in Paris
    run_scheduled(runtime, "lessons", tuesday)
    assert relais(url, "members", "deactivate", NOAH, JULIEN)[0] == 0
    run_scheduled(runtime, "lesson_reminders", tuesday + timedelta(hours=25))
    run_scheduled(runtime, "charter_reminders", datetime(2026, 11, 30, 8, 30, 20, tzinfo=UTC))
    run_scheduled(runtime, "manager_digest", datetime(2026, 11, 30, 8, 0, 30, tzinfo=UTC))
    with Session(runtime.engine) as session:
        kinds = {
            (email, kind)
            for email, kind in session.exec(
                select(Member.email, Delivery.kind).join(Delivery, Delivery.member_id == Member.id)
            ).all()
        }
    # Karim (still here, also in Paris) gets each of them: the jobs really ran.
    assert {(KARIM, "lesson_reminder"), (KARIM, "charter_reminder"), (CLAIRE, "digest")} <= kinds
    assert {kind for email, kind in kinds if email in (NOAH, JULIEN)} == {"lesson"}


def test_a_report_is_not_routed_to_a_relay_who_left(runtime, chat, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pin_triage(monkeypatch, "complaint")  # with "layoffs"... routed to hr by its keywords
    url = runtime.engine.url.render_as_string(hide_password=False)
    assert relais(url, "members", "deactivate", AMELIE)[0] == 0
    noah = chat(NOAH)
    noah.type("report https://x.example.com/status/7 a rumour about layoffs and hiring")
    with Session(runtime.engine) as session:
        amelie_id = session.exec(select(Member.id).where(Member.email == AMELIE)).one()
        assigned = session.exec(select(CaseAssignment)).all()
        to_amelie = session.exec(select(Delivery).where(Delivery.member_id == amelie_id)).all()
    assert assigned and amelie_id not in {a.member_id for a in assigned}
    assert {a.step for a in assigned} == {"central_team"}  # hr has no other relay
    assert to_amelie == []


def test_a_leaver_writing_to_the_bot_is_treated_as_not_in_the_programme(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    url = runtime.engine.url.render_as_string(hide_password=False)
    emma = chat(EMMA)
    assert "What I can do for you" in "\n".join(s.rendered.text for s in emma.type("help"))
    with Session(runtime.engine) as session:
        before = len(session.exec(select(SeenEvent)).all())
    assert relais(url, "members", "deactivate", EMMA)[0] == 0
    answer = "\n".join(s.rendered.text for s in emma.type("lesson"))
    assert "Vous n’êtes pas encore membre de" in answer  # what anyone not in the programme gets
    with Session(runtime.engine) as session:
        assert len(session.exec(select(SeenEvent)).all()) == before  # nothing handled
        assert not session.exec(select(Delivery).where(Delivery.status == PENDING)).all()
        assert not session.exec(select(Delivery).where(Delivery.kind == "lesson")).all()
    from bot.events import Who

    assert runtime.relais.home(Who("console", email=EMMA)) is None
    assert runtime.relais.remember_address(Who("teams", user_id="29:emma", email=EMMA)) is None
    assert platform_id(runtime.engine, EMMA, "teams") is None


def test_stats_count_only_people_still_here(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    url = runtime.engine.url.render_as_string(hide_password=False)
    claire = chat(CLAIRE)
    claire.type("lang en")
    assert "of 15 ambassadors active" in "\n".join(s.rendered.text for s in claire.type("stats"))
    assert relais(url, "members", "deactivate", EMMA)[0] == 0
    assert "of 14 ambassadors active" in "\n".join(s.rendered.text for s in claire.type("stats"))


RELAIS_MAIN = "from bot.cli import main; main()"  # what the `relais` script runs
LONG = (
    "marie-christine.de-la-fontaine-dubois@filiale-energies-renouvelables.example.com",
    "jean-baptiste.vandenberghe@norvel-energies.example.com",
)


def test_members_list_never_cuts_an_email(tmp_path: Path) -> None:
    """At 80 columns (and wider), in a real terminal-less process, every e-mail appears whole."""
    url = imported(f"sqlite:///{tmp_path / 'r.db'}")
    extra = tmp_path / "long.csv"
    extra.write_text(
        "email,name,department,roles\n"
        f"{LONG[0]},Marie-Christine de La Fontaine-Dubois,customer-service,relay\n"
        f"{LONG[1]},Jean-Baptiste Vandenberghe,hr,\n",
        encoding="utf-8",
    )
    assert relais(url, "members", "import", str(extra), "-c", str(DEMO_CONFIG))[0] == 0
    expected = sorted([*people(url)])
    shown = {}
    for columns in ("80", "200"):
        env = {
            **os.environ,
            "COLUMNS": columns,
            "RELAIS_DATABASE_URL": url,
            "RELAIS_LANG": "en",
            "RELAIS_CONFIG": str(DEMO_CONFIG),
        }
        done = subprocess.run(
            [sys.executable, "-c", RELAIS_MAIN, "members", "list", "--limit", "0"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert all(
            len(line) <= int(columns) for line in lines if columns == "200" or "@" not in line
        )
        for email in expected:
            assert any(email in line for line in lines), (columns, email, done.stdout)
        shown[columns] = done.stdout
    assert "┃ E-mail" in shown["200"]  # a table where it fits…
    assert "E-mail" not in shown["80"]  # …one member per paragraph where it cannot
    assert "Marie-Christine de La Fontaine-Dubois · customer-service · fr" in shown["80"]


def test_members_list_as_csv(tmp_path: Path) -> None:
    import csv
    import io

    url = imported(f"sqlite:///{tmp_path / 'r.db'}")
    relais(url, "members", "deactivate", EMMA)
    code, output = relais(url, "members", "list", "--csv", "--all", "-c", str(DEMO_CONFIG))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(output)))
    assert len(rows) == 15 and rows[0]["email"] == AMELIE
    emma = next(row for row in rows if row["email"] == EMMA)
    assert emma["left_at"] and emma["roles"] == "ambassador" and emma["opted_in"] == "yes"
    code, output = relais(url, "members", "list", "--limit", "3", "-c", str(DEMO_CONFIG))
    assert "3 of 14 members shown: --limit 0 shows them all." in output
