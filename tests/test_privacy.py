"""Personal data: a member's export, the data protection officer's export and erasure, retention.

The erasure test walks every table of the metadata after `relais members erase`
and looks for the person's e-mail, name, platform ids and words in every
column of every row, including the messages other members were sent that
quote them; the figures that counted them must not move.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlmodel import Session
from typer.testing import CliRunner

from bot.clock import utcnow
from bot.db import session_scope
from bot.members import service as members
from bot.members.models import Member
from bot.models import metadata
from bot.participation.models import ParticipationEvent
from tests.conftest import pin_triage, run_scheduled
from tests.test_slack import slack  # noqa: F401  (the Slack world, a fixture)

EMMA = "emma.wilson@example.com"  # ambassador in sales, reads English
CLAIRE = "claire.dubois@example.com"  # coordinator
KARIM = "karim.benali@example.com"  # relay of customer service (complaints go there)
WORDS = "Our CEO insulted my cousin on the radio yesterday"
SLACK_ID = "U0EMMA4242"
TEAMS_ID = "29:1emma-teams-object-xyz"
TEAMS_CONVERSATION = "a:1emma-personal-conversation-xyz"


@pytest.fixture(autouse=True)
def _complaints(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_triage(monkeypatch, "complaint")


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "files"
    monkeypatch.setenv("RELAIS_FILES_DIR", str(folder))
    return folder


@pytest.fixture
def cli(runtime, programme_dir, database_url, monkeypatch):  # type: ignore[no-untyped-def]
    from bot.cli import app

    monkeypatch.setenv("RELAIS_DATABASE_URL", database_url)
    monkeypatch.setenv("RELAIS_CONFIG", str(programme_dir / "app.yaml"))
    runner = CliRunner()
    return lambda *args, answer=None: runner.invoke(app, list(args), input=answer)


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def emma_id(runtime) -> int:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return session.execute(select(Member.id).where(Member.email == EMMA)).scalar_one()


def live_a_little(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    """Emma is met on Slack and Teams, answers a lesson, reports a mention, asks for her data."""
    with session_scope(runtime.engine) as session:
        member_id = members.by_email(session, EMMA).id  # type: ignore[union-attr]
        members.remember_address(
            session, member_id, "slack", user_id=SLACK_ID, channel_id="D0EMMA42"
        )
        members.remember_address(
            session,
            member_id,
            "teams",
            user_id=TEAMS_ID,
            reference={
                "user": {"id": TEAMS_ID, "name": "Emma Wilson", "aadObjectId": "emma-aad-0042"},
                "conversation": {"id": TEAMS_CONVERSATION, "tenantId": "tenant-1"},
                "bot": {"id": "28:relais-bot"},
                "serviceUrl": "https://smba.example.com/",
            },
        )
    emma = chat(EMMA)
    emma.type("lesson")
    correct = runtime.relais.content.lesson("welcome", "en").quiz.correct_index
    emma.press(emma.number_of("lesson.answer", f"welcome:{correct}"))
    emma.type(f"report https://x.example.com/status/77 {WORDS}")
    karim = chat(KARIM)
    alert = texts(karim.inbox())
    assert WORDS in alert and "Emma Wilson" in alert  # the relay was sent her words
    karim.press(karim.number_of("case.ack"))
    emma.type("privacy")


def test_a_member_receives_a_file_of_their_data_and_nothing_of_others(runtime, chat, files) -> None:  # type: ignore[no-untyped-def]
    noah = chat("noah.bernard@example.com")
    noah.type("report https://x.example.com/status/1 somebody else's words entirely")
    live_a_little(runtime, chat)
    exported = list(files.glob("relais-my-data-*.json"))
    assert len(exported) == 1, list(files.iterdir())
    document = json.loads(exported[0].read_text(encoding="utf-8"))
    assert document["member"]["email"] == EMMA and document["member"]["name"] == "Emma Wilson"
    tables = document["tables"]
    assert {a["platform"]: a["user_id"] for a in tables["address"]} == {
        "slack": SLACK_ID,
        "teams": TEAMS_ID,
        "console": None,
    }
    assert [r["text"] for r in tables["mentionreport"]] == [WORDS]
    kinds = {e["kind"] for e in tables["participationevent"]}
    assert {"lesson_delivered", "lesson_answered", "mention_reported"} <= kinds
    assert any(WORDS in (d.get("message") or "") for d in tables["delivery"]) or tables["delivery"]
    whole = json.dumps(document, ensure_ascii=False)
    # Nothing of anyone else: not Noah's words, nor other members' e-mails.
    assert "somebody else's words" not in whole
    with Session(runtime.engine) as session:
        others = session.execute(select(Member.email).where(Member.email != EMMA)).scalars().all()
    assert not [email for email in others if email in whole]
    # The export is in the audit log, from the platform it was asked on.
    with Session(runtime.engine) as session:
        row = session.execute(
            text("SELECT actor, platform, target FROM audit_entry WHERE action = 'member.exported'")
        ).one()
    assert tuple(row) == (EMMA, "console", EMMA)


def figures(runtime) -> dict:  # type: ignore[no-untyped-def]
    """Every figure of this week and the one before, for the whole programme and per cell."""
    from bot.i18n import Tr
    from bot.reporting import measures, periods

    period = periods.parse("week", utcnow(), runtime.config.time.zone, Tr("en"))
    with Session(runtime.engine) as session:
        report = measures.build(session, runtime.config, period)
    return {
        "now": {cell: dataclasses.asdict(t) for cell, t in sorted(report.now.items())},
        "before": {cell: dataclasses.asdict(t) for cell, t in sorted(report.before.items())},
        "total": dataclasses.asdict(report.total()),
        "crisis_ack_rate": report.figures()["crisis_ack_rate"],
    }


def every_value(runtime) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(table, column, value as text) for every non-null cell of every table of the metadata."""
    found = []
    with runtime.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(table.select()):
                for column, value in row._mapping.items():
                    if value is None:
                        continue
                    shown = (
                        json.dumps(value, ensure_ascii=False)
                        if isinstance(value, dict | list)
                        else str(value)
                    )
                    found.append((table.name, column, shown))
    return found


