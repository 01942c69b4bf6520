"""Slack, for real: signed requests to `POST /slack/events` of the running server, the real
slack_sdk client talking to a stand-in Slack Web API on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlmodel import Session, select

from bot.delivery.models import FAILED, PENDING, SENDING, Delivery
from bot.members.models import Member
from bot.response.models import Case, MentionReport
from bot.training.models import QuizAnswer
from bot.web import create_app
from tests.conftest import LoopbackServer, pin_triage, platform_id
from tests.slack_standin import SlackStandIn

SECRET = "test-signing-secret"
USERS = {
    "U0KARIM01": "karim.benali@example.com",  # relay, customer service, French
    "U0EMMA001": "emma.wilson@example.com",  # ambassador, sales, English
    "U0THOMAS1": "thomas.girard@example.com",  # relay, sales
    "U0STRANGE": "stranger@example.com",  # in Slack, not in the programme
}


def signed_headers(
    body: str,
    secret: str = SECRET,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Exactly what Slack sends: v0 HMAC-SHA256 of 'v0:<timestamp>:<body>' with the signing secret."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": content_type,
    }


class SlackWorld:
    """The stand-in Slack, the running Relais server, and ways to act as a Slack user."""

    def __init__(self, standin: SlackStandIn, relais_url: str, runtime: Any) -> None:
        self.standin = standin
        self.url = f"{relais_url}/slack/events"
        self.runtime = runtime

    def post(self, body: str, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(self.url, content=body.encode(), headers=headers, timeout=20)

    def command(
        self, user: str, text: str, trigger: str | None = None, **extra: str
    ) -> httpx.Response:
        body = urlencode(
            {
                "token": "x",
                "team_id": "T0001",
                "user_id": user,
                "command": "/relais",
                "text": text,
                "channel_id": "C0GENERAL",
                "trigger_id": trigger or f"trig-{time.monotonic_ns()}",
                "response_url": "http://127.0.0.1:9/unused",
            }
        )
        return self.post(body, {**signed_headers(body), **extra})

    def interact(self, payload: dict[str, Any], **extra: str) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, {**signed_headers(body), **extra})

    def event(self, event: dict[str, Any], event_id: str, **extra: str) -> httpx.Response:
        body = json.dumps(
            {
                "token": "x",
                "team_id": "T0001",
                "api_app_id": "A0001",
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(time.time()),
                "event": event,
            }
        )
        return self.post(body, {**signed_headers(body, content_type="application/json"), **extra})

    def click(
        self, user: str, button: dict[str, Any], message_ts: str, action_ts: str, **extra: str
    ) -> httpx.Response:
        return self.interact(
            {
                "type": "block_actions",
                "user": {"id": user},
                "team": {"id": "T0001"},
                "trigger_id": "t1",
                "container": {
                    "type": "message",
                    "message_ts": message_ts,
                    "channel_id": "D" + user[1:],
                },
                "actions": [
                    {
                        "type": "button",
                        "action_id": button["action_id"],
                        "value": button["value"],
                        "block_id": "b1",
                        "action_ts": action_ts,
                    }
                ],
            },
            **extra,
        )

    def wait_for(self, condition: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            self.runtime.worker.kick()
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def settled(self) -> None:
        """Wait until the worker has handled every queued message (none pending or being sent).

        With process_before_response, a request's handling is over when its
        response returns; once the outbox is settled too, nothing more can
        reach the stand-in. Negative checks come after this, never after a sleep.
        """

        def idle() -> bool:
            with Session(self.runtime.engine) as session:
                busy = session.exec(
                    select(Delivery.id).where(Delivery.status.in_((PENDING, SENDING)))  # type: ignore[attr-defined]
                ).first()
            return busy is None

        self.wait_for(idle, "the outbox to settle")

    def dms(self, user: str) -> list[dict[str, Any]]:
        return self.standin.messages_to("D" + user[1:])

    def count(self, model: Any) -> int:
        with Session(self.runtime.engine) as session:
            return len(session.exec(select(model)).all())


@pytest.fixture
def slack(
    runtime_factory, programme_dir: Path, database_url: str, monkeypatch
) -> Iterator[SlackWorld]:  # type: ignore[no-untyped-def]
    standin = SlackStandIn(USERS)
    config = programme_dir / "app.yaml"
    text = config.read_text(encoding="utf-8").replace(
        "  slack:\n    enabled: false",
        "  slack:\n    enabled: true\n    process_before_response: true",
    )
    config.write_text(text, encoding="utf-8")
    with LoopbackServer(standin.app) as api:
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("SLACK_API_URL", f"{api.url}/api/")
        monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
        runtime = runtime_factory(database_url)
        assert set(runtime.platforms) == {"slack", "console"}
        with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
            yield SlackWorld(standin, server.url, runtime)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def all_text(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def test_bad_signatures_get_401_and_change_nothing(slack: SlackWorld) -> None:
    body = urlencode(
        {"user_id": "U0KARIM01", "command": "/relais", "text": "lesson", "trigger_id": "t"}
    )
    forged = {**signed_headers(body), "X-Slack-Signature": "v0=" + "0" * 64}
    wrong_secret = signed_headers(body, secret="not-the-secret")
    stale = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    missing = {"Content-Type": "application/x-www-form-urlencoded"}
    for headers in (forged, wrong_secret, stale, missing):
        assert slack.post(body, headers).status_code == 401
    # The same request, signed: its answer is the positive signal that the forged ones,
    # sent before it, would have shown by now.
    assert slack.post(body, signed_headers(body)).status_code == 200
    slack.wait_for(lambda: slack.dms("U0KARIM01"), "the signed request's lesson")
    slack.settled()
    assert slack.count(Delivery) == 1 and len(slack.standin.called("chat.postMessage")) == 1


def test_lesson_by_slash_command_answered_with_a_click_stored_once(slack: SlackWorld) -> None:
    response = slack.command("U0KARIM01", "lesson")
    assert response.status_code == 200
    lesson = slack.wait_for(lambda: slack.dms("U0KARIM01"), "the lesson DM")[0]
    assert "Bienvenue" in all_text(lesson)  # Karim reads French
    # Posted to the user id (Slack opens the DM): no conversations.open; the DM is remembered.
    assert slack.standin.called("conversations.open") == []
    assert slack.standin.called("chat.postMessage")[0]["channel"] == "D0KARIM01"
    quiz = slack.runtime.relais.content.lesson("welcome", "fr").quiz
    right = next(b for b in buttons(lesson) if b["value"] == f"welcome:{quiz.correct_index}")
    assert right["action_id"].startswith("lesson.answer#")
    first = slack.click(
        "U0KARIM01", right, lesson_ts := "1700000000.000001", action_ts="1700000100.000200"
    )
    assert first.status_code == 200
    feedback = slack.wait_for(lambda: slack.dms("U0KARIM01")[1:], "the feedback DM")[0]
    assert "✅" in all_text(feedback)
    retried = slack.click(
        "U0KARIM01",
        right,
        lesson_ts,
        action_ts="1700000100.000200",
        **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert retried.status_code == 200
    slack.settled()  # the retry was handled when it was answered; its messages, if any, sent
    assert slack.count(QuizAnswer) == 1
    assert len(slack.dms("U0KARIM01")) == 2
    posts = slack.standin.called("chat.postMessage")
    assert [p["channel"] for p in posts] == ["D0KARIM01", "D0KARIM01"]  # the DM channel is kept
    with Session(slack.runtime.engine) as session:
        karim = session.exec(select(Member).where(Member.email == "karim.benali@example.com")).one()
        assert karim.preferred_platform == "slack"
    assert platform_id(slack.runtime.engine, karim.email, "slack") == "U0KARIM01"


def test_unknown_subcommand_gets_a_helpful_answer(slack: SlackWorld) -> None:
    slack.command("U0EMMA001", "dance")
    answer = slack.wait_for(lambda: slack.dms("U0EMMA001"), "the help DM")[0]
    assert "I don't know the command “dance”." in all_text(answer) and "`lesson`" in all_text(
        answer
    )


def test_person_not_in_programme_is_told_so(slack: SlackWorld) -> None:
    slack.command("U0STRANGE", "help")
    answer = slack.wait_for(lambda: slack.standin.messages_to("U0STRANGE"), "the direct answer")[0]
    assert "coordinat" in all_text(answer)


def test_a_member_known_by_their_slack_id_costs_no_users_info_call(slack: SlackWorld) -> None:
    """The e-mail is asked of Slack only for someone the programme does not know by id."""
    from bot.members.service import link_platform_id

    with Session(slack.runtime.engine) as session:
        hugo = session.exec(select(Member).where(Member.email == "hugo.lambert@example.com")).one()
        link_platform_id(session, hugo.id or 0, "slack", "U0HUGO001")
        session.commit()
    slack.command("U0HUGO001", "help")
    slack.wait_for(lambda: slack.dms("U0HUGO001"), "the help DM")
    slack.command("U0EMMA001", "help")  # imported without a Slack id: linked by e-mail once
    slack.wait_for(lambda: slack.dms("U0EMMA001"), "Emma's help DM")
    assert [call.get("user") for call in slack.standin.called("users.info")] == ["U0EMMA001"]
    slack.command("U0EMMA001", "help")  # now known by id
    slack.wait_for(lambda: len(slack.dms("U0EMMA001")) == 2, "Emma's second help DM")
    assert len(slack.standin.called("users.info")) == 1


def test_retried_event_is_handled_once_and_own_messages_ignored(slack: SlackWorld) -> None:
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "D0EMMA001",
        "user": "U0EMMA001",
        "text": "progress",
        "ts": "1700000200.000100",
    }
    assert slack.event(event, "Ev0001").status_code == 200
    assert slack.event(event, "Ev0001", **{"X-Slack-Retry-Num": "1"}).status_code == 200
    slack.wait_for(lambda: slack.dms("U0EMMA001"), "the progress DM")
    own = {**event, "user": "UBOT00001", "bot_id": "BBOT00001", "text": "help"}
    assert slack.event(own, "Ev0002").status_code == 200
    slack.settled()
    assert len(slack.dms("U0EMMA001")) == 1
    assert "Your training" in all_text(slack.dms("U0EMMA001")[0])


def test_every_message_delivered_once_through_429s(slack: SlackWorld) -> None:
    slack.standin.rate_limited = 3
    for n in range(3):
        slack.command("U0EMMA001", "help", trigger=f"t-{n}")
    slack.wait_for(lambda: len(slack.dms("U0EMMA001")) >= 3, "three help DMs")
    slack.settled()
    assert len(slack.dms("U0EMMA001")) == 3
    attempts = len(slack.standin.called("chat.postMessage"))
    assert attempts >= 3 + 3  # the 429s were really answered, then retried


def test_final_slack_errors_are_recorded(slack: SlackWorld) -> None:
    slack.standin.fail_users["U0THOMAS1"] = "account_inactive"
    slack.command("U0THOMAS1", "help")

    def failed() -> list[Delivery]:
        with Session(slack.runtime.engine) as session:
            return list(session.exec(select(Delivery).where(Delivery.status == FAILED)).all())

    rows = slack.wait_for(failed, "a failed delivery")
    assert rows[0].error == "account_inactive"


def test_message_shortcut_reports_a_case_to_the_relays_it_is_about(
    slack: SlackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_triage(monkeypatch, "complaint")  # a complaint goes to customer service (Karim)
    response = slack.interact(
        {
            "type": "message_action",
            "callback_id": "relais_report",
            "trigger_id": "t9",
            "user": {"id": "U0EMMA001"},
            "team": {"id": "T0001"},
            "channel": {"id": "C0NEWS"},
            "message": {
                "type": "message",
                "text": "Look at <https://x.example.com/1|this> angry thread",
                "ts": "1700000300.000100",
            },
        }
    )
    assert response.status_code == 200
    alert = slack.wait_for(lambda: slack.dms("U0KARIM01"), "the relay's alert")[0]
    assert "Emma Wilson" in all_text(
        alert
    ) and "https://acme.slack.com/archives/C0NEWS/p1700000300000100" in all_text(alert)
    assert "Dossier nº 1" in all_text(alert)  # Karim reads French
    with Session(slack.runtime.engine) as session:
        report = session.exec(select(MentionReport)).one()
        assert report.platform == "slack" and "angry thread" in report.text
        case = session.get(Case, report.case_id)
        assert case is not None and case.department == "customer-service"
    labels = {b["action_id"].split("#")[0] for b in buttons(alert)}
    assert {"case.ack", "case.reassign", "case.resolve", "case.dismiss", "case.correct"} <= labels
    ack = next(b for b in buttons(alert) if b["action_id"].startswith("case.ack"))
    slack.click("U0KARIM01", ack, "1700000000.000009", "1700000400.000001")
    slack.wait_for(
        lambda: any("Karim Benali" in all_text(m) for m in slack.dms("U0EMMA001")), "Emma told"
    )
    with Session(slack.runtime.engine) as session:
        case = session.get(Case, report.case_id)
        assert case is not None and case.status == "acknowledged"
    # Reassign, through the same signed endpoint: the choice of departments, then one of them.
    reassign = next(b for b in buttons(alert) if b["action_id"].startswith("case.reassign"))
    slack.click("U0KARIM01", reassign, "1700000000.000009", "1700000400.000002")
    choice = slack.wait_for(
        lambda: [m for m in slack.dms("U0KARIM01") if "case.move" in json.dumps(m)], "the choice"
    )[0]
    sales = next(b for b in buttons(choice) if b.get("value") == f"{case.id}:sales")
    slack.click("U0KARIM01", sales, "1700000000.000010", "1700000400.000003")
    slack.wait_for(
        lambda: any("Dossier nº 1" in all_text(m) for m in slack.dms("U0THOMAS1")),
        "the sales relay's card",
    )


def test_app_home_published_on_open(slack: SlackWorld) -> None:
    slack.event(
        {"type": "app_home_opened", "user": "U0EMMA001", "tab": "home", "channel": "D0EMMA001"},
        "Ev0100",
    )
    view = slack.wait_for(lambda: slack.standin.called("views.publish"), "views.publish")[0]
    assert view["user_id"] == "U0EMMA001" and view["view"]["type"] == "home"
    assert "Hello Emma!" in all_text(view) and len(view["view"]["blocks"]) <= 100


def test_long_message_resumes_after_a_429_without_repeating_parts(slack: SlackWorld) -> None:
    from bot.db import session_scope
    from bot.delivery.outbox import Outgoing, enqueue
    from bot.messages import Message, Section

    with Session(slack.runtime.engine) as session:
        emma_id = session.exec(
            select(Member.id).where(Member.email == "emma.wilson@example.com")
        ).one()
    long = Message(
        text="long", blocks=[Section(text=f"part {n}") for n in range(120)]
    )  # 3 Slack messages
    with session_scope(slack.runtime.engine) as session:
        enqueue(
            session,
            Outgoing(
                member_id=emma_id,
                platform="slack",
                dedupe_key="long",
                kind="reply",
                message=long,
                purpose="operational",
            ),
        )
    slack.standin.fail_after_posts = (
        1  # the second part is refused with 429, the first went through
    )
    slack.wait_for(lambda: len(slack.dms("U0EMMA001")) >= 3, "three parts")
    slack.settled()
    firsts = [m["blocks"][0]["text"]["text"] for m in slack.dms("U0EMMA001")]
    assert firsts == ["part 0", "part 50", "part 100"]  # each part once, in order


# --- hostile input ------------------------------------------------------------------


def stored(world: SlackWorld) -> tuple[int, int, int]:
    return world.count(Delivery), world.count(MentionReport), world.count(QuizAnswer)


def test_oversized_bodies_get_413_before_being_read_whole(slack: SlackWorld) -> None:
    big = "text=" + "x" * (2 * 1024 * 1024)
    assert slack.post(big, signed_headers(big)).status_code == 413

    def chunked() -> Iterator[bytes]:  # no Content-Length: the cap applies while reading
        for _ in range(40):
            yield b"x" * 65536

    response = httpx.post(slack.url, content=chunked(), headers=signed_headers(""), timeout=20)
    assert response.status_code == 413
    assert stored(slack) == (0, 0, 0)


def test_a_forged_request_is_refused_and_its_body_never_logged(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = urlencode({"command": "/relais", "user_id": "U0KARIM01", "text": "MARKER-4f1c"})
    body += "\nINFO:relais.web:forged log line"
    forged = {**signed_headers(body), "X-Slack-Signature": "v0=" + "0" * 64}
    assert slack.post(body, forged).status_code == 401
    assert slack.post(body, {**forged, "X-Slack-Request-Timestamp": "soon"}).status_code == 401
    assert "MARKER-4f1c" not in caplog.text and "forged log line" not in caplog.text
    assert stored(slack) == (0, 0, 0)


def test_malformed_signed_bodies_get_400_and_nothing_is_stored(slack: SlackWorld) -> None:
    json_type = "application/json"
    form_type = "application/x-www-form-urlencoded"
    click_without_user = {
        "type": "block_actions",
        "actions": [{"action_id": "command#0", "value": "help", "action_ts": "1"}],
    }
    message_without_user = {
        "type": "event_callback",
        "event_id": "Ev9",
        "event": {"type": "message", "channel_type": "im", "text": "help"},
    }
    cases = [
        ("{not json", json_type),
        ("[1, 2]", json_type),
        ("null", json_type),
        ('{"type": 3}', json_type),
        (json.dumps(message_without_user), json_type),
        (json.dumps({"type": "event_callback", "event": "x"}), json_type),
        ("payload=notjson", form_type),
        (urlencode({"payload": "[1]"}), form_type),
        (urlencode({"payload": json.dumps(click_without_user)}), form_type),
        (urlencode({"command": "/relais", "text": "help"}), form_type),  # no user_id
    ]
    for body, content_type in cases:
        response = slack.post(body, signed_headers(body, content_type=content_type))
        assert response.status_code == 400, body
    assert stored(slack) == (0, 0, 0) and slack.standin.called("chat.postMessage") == []


def test_a_button_value_beyond_64_bits_is_no_longer_in_use(slack: SlackWorld) -> None:
    for n, value in enumerate((str(2**63), "9" * 40, "-1", "１２")):
        button = {"action_id": "report.ack#0", "value": value}
        assert slack.click("U0KARIM01", button, "1700000000.000001", f"17.{n}").status_code == 200
    answers = slack.wait_for(
        lambda: len(slack.dms("U0KARIM01")) >= 4 and slack.dms("U0KARIM01"), "four answers"
    )
    assert all("Ce bouton n’est plus actif." in all_text(m) for m in answers)  # Karim: French
