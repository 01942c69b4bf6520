"""The audit log: written with the action it records, read by coordinators, exported, never rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import time_machine
from sqlalchemy import create_engine, text
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.audit.models import AuditEntry
from bot.members.importer import import_members
from bot.reporting import access
from bot.web import create_app
from tests.conftest import DEMO_MEMBERS, LoopbackServer, pin_triage
from tests.test_campaigns import POST, TUESDAY_10_PARIS

HUGO = "hugo.lambert@example.com"  # coordinator, reads English
EMMA = "emma.wilson@example.com"  # ambassador
KARIM = "karim.benali@example.com"  # relay of customer service


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def lines(runtime, action: str | None = None) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        query = select(AuditEntry).order_by(AuditEntry.id)  # type: ignore[arg-type]
        if action:
            query = query.where(AuditEntry.action == action)
        return list(session.exec(query).all())


@pytest.fixture
def cli(runtime, programme_dir, database_url, monkeypatch):  # type: ignore[no-untyped-def]
    from bot.cli import app

    monkeypatch.setenv("RELAIS_DATABASE_URL", database_url)
    monkeypatch.setenv("RELAIS_CONFIG", str(programme_dir / "app.yaml"))
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_chat_actions_are_recorded_with_who_and_where_and_coordinators_read_them(
    runtime, chat, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    pin_triage(monkeypatch, "complaint")
    hugo = chat(HUGO)
    # Starting Relais recorded its app.yaml and its first content.
    assert [e.action for e in lines(runtime)] == ["content.reloaded", "config.loaded"]
    hugo.type("crisis declare storm-power-outage wind")
    refused = texts(hugo.type("crisis declare phishing-campaign"))  # refused: nothing recorded
    assert "already in progress" in refused
    hugo.type("crisis end The storm is over")
    with time_machine.travel(TUESDAY_10_PARIS, tick=True):
        hugo.type(f"broadcast {POST} department:sales")
    chat(EMMA).type("report https://x.example.com/status/5 angry customer")
    karim = chat(KARIM)
    karim.inbox()
    karim.press(karim.number_of("case.reassign"))
    karim.press(karim.number_of("case.move", None))
    found = [(e.action, e.actor, e.platform) for e in lines(runtime)[2:]]
    assert found == [
        ("crisis.declared", HUGO, "console"),
        ("crisis.ended", HUGO, "console"),
        ("campaign.started", HUGO, "console"),
        ("case.reassigned", KARIM, "console"),
    ]
    declared = lines(runtime, "crisis.declared")[0]
    assert declared.details == {"playbook": "storm-power-outage"} and declared.target == "1"

    shown = texts(hugo.type("audit 3"))
    assert "Audit log" in shown
    assert f"{KARIM} · reassigned a case" in shown and "started a campaign" in shown
    assert "declared a crisis" not in shown  # only the 3 latest
    assert "you may not read the audit log" in texts(chat(EMMA).type("audit"))
    assert "Write “audit” or “audit N” with N from 1 to 50." in texts(hugo.type("audit lots"))


def test_role_changes_from_the_hr_file_are_recorded(runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    changed = tmp_path / "members.csv"
    source = DEMO_MEMBERS.read_text(encoding="utf-8")
    row = next(line for line in source.splitlines() if line.startswith(EMMA))
    changed.write_text(source.replace(row, row.replace(",ambassador,", ",ambassador;relay,")))
    report = import_members(runtime.engine, changed, runtime.config)
    assert report.updated == 1
    (line,) = lines(runtime, "member.roles_changed")
    assert (line.actor, line.target, line.platform) == ("operator (CLI)", EMMA, "cli")
    assert line.details == {"source": ["ambassador"], "to": ["ambassador", "relay"]}
    import_members(runtime.engine, changed, runtime.config)  # the same file again: no change
    assert len(lines(runtime, "member.roles_changed")) == 1


def test_content_reload_is_recorded_once(runtime, programme_dir: Path) -> None:  # type: ignore[no-untyped-def]
    lesson = next((programme_dir / "content" / "lessons").rglob("*.md"))
    lesson.write_text(lesson.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    assert runtime.watcher.check() is not None
    (line,) = lines(runtime, "content.reloaded")[1:]
    assert line.actor == "Relais" and line.details["updated"] == 1


def test_export_as_csv_and_jsonl_since_a_date(runtime, chat, cli) -> None:  # type: ignore[no-untyped-def]
    chat(HUGO).type('crisis declare storm-power-outage =HYPERLINK("x")')
    exported = cli("audit", "export", "--format", "jsonl")
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [row["action"] for row in rows] == [
        "content.reloaded",
        "config.loaded",
        "crisis.declared",
    ]
    assert rows[2]["actor"] == HUGO and rows[2]["platform"] == "console"
    as_csv = cli("audit", "export")
    header, *body = as_csv.stdout.splitlines()
    assert header == "id,at,actor,actor_id,action,target,platform,details"
    assert len(body) == 4  # the first export is itself a line now
    assert cli("audit", "export", "--since", "2999-01-01").stdout.splitlines() == [header]
    bad = cli("audit", "export", "--since", "yesterday")
    assert bad.exit_code == 1 and "--since yesterday is not a date" in bad.output
    assert cli("crisis", "export", "1").exit_code == 0  # a timeline names people: recorded
    (timeline,) = lines(runtime, "crisis.exported")
    assert (timeline.actor, timeline.target, timeline.details) == (
        "operator (CLI)",
        "1",
        {"format": "md"},
    )
    exports = lines(runtime, "audit.exported")
    assert [(e.actor, e.details["format"]) for e in exports] == [
        ("operator (CLI)", "jsonl"),
        ("operator (CLI)", "csv"),
        ("operator (CLI)", "csv"),
    ]


def test_postgresql_refuses_to_rewrite_the_log(runtime_factory, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    runtime = runtime_factory(postgres_url)
    engine = create_engine(postgres_url)
    try:
        for statement in (
            "UPDATE audit_entry SET actor = 'someone else'",
            "DELETE FROM audit_entry",
            "TRUNCATE audit_entry",
        ):
            with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
                connection.execute(text(statement))
        # An erasure's transaction may rewrite who a line names, never when or what.
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL relais.erasure = 'on'"))
            connection.execute(text("UPDATE audit_entry SET actor = 'erased member #1'"))
        with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
            connection.execute(text("SET LOCAL relais.erasure = 'on'"))
            connection.execute(text("UPDATE audit_entry SET action = 'post.approved'"))
        with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
            connection.execute(text("SET LOCAL relais.erasure = 'on'"))
            connection.execute(text("DELETE FROM audit_entry"))
    finally:
        engine.dispose()
    assert {e.actor for e in lines(runtime)} == {"erased member #1"}


def test_the_dashboard_page_is_for_coordinators(runtime, chat, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(access.SECRET_ENV, "s" * 48)
    chat(HUGO).type("crisis declare storm-power-outage")
    from bot import audit
    from bot.db import session_scope

    with session_scope(runtime.engine) as session:  # a line naming something a person wrote
        audit.record(session, None, "post.withdrawn", "<script>alert(1)</script>", {"why": "<b>"})
    with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
        monkeypatch.setenv(access.PUBLIC_URL_ENV, server.url)
        with httpx.Client(follow_redirects=True) as client:
            assert client.get(f"{server.url}/dashboard/audit").status_code == 401

        def signed_in(email: str) -> httpx.Client:
            from bot.members import service as members

            with Session(runtime.engine) as session:
                link = access.new_link(session, members.by_email(session, email))  # type: ignore[arg-type]
                session.commit()
            client = httpx.Client(follow_redirects=True)
            assert client.get(link).status_code == 200
            return client

        client = signed_in(EMMA)
        assert client.get(f"{server.url}/dashboard/audit").status_code == 403
        client.close()
        client = signed_in(HUGO)
        page = client.get(f"{server.url}/dashboard/audit")
        client.close()
    assert page.status_code == 200
    assert "declared a crisis" in page.text and HUGO in page.text
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<b>" not in page.text