def test_erasure_leaves_no_trace_in_any_table_and_figures_unchanged(
    runtime, chat, files, cli
) -> None:  # type: ignore[no-untyped-def]
    live_a_little(runtime, chat)
    member_id = emma_id(runtime)
    # The usual order: HR says she left (she counts no more in today's heads), then the DPO erases.
    assert cli("members", "deactivate", EMMA).exit_code == 0
    run_scheduled(runtime, "reporting_rollup", utcnow() + timedelta(minutes=10))
    before = figures(runtime)
    secrets = [
        EMMA,
        "Emma Wilson",
        SLACK_ID,
        "D0EMMA42",
        TEAMS_ID,
        TEAMS_CONVERSATION,
        "emma-aad-0042",
        WORDS,
    ]
    present = {s for _, _, value in every_value(runtime) for s in secrets if s in value}
    assert present == set(secrets)  # the test looks where they really are

    erased = cli("members", "erase", EMMA, "--yes")
    assert erased.exit_code == 0, erased.output
    assert f"erased member #{member_id}" in erased.output

    left = [(t, c, s) for t, c, value in every_value(runtime) for s in secrets if s in value]
    assert not left, left
    assert figures(runtime) == before
    with Session(runtime.engine) as session:
        member = session.get(Member, member_id)
        assert member is not None and member.left_at is not None
        assert member.department == "sales"  # the cell she counted in
        assert session.execute(
            select(ParticipationEvent.id).where(ParticipationEvent.member_id == member_id)
        ).first()
        line = session.execute(
            text("SELECT actor, target FROM audit_entry WHERE action = 'member.erased'")
        ).one()
    assert tuple(line) == ("operator (CLI)", f"erased member #{member_id}")
    # The bot no longer knows her on any platform.
    shown = texts(chat(KARIM).type("reports"))
    assert "Emma Wilson" not in shown
    assert cli("members", "erase", EMMA, "--yes").exit_code == 1  # nobody by that address now


def test_erase_asks_before_it_acts(runtime, cli) -> None:  # type: ignore[no-untyped-def]
    refused = cli("members", "erase", EMMA, answer="n\n")  # no --yes: asked, and "n"
    assert refused.exit_code == 1 and "Nothing erased." in refused.output
    with Session(runtime.engine) as session:
        assert session.execute(select(Member.id).where(Member.email == EMMA)).first()


