"""Hostile input at the HTTP endpoints: replays, garbage, oversized bodies, secrets, injected text.

What tests/test_slack.py and tests/test_teams.py already cover (forged and stale
signatures, unauthenticated activities, malformed and oversized bodies on the
two platform endpoints) is not repeated here; this adds the rest: replays,
every endpoint's body cap, fuzzed signed bodies through the real server,
secrets kept out of logs and answers, and a person's text shown as typed.
"""

# ruff: noqa: F811  (the Slack and Teams worlds are fixtures imported from their test modules)
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlmodel import Session, select
from typer.testing import CliRunner

from adapters.slack.render import render as slack_render
from adapters.teams.cards import render_cards
from bot.delivery.models import Delivery
from bot.delivery.outbox import message_of
from bot.members.models import Member
from bot.response.models import MentionReport
from bot.web import create_app
from tests.conftest import LoopbackServer, pin_triage
from tests.test_fuzz import slack_body, slack_like, teams_like
from tests.test_slack import SECRET, SlackWorld, signed_headers, slack  # noqa: F401  (fixture)
from tests.test_teams import (  # noqa: F401  (fixtures)
    TeamsWorld,
    connector,
    no_internet,
    teams,
)

SLACK_TOKEN = "xoxb-test-token"  # what tests/test_slack.py's fixture puts in the environment
INJECTED = "<!channel> [Reset your password](https://evil.example/login) *now* & <@U0THOMAS1>"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """These tests hammer the HTTP layer: SQLite is enough (storage is tested elsewhere)."""
    return f"sqlite:///{tmp_path / 'relais.db'}"


def count(runtime: Any, model: Any) -> int:
    with Session(runtime.engine) as session:
        return len(session.exec(select(model)).all())


# --- replays --------------------------------------------------------------------------------


