"""The weekly digest: plain sentences in the reader's language, and a PNG chart of the trend,
through the real scheduler wiring; uploaded to Slack, attached inline in Teams, saved by the console."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlmodel import Session, select

from bot.delivery.models import Delivery
from bot.delivery.outbox import message_of
from bot.members.models import Member
from bot.messages import Attachment, Message
from bot.participation.models import record
from tests.conftest import run_scheduled
from tests.test_teams import BOT, connector, teams  # noqa: F401  (fixtures)

MONDAY_NINE = datetime(2026, 11, 23, 8, 0, 30, tzinfo=UTC)  # 09:00 in Paris: the digest's slot
IN_W47 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
IN_W46 = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)
JULIEN = "julien.roux@example.com"  # manages Sales, HR, Legal
SOPHIE = "sophie.laurent@example.com"  # manages Communications, Marketing (French)


def week_of_activity(runtime) -> None:  # type: ignore[no-untyped-def]
    """HR rises (Noah active in week 47 only), Sales falls (Emma in week 46 only), Legal is empty."""
    with Session(runtime.engine) as session:
        who = {m.email: m.id for m in session.exec(select(Member)).all()}
        answered = record(session, "lesson_answered", who["noah.bernard@example.com"], "welcome")
        answered.data, answered.occurred_at = {"correct": True, "review": False}, IN_W47
        before = record(session, "lesson_answered", who["emma.wilson@example.com"], "welcome")
        before.data, before.occurred_at = {"correct": False, "review": False}, IN_W46
        session.commit()


def digest_of(runtime, email: str) -> Message:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        row = session.exec(
            select(Delivery)
            .join(Member, Member.id == Delivery.member_id)
            .where(Member.email == email, Delivery.kind == "digest")
        ).one()
        return message_of(row, session)


def text_of(message: Message) -> str:
    return "\n".join(
        (getattr(b, "title", None) or "") + "\n" + (getattr(b, "text", "") or "")
        for b in message.blocks
    )


def test_the_digest_says_what_rose_fell_and_stayed_empty_in_each_language(chat, runtime) -> None:  # type: ignore[no-untyped-def]
    week_of_activity(runtime)
    chat(JULIEN).type("lang en")
    assert run_scheduled(runtime, "manager_digest", MONDAY_NINE) > 0
    english = text_of(digest_of(runtime, JULIEN))
    assert "The week of November 16, 2026, compared with the week before" in english
    hr = english.split("Human resources")[1].split("Legal")[0]
    assert "1 of 2 ambassadors active (50%, up from 0%)." in hr
    assert "1 lesson answer (up from 0); 100% right at first try." in hr
    sales = english.split("Sales")[1].split("Human resources")[0]
    assert "0 of 3 ambassadors active (0%, down from 33%)." in sales
    assert "Nobody answered a lesson in the period." in sales
    legal = english.split("Legal")[1]
    assert "0 of 1 ambassador active (0%, as before)." in legal
    assert "1 has not accepted the current charter (version" in legal
    assert "Marketing" not in english  # not Julien's

    french = text_of(digest_of(runtime, SOPHIE))  # Sophie reads French
    narrow = "\u202f"
    assert "La semaine du 16 novembre 2026, comparée à la semaine précédente" in french
    assert f"Ambassadeurs actifs{narrow}: 0 sur 3 (0{narrow}%, comme avant)." in french
    assert "Personne n’a répondu à une leçon sur la période." in french
    assert "Sales" not in french and "Ventes" not in french


def test_the_digest_carries_a_png_chart_of_the_trend(runtime) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    week_of_activity(runtime)
    run_scheduled(runtime, "manager_digest", MONDAY_NINE)
    files = [b for b in digest_of(runtime, JULIEN).blocks if isinstance(b, Attachment)]
    assert len(files) == 1 and files[0].name == "relais-digest-2026-W47.png"
    content = files[0].content()
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    picture = Image.open(io.BytesIO(content))
    picture.verify()  # a whole, valid PNG
    assert picture.format == "PNG" and picture.size[0] >= 400
    assert "16/11: 1" in files[0].alt  # the chart's figures, for screen readers


def test_the_console_saves_the_chart_and_shows_where(
    chat, runtime, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RELAIS_FILES_DIR", str(tmp_path / "files"))
    week_of_activity(runtime)
    julien = chat(JULIEN)
    julien.type("lang en")
    run_scheduled(runtime, "manager_digest", MONDAY_NINE)
    with time_machine.travel(MONDAY_NINE + timedelta(minutes=1), tick=False):
        shown = "\n".join(item.rendered.text for item in julien.inbox())
    line = next(line for line in shown.splitlines() if "relais-digest-2026-W47" in line)
    path = Path(line.rsplit("] ", 1)[1])
    assert path.parent == tmp_path / "files" and path.read_bytes().startswith(b"\x89PNG")
    assert line.startswith("[Chart: ambassadors active per week")


@pytest.fixture
def slack_world(runtime_factory, programme_dir: Path, database_url: str, monkeypatch):  # type: ignore[no-untyped-def]
    from bot.web import create_app
    from tests.conftest import LoopbackServer
    from tests.slack_standin import SlackStandIn
    from tests.test_slack import SECRET, SlackWorld

    standin = SlackStandIn({"U0JULIEN1": JULIEN, "U0SOPHIE1": SOPHIE})
    config = programme_dir / "app.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "  slack:\n    enabled: false",
            "  slack:\n    enabled: true\n    process_before_response: true",
        ),
        encoding="utf-8",
    )
    with LoopbackServer(standin.app) as api:
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("SLACK_API_URL", f"{api.url}/api/")
        monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
        runtime = runtime_factory(database_url)
        with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
            yield SlackWorld(standin, server.url, runtime)


def test_slack_gets_the_digest_then_its_chart_through_files_upload_v2(slack_world) -> None:  # type: ignore[no-untyped-def]
    runtime = slack_world.runtime
    week_of_activity(runtime)
    # A slot already past, so the worker (on the real clock) sends what it queued at once.
    assert run_scheduled(runtime, "manager_digest", MONDAY_NINE - timedelta(weeks=1)) > 0
    standin = slack_world.standin
    shared = slack_world.wait_for(
        lambda: [f for f in standin.files if f["channel"] == "D0JULIEN1"], "the chart upload"
    )
    assert shared[0]["content"].startswith(b"\x89PNG\r\n\x1a\n")
    assert shared[0]["title"].startswith("Graphique") or shared[0]["title"].startswith("Chart")
    posted = slack_world.dms("U0JULIEN1")
    assert posted and "Julien" not in str(posted[0].get("blocks"))  # the digest itself came first
    assert "image" not in {b["type"] for b in posted[0].get("blocks", [])}  # no file in the blocks
    lengths = {
        int(c["length"])
        for c in standin.called("files.getUploadURLExternal")
        if c.get("filename") == "relais-digest-2026-W46.png"
    }
    assert len(shared[0]["content"]) in lengths  # the whole file went up
    slack_world.settled()
    with Session(runtime.engine) as session:
        sent = {
            email: row.status
            for row, email in session.exec(
                select(Delivery, Member.email)
                .join(Member, Member.id == Delivery.member_id)
                .where(Delivery.kind == "digest")
            ).all()
        }
        assert sent[JULIEN] == "sent" and sent[SOPHIE] == "sent"


def test_teams_gets_the_digest_then_its_chart_inline_within_the_size_limit(teams) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Through the Bot Connector stand-in: Marc installs the app, the digest job runs, the worker sends."""
    from tests.test_teams import TEAMS_LIMIT, activity, personal

    marc = {
        "id": "29:1marc",
        "name": "Marc Fontaine",
        "aadObjectId": "a1b2c3d4-0000-4000-8000-00000000ma01",
        "email": "marc.fontaine@example.com",  # manager of Customer service (French)
    }
    teams.connector.members[marc["id"]] = marc
    installed = activity(
        teams.connector, marc, kind="conversationUpdate", membersAdded=[{"id": BOT}]
    )
    assert teams.post(installed).status_code == 201
    runtime = teams.runtime
    week_of_activity(runtime)
    assert run_scheduled(runtime, "manager_digest", MONDAY_NINE - timedelta(weeks=1)) > 0
    runtime.worker.kick()

    def images() -> list[dict]:  # type: ignore[type-arg]
        return [
            (item, attachment)
            for item in teams.connector.accepted
            if item["conversation"] == personal(marc)
            for attachment in item["activity"].get("attachments") or []
            if attachment.get("contentType") == "image/png"
        ]

    [(item, image)] = teams.wait_for(images, "the chart")
    assert image["contentUrl"].startswith("data:image/png;base64,iVBORw0KGgo")
    assert image["name"] == "relais-digest-2026-W46.png"
    cards = [
        attachment["content"]
        for sent in teams.connector.accepted
        if sent["conversation"] == personal(marc)
        for attachment in sent["activity"].get("attachments") or []
        if "content" in attachment
    ]
    assert any(
        "Votre semaine dans le programme" in json.dumps(c, ensure_ascii=False) for c in cards
    )
    index = teams.connector.accepted.index(item)
    assert teams.connector.sizes[index] < TEAMS_LIMIT  # one activity, as Teams counts it