def test_cli_export_prints_the_persons_data(runtime, chat, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    chat(EMMA).type(f"report https://x.example.com/status/9 {WORDS}")
    printed = cli("members", "export", EMMA)
    assert printed.exit_code == 0, printed.output
    document = json.loads(printed.stdout)
    assert document["member"]["email"] == EMMA
    assert [r["text"] for r in document["tables"]["mentionreport"]] == [WORDS]
    target = tmp_path / "emma.json"
    assert cli("members", "export", EMMA, "-o", str(target)).exit_code == 0
    assert json.loads(target.read_text(encoding="utf-8"))["member"]["name"] == "Emma Wilson"
    unknown = cli("members", "export", "nobody@example.com")
    assert unknown.exit_code == 1 and "nobody@example.com" in unknown.output


def test_old_raw_events_go_once_folded_and_figures_stay(runtime) -> None:  # type: ignore[no-untyped-def]
    from bot.participation.models import record

    member_id = emma_id(runtime)
    long_ago = utcnow() - timedelta(days=500)
    with session_scope(runtime.engine) as session:
        for kind in ("lesson_delivered", "command_used", "mention_reported"):
            record(session, kind, member_id, "x").occurred_at = long_ago
        record(session, "lesson_delivered", member_id, "recent")
    with Session(runtime.engine) as session:
        assert session.execute(select(ParticipationEvent.kind)).scalars().all()
    now = utcnow() + timedelta(minutes=10)
    # Not folded yet: the lesson stays (the rollups do not hold it), the command goes.
    run_scheduled(runtime, "prune_raw_events", now)
    with Session(runtime.engine) as session:
        kinds = sorted(session.execute(select(ParticipationEvent.kind)).scalars())
    assert kinds == ["lesson_delivered", "lesson_delivered", "mention_reported"]
    run_scheduled(runtime, "reporting_rollup", now)
    run_scheduled(runtime, "prune_raw_events", now + timedelta(days=1))
    with Session(runtime.engine) as session:
        rows = sorted(session.execute(select(ParticipationEvent.kind, ParticipationEvent.subject)))
    # Folded and old: gone. Recent, and read event by event (reports): kept.
    assert rows == [("lesson_delivered", "recent"), ("mention_reported", "x")]


def test_expired_sign_in_links_are_removed(runtime) -> None:  # type: ignore[no-untyped-def]
    from bot.reporting import access
    from bot.reporting.models import DashboardToken

    with session_scope(runtime.engine) as session:
        emma = members.by_email(session, EMMA)
        access.new_link(session, emma, now=utcnow() - timedelta(days=3))  # type: ignore[arg-type]
        access.new_link(session, emma)  # type: ignore[arg-type]
    run_scheduled(runtime, "prune_raw_events", utcnow())
    with Session(runtime.engine) as session:
        left = session.execute(select(DashboardToken.created_at)).scalars().all()
    assert len(left) == 1 and left[0] > utcnow() - timedelta(hours=1)


def test_on_slack_the_file_is_uploaded_to_the_members_direct_messages(slack) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    assert slack.command("U0EMMA001", "privacy").status_code == 200
    shared = slack.wait_for(
        lambda: [f for f in slack.standin.files if f["channel"] == "D0EMMA001"], "the upload"
    )
    document = json.loads(shared[0]["content"])
    assert document["member"]["email"] == EMMA
    slack_address = {a["platform"]: a["user_id"] for a in document["tables"]["address"]}["slack"]
    assert slack_address == "U0EMMA001"
    names = [c.get("filename") for c in slack.standin.called("files.getUploadURLExternal")]
    assert any(str(name).startswith("relais-my-data-") for name in names)


def test_a_signed_in_member_downloads_their_data_from_the_dashboard(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from bot.reporting import access
    from bot.web import create_app
    from tests.conftest import LoopbackServer

    monkeypatch.setenv(access.SECRET_ENV, "s" * 48)
    with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
        monkeypatch.setenv(access.PUBLIC_URL_ENV, server.url)
        assert httpx.get(f"{server.url}/dashboard/my-data.json").status_code == 401
        with session_scope(runtime.engine) as session:
            link = access.new_link(session, members.by_email(session, EMMA))  # type: ignore[arg-type]
        with httpx.Client(follow_redirects=True) as client:
            assert client.get(link).status_code == 200
            got = client.get(f"{server.url}/dashboard/my-data.json")
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    assert got.json()["member"]["email"] == EMMA
    with Session(runtime.engine) as session:
        row = session.execute(
            text("SELECT actor, platform FROM audit_entry WHERE action = 'member.exported'")
        ).one()
    assert tuple(row) == (EMMA, "web")


def test_a_file_too_large_for_chat_points_to_the_dashboard(
    runtime, chat, files, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from bot.privacy import handlers

    monkeypatch.setattr(handlers, "MOST_BYTES", 100)
    shown = texts(chat(EMMA).type("privacy"))
    assert "too large to send in chat" in shown and "/dashboard/my-data.json" in shown
    assert not files.exists() or not list(files.glob("relais-my-data-*.json"))