def test_a_replayed_signed_slack_request_is_handled_once(slack: SlackWorld, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Someone who captured a signed request sends it again within the 5 minutes: once only."""
    pin_triage(monkeypatch, "complaint")
    body = urlencode(
        {
            "team_id": "T0001",
            "user_id": "U0EMMA001",
            "command": "/relais",
            "text": "report https://x.example.com/status/8 they lie",
            "channel_id": "C0GENERAL",
            "trigger_id": "trig-replayed-1",
            "response_url": "http://127.0.0.1:9/unused",
        }
    )
    headers = signed_headers(body)
    answers = [slack.post(body, headers).status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    slack.settled()
    assert count(slack.runtime, MentionReport) == 1
    # Replayed later than five minutes, the same bytes are refused outright.
    stale = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    assert slack.post(body, stale).status_code == 401
    assert count(slack.runtime, MentionReport) == 1


# --- fuzzed bodies through the real endpoints -----------------------------------------------


@given(shape=slack_like, as_form=st.booleans(), raw=st.none() | st.text(max_size=200))
# Found by CI's fuzzing: a form body of strings where Bolt's log line reads objects.
@example(shape={"type": None, "event": None}, as_form=True, raw=None)
@example(shape={"type": "block_actions", "view": "x", "user": {"id": "U1"}}, as_form=True, raw=None)
@example(shape={"command": "/other", "user_id": "U1", "view": None}, as_form=False, raw=None)
def test_signed_slack_bodies_of_any_shape_never_get_a_500(
    slack: SlackWorld, shape: Any, as_form: bool, raw: str | None
) -> None:
    body, content_type = slack_body(shape, as_form, raw)
    response = slack.post(body, signed_headers(body, content_type=content_type))
    assert response.status_code < 500, (response.status_code, body)


@given(shape=st.dictionaries(st.sampled_from(["type", "text", "from", "value"]), teams_like))
def test_teams_activities_of_any_shape_never_get_a_500(teams: TeamsWorld, shape: Any) -> None:
    response = httpx.post(
        f"{teams.url}/api/messages",
        content=json.dumps(shape),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code < 500, (response.status_code, shape)


# --- every endpoint caps its body -----------------------------------------------------------


def test_every_endpoint_refuses_an_oversized_body_and_garbage_gets_4xx(runtime_factory) -> None:  # type: ignore[no-untyped-def]
    runtime = runtime_factory()
    big = b"x" * (2 * 1024 * 1024)
    with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
        for method, path in (
            ("GET", "/healthz"),
            ("GET", "/dashboard"),
            ("GET", "/dashboard/audit"),
            ("GET", "/s/abcdefgh"),
            ("POST", "/s/abcdefgh"),
            ("POST", "/no/such/page"),
        ):
            response = httpx.request(method, server.url + path, content=big, timeout=30)
            assert response.status_code == 413, (method, path, response.status_code)
        for method, path in (
            ("GET", "/s/" + "A" * 5000),
            ("GET", "/s/%00%ff"),
            ("GET", "/dashboard?period=" + "9" * 5000 + "&department=%00"),
            ("GET", "/dashboard/signin/" + "x" * 3000),
            ("GET", "/dashboard/export/nothing.csv"),
            ("DELETE", "/healthz"),
            ("POST", "/dashboard"),
        ):
            response = httpx.request(method, server.url + path, timeout=30)
            assert 400 <= response.status_code < 500 or response.status_code in (200, 303), (
                method,
                path,
                response.status_code,
            )


# --- secrets --------------------------------------------------------------------------------


def test_secrets_never_reach_logs_answers_or_errors(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    base = slack.url.removesuffix("/slack/events")
    answers = [
        httpx.get(f"{base}/healthz", timeout=20).text,
        httpx.get(f"{base}/metrics", timeout=20).text,
        slack.post("text=x", {**signed_headers("text=x"), "X-Slack-Signature": "v0=bad"}).text,
        slack.post("{", signed_headers("{", content_type="application/json")).text,
        slack.command("U0EMMA001", "help").text,
    ]
    slack.settled()
    # What the stand-in Slack received carries the token (it is the API's credential) but
    # what Relais wrote anywhere else does not.
    for secret in (SECRET, SLACK_TOKEN):
        assert secret not in caplog.text
        assert not [answer for answer in answers if secret in answer]


def test_a_database_password_is_never_printed(programme_dir: Path) -> None:
    from bot.cli import app

    url = "postgresql+psycopg://relais:Sup3rSecretPw@127.0.0.1:1/relais"
    for args in (["db", "upgrade"], ["members", "list"], ["serve"]):
        result = CliRunner().invoke(
            app,
            [*args, *(["--config", str(programme_dir / "app.yaml")] if args[0] != "db" else [])],
            env={"RELAIS_DATABASE_URL": url, "RELAIS_LANG": "en"},
        )
        assert result.exit_code != 0, args
        assert "Sup3rSecretPw" not in result.output, (args, result.output)
        assert "Sup3rSecretPw" not in repr(result.exception), args


# --- a person's words, shown as typed --------------------------------------------------------


def test_a_reported_text_reaches_the_relay_as_typed_on_slack_and_teams(
    slack: SlackWorld, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    pin_triage(monkeypatch, "complaint")  # complaints go to Karim (customer service)
    assert (
        slack.command("U0EMMA001", f"report https://x.example.com/status/3 {INJECTED}").status_code
        == 200
    )
    alert = slack.wait_for(lambda: slack.dms("U0KARIM01"), "the relay's alert")[0]
    blocks = alert["blocks"]
    plain = [b["text"]["text"] for b in blocks if b.get("text", {}).get("type") == "plain_text"]
    assert INJECTED in plain  # Slack shows it character for character, formats nothing
    formatted = json.dumps([b for b in blocks if b.get("text", {}).get("type") == "mrkdwn"])
    assert "<!channel>" not in formatted and "<@U0THOMAS1>" not in formatted
    # The same message on Teams: no link hides behind "Reset your password".
    with Session(slack.runtime.engine) as session:
        karim = session.exec(select(Member).where(Member.email == "karim.benali@example.com")).one()
        row = session.exec(
            select(Delivery).where(Delivery.member_id == karim.id, Delivery.kind != "reply")
        ).first()
        assert row is not None
        message = message_of(row, session)
    cards = json.dumps(render_cards(message, "fr"))
    assert "evil.example" in cards and '"url": "https://evil.example/login"' not in cards
    assert "<!channel>" not in json.dumps(slack_render(message)).replace(
        json.dumps(INJECTED)[1:-1], ""
    )


@given(text=st.text(min_size=1, max_size=7000))
@example(text=" ")  # blank under a title: the title alone, no stray section
def test_any_person_written_text_is_rendered_as_typed(text: str) -> None:
    """Whatever someone wrote: Slack gets plain_text (nothing formatted, no mention, no link);
    Teams gets TextRuns without a link (nothing hides behind a label)."""
    from bot.messages import Message, Section

    message = Message(text="Case", blocks=[Section(title="Case #1", text=text, plain=True)])
    slack_blocks = [block for payload in slack_render(message) for block in payload["blocks"]]
    shown = "".join(
        block["text"]["text"]
        for block in slack_blocks
        if block.get("text", {}).get("type") == "plain_text"
    )
    assert shown.replace(" ", "") == "".join(
        chunk for chunk in [text[i : i + 3000] for i in range(0, len(text), 3000)] if chunk.strip()
    ).replace(" ", "")
    mrkdwn = [b["text"]["text"] for b in slack_blocks if b.get("text", {}).get("type") == "mrkdwn"]
    assert mrkdwn == ["*Case #1*"]
    cards = json.dumps(render_cards(message, "en"))
    assert "selectAction" not in cards and "Action.OpenUrl" not in cards
