"""Microsoft Teams, for real: the real `POST /api/messages` under uvicorn, botbuilder's
CloudAdapter and connector client, and a stand-in Bot Connector on 127.0.0.1 (the
activities' serviceUrl) that records what the bot sends. Nothing leaves the machine:
a guard refuses any name or address that is not loopback.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from jwt.algorithms import RSAAlgorithm
from sqlmodel import Session, select

from bot.delivery.models import FAILED, PENDING, SENDING, SENT, Delivery
from bot.delivery.models import HandledEvent as SeenEvent
from bot.events import Who
from bot.members.models import Address, Member
from bot.training.models import QuizAnswer
from bot.web import create_app
from tests.conftest import LoopbackServer, platform_id

TENANT = "72f988bf-0000-4000-8000-00000000beef"
BOT = "28:relais-bot"
APP_ID = "0b6c2f0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
KARIM = {
    "id": "29:1karim",
    "name": "Karim Benali",
    "aadObjectId": "a1b2c3d4-0000-4000-8000-00000000ka01",
    "email": "karim.benali@example.com",
}
EMMA = {
    "id": "29:1emma",
    "name": "Emma Wilson",
    "aadObjectId": "a1b2c3d4-0000-4000-8000-00000000em01",
    "email": "emma.wilson@example.com",
}
STRANGER = {
    "id": "29:1nobody",
    "name": "No Body",
    "aadObjectId": "a1b2c3d4-0000-4000-8000-00000000no01",
    "email": "no.body@example.com",
}
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}
TEAMS_LIMIT = 28 * 1024  # bytes of one activity Teams accepts


# --- nothing may leave the machine ---------------------------------------------


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every name look-up (requests, aiohttp, msal…) must be loopback; others are refused and kept."""
    refused: list[str] = []
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in LOOPBACK_NAMES and not name.startswith("127."):
            refused.append(name)
            raise OSError(f"test guard: no network beyond loopback ({name})")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return refused


# --- a stand-in Bot Connector ------------------------------------------------------


class BotConnector:
    """Answers like the Bot Connector: activities, member look-ups, new conversations, keys."""

    def __init__(self) -> None:
        self.members: dict[str, dict[str, Any]] = {}
        self.accepted: list[dict[str, Any]] = []  # activities the connector took
        self.calls: list[tuple[str, str]] = []  # every call (method, path), refused ones too
        self.throttle = 0  # answer this many activity posts with 429
        self.forbidden: set[str] = set()  # conversations the bot was removed from (403)
        self.created: list[dict[str, Any]] = []
        self.updated: list[dict[str, Any]] = []  # update calls accepted (PUT)
        self.deleted: list[dict[str, Any]] = []  # delete calls accepted (DELETE)
        self.fail_next: list[int] = []  # the next calls' statuses, any verb (0: let it through)
        # (n, released): once n activities were taken, posts hang until released, then fail.
        self.gate: tuple[int, threading.Event] | None = None
        self.gated = threading.Event()  # a post is hanging at the gate
        self.jwks: dict[str, Any] = {"keys": []}
        self.sizes: list[int] = []  # bytes of each activity as it arrived
        self.hold: threading.Event | None = None  # set: the OpenID endpoint hangs until it is set
        self.held = threading.Event()  # the OpenID endpoint was called while held
        self.url = ""
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = FastAPI()
        self.app.add_api_route(
            "/v3/conversations/{conversation}/activities", self.post_activity, methods=["POST"]
        )
        self.app.add_api_route(
            "/v3/conversations/{conversation}/activities/{reply_to}",
            self.post_activity,
            methods=["POST"],
        )
        self.app.add_api_route(
            "/v3/conversations/{conversation}/activities/{activity_id}",
            self.update_activity,
            methods=["PUT"],
        )
        self.app.add_api_route(
            "/v3/conversations/{conversation}/activities/{activity_id}",
            self.delete_activity,
            methods=["DELETE"],
        )
        self.app.add_api_route(
            "/v3/conversations/{conversation}/members/{member}", self.member, methods=["GET"]
        )
        self.app.add_api_route("/v3/conversations", self.create, methods=["POST"])
        self.app.add_api_route("/openid", self.openid, methods=["GET"])
        self.app.add_api_route("/keys", self.keys, methods=["GET"])

    async def post_activity(
        self, conversation: str, request: Request, reply_to: str | None = None
    ) -> JSONResponse:
        raw = await request.body()
        body = json.loads(raw)
        gate = self.gate
        if gate is not None and len(self.accepted) >= gate[0]:
            # Hung until released, then not taken: the sender died waiting (a killed worker).
            self.gated.set()
            await asyncio.to_thread(gate[1].wait, 60)
            return JSONResponse({"error": {"code": "ServiceUnavailable"}}, status_code=503)
        with self._lock:
            self.calls.append(("POST", request.url.path))
            self.sizes.append(len(raw))
            if conversation in self.forbidden:
                return JSONResponse(
                    {"error": {"code": "BotNotInConversationRoster", "message": "removed"}},
                    status_code=403,
                )
            if (failing := self._failing()) is not None:
                return failing
            if self.throttle > 0:
                self.throttle -= 1
                return JSONResponse(
                    {"error": {"code": "TooManyRequests", "message": "slow down"}},
                    status_code=429,
                    headers={"Retry-After": "1"},
                )
            activity_id = f"1:{next(self._ids)}"
            self.accepted.append(
                {
                    "conversation": conversation,
                    "reply_to": reply_to,
                    "id": activity_id,
                    "authorization": request.headers.get("authorization"),
                    "activity": body,
                }
            )
        return JSONResponse({"id": activity_id}, status_code=201)

    def _failing(self) -> JSONResponse | None:
        if not self.fail_next:
            return None
        status = self.fail_next.pop(0)
        if not status:  # 0: this call goes through
            return None
        return JSONResponse(
            {"error": {"code": "ServiceError", "message": "failing"}},
            status_code=status,
            headers={"Retry-After": "1"} if status == 429 else None,
        )

    def _find(self, conversation: str, activity_id: str) -> dict[str, Any] | None:
        return next(
            (
                item
                for item in self.accepted
                if item["conversation"] == conversation and item["id"] == activity_id
            ),
            None,
        )

    async def update_activity(
        self, conversation: str, activity_id: str, request: Request
    ) -> JSONResponse:
        """Teams replaces the activity's content in place; an unknown id is 404."""
        raw = await request.body()
        body = json.loads(raw)
        with self._lock:
            self.calls.append(("PUT", request.url.path))
            self.sizes.append(len(raw))
            if (failing := self._failing()) is not None:
                return failing
            found = self._find(conversation, activity_id)
            if found is None:
                return JSONResponse({"error": {"code": "NotFound", "message": "gone"}}, 404)
            found["activity"] = body
            found["edited"] = True
            self.updated.append({"conversation": conversation, "id": activity_id, "body": body})
        return JSONResponse({"id": activity_id}, status_code=200)

    async def delete_activity(
        self, conversation: str, activity_id: str, request: Request
    ) -> Response:
        with self._lock:
            self.calls.append(("DELETE", request.url.path))
            if (failing := self._failing()) is not None:
                return failing
            found = self._find(conversation, activity_id)
            if found is None:
                return JSONResponse({"error": {"code": "NotFound", "message": "gone"}}, 404)
            self.accepted.remove(found)
            self.deleted.append({"conversation": conversation, "id": activity_id})
        return Response(status_code=200)

    async def member(self, conversation: str, member: str, request: Request) -> JSONResponse:
        with self._lock:
            self.calls.append(("GET", request.url.path))
        found = self.members.get(member)
        if found is None:
            return JSONResponse({"error": {"code": "MemberNotFoundInConversation"}}, 404)
        return JSONResponse({**found, "userPrincipalName": found["email"], "tenantId": TENANT})

    async def create(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self._lock:
            self.calls.append(("POST", request.url.path))
            conversation = f"a:personal-{len(self.created) + 1}"
            self.created.append(body)
        return JSONResponse({"id": conversation}, status_code=201)

    async def openid(self) -> JSONResponse:
        if self.hold is not None:
            self.held.set()
            await asyncio.to_thread(self.hold.wait, 120)
        return JSONResponse(
            {"issuer": "https://api.botframework.com", "jwks_uri": f"{self.url}/keys"}
        )

    async def keys(self) -> JSONResponse:
        return JSONResponse(self.jwks)

    def cards_to(self, conversation: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                attachment["content"]
                for item in self.accepted
                if item["conversation"] == conversation
                for attachment in item["activity"].get("attachments") or []
            ]


def enable_teams(programme_dir: Path) -> None:
    config = programme_dir / "app.yaml"
    text = config.read_text(encoding="utf-8")
    assert "  teams:\n    enabled: false" in text
    config.write_text(text.replace("  teams:\n    enabled: false", "  teams:\n    enabled: true"))


def activity(
    connector: BotConnector,
    user: dict[str, Any],
    *,
    kind: str = "message",
    text: str | None = None,
    value: Any = None,
    conversation: str | None = None,
    conversation_type: str = "personal",
    activity_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An activity as Teams posts it to the bot."""
    body: dict[str, Any] = {
        "type": kind,
        "id": activity_id or f"f:{uuid.uuid4().hex[:12]}",
        "timestamp": datetime.now(UTC).isoformat(),
        "channelId": "msteams",
        "serviceUrl": f"{connector.url}/",
        "from": {"id": user["id"], "name": user["name"], "aadObjectId": user["aadObjectId"]},
        "recipient": {"id": BOT, "name": "Relais"},
        "conversation": {
            "id": conversation or f"a:{user['id'][3:]}-personal",
            "conversationType": conversation_type,
            "tenantId": TENANT,
            "isGroup": conversation_type != "personal",
        },
        "channelData": {"tenant": {"id": TENANT}},
        "locale": "fr-FR",
    }
    if text is not None:
        body["text"] = text
        body["textFormat"] = "plain"
    if value is not None:
        body["value"] = value
    body.update(extra)
    return body


def personal(user: dict[str, Any]) -> str:
    return f"a:{user['id'][3:]}-personal"


class TeamsWorld:
    def __init__(self, connector: BotConnector, url: str, runtime: Any) -> None:
        self.connector = connector
        self.url = url
        self.runtime = runtime

    def post(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/messages",
            content=json.dumps(body),
            headers={"Content-Type": "application/json", **(headers or {})},
            timeout=30,
        )

    def wait_for(self, condition: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def settled(self) -> None:
        """Wait until no queued message is pending or being sent: after that, nothing more comes.

        Each activity is handled before its HTTP answer, so what it queues is in
        the outbox by then; negative checks come after this, never after a sleep.
        """
        self.wait_for(
            lambda: not self.rows(Delivery, Delivery.status.in_((PENDING, SENDING))),  # type: ignore[attr-defined]
            "the outbox to settle",
        )

    def rows(self, model: Any, *where: Any) -> list[Any]:
        with Session(self.runtime.engine) as session:
            return list(session.exec(select(model).where(*where)).all())

    def member(self, email: str) -> Member:
        return self.rows(Member, Member.email == email)[0]


@pytest.fixture
def connector() -> Iterator[BotConnector]:
    standin = BotConnector()
    standin.members = {KARIM["id"]: KARIM, EMMA["id"]: EMMA, STRANGER["id"]: STRANGER}
    with LoopbackServer(standin.app) as server:
        standin.url = server.url
        yield standin


@pytest.fixture
def teams(
    runtime_factory, programme_dir: Path, database_url: str, connector: BotConnector, monkeypatch
) -> Iterator[TeamsWorld]:  # type: ignore[no-untyped-def]
    """Relais with Teams on, authentication off (local test mode), served on 127.0.0.1."""
    enable_teams(programme_dir)
    monkeypatch.setenv("RELAIS_TEAMS_INSECURE_LOCAL", "1")
    runtime = runtime_factory(database_url)
    assert "teams" in runtime.platforms
    with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
        yield TeamsWorld(connector, server.url, runtime)


def mention(text: str) -> dict[str, Any]:
    return {"type": "mention", "mentioned": {"id": BOT, "name": "Relais"}, "text": text}


def card_text(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def runs(card: dict[str, Any]) -> str:
    return " ".join(
        run["text"]
        for element in card["body"]
        if element["type"] == "RichTextBlock"
        for run in element["inlines"]
    )


def quiz_of(card: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    choices = next(e for e in card["body"] if e["type"] == "Input.ChoiceSet")
    submit = next(
        action
        for element in card["body"]
        if element["type"] == "ActionSet"
        for action in element["actions"]
        if action["type"] == "Action.Submit"
    )
    return choices, submit


# --- the real endpoint -------------------------------------------------------------


def test_a_typed_command_is_answered_at_the_service_url_as_a_card(
    teams: TeamsWorld, no_internet: list[str]
) -> None:
    body = activity(
        teams.connector,
        KARIM,
        text="<at>Relais</at> help",
        entities=[mention("<at>Relais</at>")],
    )
    response = teams.post(body)
    assert response.status_code == 201
    cards = teams.wait_for(lambda: teams.connector.cards_to(personal(KARIM)), "the help card")
    card = cards[0]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert "lesson" in runs(card) and "Ce que je peux faire pour vous" in runs(card)
    buttons = [a for e in card["body"] if e["type"] == "ActionSet" for a in e["actions"]]
    assert {"relais_action": "command", "relais_value": "lesson"} in [b["data"] for b in buttons]
    # The e-mail came from Teams once; the core linked Karim's Entra object id.
    assert (
        teams.connector.calls.count(
            ("GET", f"/v3/conversations/{personal(KARIM)}/members/{KARIM['id']}")
        )
        == 1
    )
    karim = teams.member(KARIM["email"])
    assert karim.preferred_platform == "teams"
    assert platform_id(teams.runtime.engine, karim.email, "teams") == KARIM["aadObjectId"]
    address = teams.rows(Address, Address.member_id == karim.id, Address.platform == "teams")[0]
    assert address.channel_id == personal(KARIM)
    assert address.reference["serviceUrl"] == f"{teams.connector.url}/"
    assert address.reference["conversation"]["tenantID"] == TENANT  # botbuilder's spelling
    # Teams redelivers the same activity: handled once, nothing new queued.
    events, deliveries = len(teams.rows(SeenEvent)), len(teams.rows(Delivery))
    assert teams.post(body).status_code == 201
    assert (len(teams.rows(SeenEvent)), len(teams.rows(Delivery))) == (events, deliveries)
    sent = teams.rows(Delivery, Delivery.member_id == karim.id)[0]
    assert sent.status == SENT and sent.platform_channel_id == personal(KARIM)
    assert sent.platform_message_id == teams.connector.accepted[0]["id"]
    assert teams.connector.accepted[0]["authorization"] is None  # authentication is off here
    assert no_internet == []


def test_someone_outside_the_programme_is_answered_in_the_turn(teams: TeamsWorld) -> None:
    assert teams.post(activity(teams.connector, STRANGER, text="lesson")).status_code == 201
    cards = teams.connector.cards_to(personal(STRANGER))  # sent before the response
    assert len(cards) == 1 and "pas encore membre" in runs(cards[0])
    assert teams.rows(Delivery) == [] and teams.rows(SeenEvent) == []


def test_proactive_lesson_after_a_conversation_update_and_a_quiz_answer_stored_once(
    teams: TeamsWorld,
) -> None:
    from tests.conftest import run_scheduled

    runtime = teams.runtime
    installed = activity(
        teams.connector,
        KARIM,
        kind="conversationUpdate",
        membersAdded=[{"id": BOT}],
    )
    assert teams.post(installed).status_code == 201
    karim = teams.member(KARIM["email"])
    assert platform_id(teams.runtime.engine, karim.email, "teams") == KARIM["aadObjectId"]
    assert teams.rows(Address, Address.member_id == karim.id, Address.platform == "teams")
    assert teams.connector.accepted == []  # installing says nothing by itself

    # The scheduler's own job, at the last lesson slot (10:00 Paris on a Tuesday or Thursday).
    paris = ZoneInfo("Europe/Paris")
    day = datetime.now(paris).date()
    while True:
        slot = datetime(day.year, day.month, day.day, 10, 0, 30, tzinfo=paris)
        if slot.weekday() in (1, 3) and slot < datetime.now(paris):
            break
        day -= timedelta(days=1)
    assert run_scheduled(runtime, "lessons", slot) > 0
    lesson = teams.rows(Delivery, Delivery.member_id == karim.id, Delivery.kind == "lesson")[0]
    assert lesson.platform == "teams"
    runtime.worker.kick()
    card = teams.wait_for(lambda: teams.connector.cards_to(personal(KARIM)), "the lesson")[0]
    assert card["type"] == "AdaptiveCard"
    assert teams.connector.accepted[0]["reply_to"] is None  # a new message, not a reply
    choices, submit = quiz_of(card)
    quiz = runtime.relais.content.lesson(lesson.subject, "fr").quiz
    assert [c["title"] for c in choices["choices"]] == [o.text for o in quiz.options]

    # Karim picks the right answer and presses the card's button: Teams posts the
    # Action.Submit data merged with the input's value.
    right = choices["choices"][quiz.correct_index]["value"]
    value = {**submit["data"], choices["id"]: right}
    click = activity(teams.connector, KARIM, value=value, replyToId="1:1")
    assert teams.post(click).status_code == 201
    assert teams.post(click).status_code == 201  # Teams redelivers the same click
    again = activity(teams.connector, KARIM, value=value, replyToId="1:1")
    assert teams.post(again).status_code == 201  # a second click on the same card
    answers = teams.rows(QuizAnswer, QuizAnswer.member_id == karim.id)
    assert len(answers) == 1 and answers[0].correct is True
    texts = teams.wait_for(
        lambda: [c for c in teams.connector.cards_to(personal(KARIM))[1:] if "✅" in runs(c)],
        "the feedback",
    )
    teams.settled()  # a duplicate of the feedback would be queued and sent by now
    texts = [c for c in teams.connector.cards_to(personal(KARIM))[1:] if "✅" in runs(c)]
    assert len(texts) == 1


def test_429_from_the_connector_is_retried_and_delivered_once(teams: TeamsWorld) -> None:
    teams.connector.throttle = 1
    assert teams.post(activity(teams.connector, EMMA, text="progress")).status_code == 201
    emma = teams.member(EMMA["email"])

    def delivered() -> list[Delivery]:
        return [d for d in teams.rows(Delivery, Delivery.member_id == emma.id) if d.status == SENT]

    row = teams.wait_for(delivered, "the reply after the 429")[0]
    teams.settled()
    assert row.attempts == 1  # a 429 gives its attempt back: the limit is not the message's fault
    posts = [call for call in teams.connector.calls if call[1].endswith("/activities")]
    assert len(posts) == 2 and len(teams.connector.cards_to(personal(EMMA))) == 1


def test_a_member_who_removed_the_app_is_a_final_failure(teams: TeamsWorld) -> None:
    teams.connector.forbidden.add(personal(EMMA))
    assert teams.post(activity(teams.connector, EMMA, text="progress")).status_code == 201
    emma = teams.member(EMMA["email"])

    def failed() -> list[Delivery]:
        return [
            d for d in teams.rows(Delivery, Delivery.member_id == emma.id) if d.status == FAILED
        ]

    row = teams.wait_for(failed, "the failure")[0]
    assert row.attempts == 1 and "HTTP 403: BotNotInConversationRoster" in (row.error or "")


def test_a_member_first_met_in_a_channel_gets_a_personal_chat(teams: TeamsWorld) -> None:
    body = activity(
        teams.connector,
        EMMA,
        text="<at>Relais</at> progress",
        entities=[mention("<at>Relais</at>")],
        conversation="19:general@thread.tacv2;messageid=1700000000000",
        conversation_type="channel",
    )
    assert teams.post(body).status_code == 201
    assert len(teams.connector.created) == 1
    created = teams.connector.created[0]
    assert created["members"] == [{"id": EMMA["id"]}]
    assert created["channelData"] == {"tenant": {"id": TENANT}}
    cards = teams.wait_for(lambda: teams.connector.cards_to("a:personal-1"), "the private reply")
    assert "Your training" in runs(cards[0])  # Emma reads English
    assert teams.connector.cards_to(body["conversation"]["id"]) == []  # nothing in the channel


# --- authentication ------------------------------------------------------------------


@pytest.fixture
def secured(
    runtime_factory, programme_dir: Path, database_url: str, connector: BotConnector, monkeypatch
) -> Iterator[TeamsWorld]:  # type: ignore[no-untyped-def]
    """Authentication on (the default), with the stand-in's keys as the channel's OpenID keys."""
    from botframework.connector.auth import ChannelValidation

    enable_teams(programme_dir)
    monkeypatch.delenv("RELAIS_TEAMS_INSECURE_LOCAL", raising=False)
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.setenv("MicrosoftAppPassword", "not-a-real-secret")
    monkeypatch.delenv("MicrosoftAppTenantId", raising=False)
    # botbuilder's own hook: where the Bot Connector's signing keys are published.
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", f"{connector.url}/openid")
    runtime = runtime_factory(database_url)
    assert runtime.platforms["teams"].health() == {
        "ok": True,
        "authentication": "on",
        "app_type": "MultiTenant",
    }
    with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
        yield TeamsWorld(connector, server.url, runtime)


def snapshot(world: TeamsWorld) -> tuple[int, int, int, list[Any]]:
    return (
        len(world.rows(SeenEvent)),
        len(world.rows(Delivery)),
        len(world.rows(Address)),
        sorted((a.member_id, a.platform, a.user_id or "") for a in world.rows(Address)),
    )


def test_without_a_valid_token_the_bot_answers_401_and_nothing_happens(
    secured: TeamsWorld, no_internet: list[str]
) -> None:
    before = snapshot(secured)
    body = activity(secured.connector, KARIM, text="lesson")
    unsigned = jwt.encode({"iss": "someone", "aud": APP_ID}, "k" * 32, algorithm="HS256")
    for headers in (
        {},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Basic a2FyaW06c2VjcmV0"},
        {"Authorization": f"Bearer {unsigned}"},
    ):
        assert secured.post(body, headers).status_code == 401, headers
    assert snapshot(secured) == before
    assert secured.connector.calls == [] and secured.connector.accepted == []
    assert no_internet == []  # refusing needed no OpenID metadata from the internet


def test_a_token_signed_by_the_channel_is_accepted(
    secured: TeamsWorld, no_internet: list[str]
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    secured.connector.jwks = {
        "keys": [{**jwk, "kid": "k1", "use": "sig", "endorsements": ["msteams"]}]
    }
    runtime = secured.runtime
    # Karim's Entra id is already known, so the turn needs no call to Teams (no outbound token).
    runtime.relais.remember_address(
        Who("teams", user_id=KARIM["aadObjectId"], email=KARIM["email"])
    )
    body = activity(secured.connector, KARIM, kind="conversationUpdate", membersAdded=[{"id": BOT}])
    now = int(time.time())

    def token(**claims: Any) -> str:
        payload = {
            "iss": "https://api.botframework.com",
            "aud": APP_ID,
            "serviceurl": body["serviceUrl"],
            "nbf": now - 60,
            "exp": now + 600,
            **claims,
        }
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1"})

    wrong_audience = token(aud="11111111-2222-3333-4444-555555555555")
    expired = token(exp=now - 3600, nbf=now - 7200)
    other_service = token(serviceurl="https://attacker.example/")
    for bad in (wrong_audience, expired, other_service):
        assert secured.post(body, {"Authorization": f"Bearer {bad}"}).status_code == 401
    karim = secured.member(KARIM["email"])
    assert not secured.rows(Address, Address.member_id == karim.id, Address.platform == "teams")[
        0
    ].reference

    assert secured.post(body, {"Authorization": f"Bearer {token()}"}).status_code == 201
    address = secured.rows(Address, Address.member_id == karim.id, Address.platform == "teams")[0]
    assert address.reference["conversation"]["id"] == personal(KARIM)
    assert no_internet == []


def test_outbound_calls_carry_the_bots_token(
    secured: TeamsWorld, no_internet: list[str], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from botframework.connector.auth import MicrosoftAppCredentials

    # Entra ID is the one thing not stood in for over HTTP: its token comes from here.
    issued: list[str] = []

    def token(self: MicrosoftAppCredentials, force_refresh: bool = False) -> str:
        issued.append(self.microsoft_app_id)
        return f"token-for-{self.microsoft_app_id}"

    monkeypatch.setattr(MicrosoftAppCredentials, "get_access_token", token)
    runtime = secured.runtime
    runtime.relais.remember_address(
        Who("teams", user_id=KARIM["aadObjectId"], email=KARIM["email"])
    )
    body = activity(secured.connector, KARIM, kind="installationUpdate", action="add")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    secured.connector.jwks = {"keys": [{**jwk, "kid": "k2", "endorsements": ["msteams"]}]}
    now = int(time.time())
    signed = jwt.encode(
        {
            "iss": "https://api.botframework.com",
            "aud": APP_ID,
            "serviceurl": body["serviceUrl"],
            "nbf": now - 60,
            "exp": now + 600,
        },
        key,
        algorithm="RS256",
        headers={"kid": "k2"},
    )
    assert secured.post(body, {"Authorization": f"Bearer {signed}"}).status_code == 201
    karim = secured.member(KARIM["email"])
    from bot.delivery.outbox import Outgoing, enqueue
    from bot.messages import simple

    with Session(runtime.engine) as session:
        enqueue(
            session,
            Outgoing(karim.id, "teams", "hello", "reply", simple("Bonjour"), purpose="operational"),
        )
        session.commit()
    runtime.worker.kick()
    secured.wait_for(lambda: secured.connector.accepted, "the proactive message")
    assert secured.connector.accepted[0]["authorization"] == f"Bearer token-for-{APP_ID}"
    assert set(issued) == {APP_ID} and no_internet == []


def test_teams_refuses_to_start_without_an_app_id(
    runtime_factory, programme_dir: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from bot.runtime import StartupError

    enable_teams(programme_dir)
    monkeypatch.delenv("RELAIS_TEAMS_INSECURE_LOCAL", raising=False)
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    monkeypatch.setenv("MicrosoftAppPassword", "secret")
    with pytest.raises(StartupError, match="MicrosoftAppId") as raised:
        runtime_factory(members=False)
    assert "RELAIS_TEAMS_INSECURE_LOCAL" in str(raised.value)
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.delenv("MicrosoftAppPassword")
    with pytest.raises(StartupError, match="MicrosoftAppPassword"):
        runtime_factory(members=False)


def test_insecure_local_mode_is_loud_and_serves_loopback_only(
    runtime_factory, programme_dir: Path, monkeypatch, caplog
) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    enable_teams(programme_dir)
    monkeypatch.setenv("RELAIS_TEAMS_INSECURE_LOCAL", "1")
    monkeypatch.setenv("MicrosoftAppId", APP_ID)  # ignored: authentication is off
    with caplog.at_level("WARNING", logger="relais.teams"):
        runtime = runtime_factory()
    assert "AUTHENTICATION IS OFF" in caplog.text
    assert runtime.platforms["teams"].health()["authentication"].startswith("OFF")
    with TestClient(create_app(runtime, run_scheduler=False)) as client:  # client: "testclient"
        response = client.post("/api/messages", json={"type": "message", "text": "help"})
        assert response.status_code == 403
        assert (
            client.get("/healthz").json()["platforms"]["teams"]["authentication"].startswith("OFF")
        )


# --- proactive sends without a reference -----------------------------------------


async def test_a_member_without_a_reference_is_reported_not_reachable(
    runtime_factory, programme_dir: Path, database_url: str, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from bot.delivery.outbox import Outgoing, enqueue
    from bot.messages import simple

    enable_teams(programme_dir)
    monkeypatch.setenv("RELAIS_TEAMS_INSECURE_LOCAL", "1")
    runtime = runtime_factory(database_url)
    with Session(runtime.engine) as session:
        emma = session.exec(select(Member).where(Member.email == EMMA["email"])).one()
        enqueue(
            session,
            Outgoing(emma.id, "teams", "hello", "reply", simple("Hello"), purpose="operational"),
        )
        session.commit()
    assert await runtime.worker.drain() == 1
    with Session(runtime.engine) as session:
        row = session.exec(select(Delivery)).one()
    assert row.status == FAILED
    assert row.error == "not reachable in Teams: no conversation reference yet"


# --- hostile input ------------------------------------------------------------------


def test_garbage_and_oversized_bodies_get_4xx_and_nothing_is_stored(
    secured: TeamsWorld, no_internet: list[str]
) -> None:
    before = snapshot(secured)
    url = f"{secured.url}/api/messages"
    json_type = {"Content-Type": "application/json"}
    for body in (b"{not json", b"[1, 2]", b"null", b"42", b'"text"', b"\xff\xfe", b"{}"):
        response = httpx.post(url, content=body, headers=json_type, timeout=30)
        assert response.status_code == 400, body
    declared = httpx.post(url, content=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers=json_type)
    assert declared.status_code == 413

    def chunked() -> Iterator[bytes]:  # no Content-Length: the cap applies while reading
        yield b'{"type": "message", "text": "'
        for _ in range(40):
            yield b"x" * 65536

    streamed = httpx.post(url, content=chunked(), headers=json_type, timeout=30)
    assert streamed.status_code == 413
    assert snapshot(secured) == before and secured.connector.calls == []
    assert no_internet == []


def test_a_token_check_never_freezes_the_server_while_the_keys_hang(
    secured: TeamsWorld, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import adapters.teams.auth as auth

    monkeypatch.setattr(auth, "KEY_FETCH_TIMEOUT", 120.0, raising=False)  # the test ends the hang
    secured.connector.hold = threading.Event()
    body = activity(secured.connector, KARIM, text="lesson")
    claims = {"iss": "https://api.botframework.com", "aud": APP_ID, "exp": int(time.time()) + 600}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "unknown"})
    headers = {"Authorization": f"Bearer {token}"}
    first: list[httpx.Response] = []
    hanging = threading.Thread(target=lambda: first.append(secured.post(body, headers)))
    try:
        hanging.start()
        assert secured.connector.held.wait(30), "the key endpoint was never called"
        # The key fetch hangs; the server still answers, and the request is still waiting.
        health = httpx.get(f"{secured.url}/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["checks"]["database"] is True
        assert first == [] and hanging.is_alive()
        # A request that waits longer than the token check allows gets 503, not a hang.
        secured.runtime.platforms["teams"].auth_timeout = 0.5
        assert secured.post(body, headers).status_code == 503
        assert first == []
    finally:
        secured.connector.hold.set()
        hanging.join(30)
    assert first and first[0].status_code in (401, 503)  # the keys never had this one
    assert secured.connector.accepted == []


def test_an_activity_in_emoji_is_sent_within_the_teams_limit(teams: TeamsWorld) -> None:
    from bot.delivery.outbox import Outgoing, enqueue
    from bot.messages import Message, Section

    installed = activity(
        teams.connector, KARIM, kind="conversationUpdate", membersAdded=[{"id": BOT}]
    )
    assert teams.post(installed).status_code == 201
    karim = teams.member(KARIM["email"])
    report = "\n".join(f"🔥😡📉 réponse nº {n} 😤😤😤😤😤😤" for n in range(600))
    with Session(teams.runtime.engine) as session:
        enqueue(
            session,
            Outgoing(
                karim.id,
                "teams",
                "emoji",
                "reply",
                Message(text=report, blocks=[Section(text=report)]),
                purpose="operational",
            ),
        )
        session.commit()
    teams.runtime.worker.kick()
    delivered = teams.wait_for(
        lambda: teams.rows(Delivery, Delivery.member_id == karim.id, Delivery.status == SENT),
        "the emoji report",
    )
    assert delivered and len(teams.connector.sizes) >= 2  # split: one card could not hold it
    assert max(teams.connector.sizes) < TEAMS_LIMIT
    shown = "".join(
        run["text"]
        for card in teams.connector.cards_to(personal(KARIM))
        for element in card["body"]
        if element["type"] == "RichTextBlock"
        for run in element["inlines"]
    )
    assert shown.count("🔥") == 600  # nothing lost on the way


def test_api_documentation_is_not_public(teams: TeamsWorld) -> None:
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert httpx.get(f"{teams.url}{path}", timeout=10).status_code == 404, path


# --- cases -------------------------------------------------------------------------


def test_a_report_in_teams_reaches_the_relay_as_a_card_they_act_on(
    teams: TeamsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.response.models import Case
    from tests.conftest import pin_triage, run_scheduled

    pin_triage(monkeypatch, "complaint", "critical")  # customer service (Karim), 5 minutes
    hello = activity(teams.connector, KARIM, text="help")
    assert teams.post(hello).status_code == 201  # Karim uses Teams: his cards go there
    report = activity(
        teams.connector, EMMA, text="report https://x.example.com/status/5 our van hit a cyclist"
    )
    assert teams.post(report).status_code == 201
    teams.runtime.worker.kick()

    def case_card() -> list[dict[str, Any]]:
        return [c for c in teams.connector.cards_to(personal(KARIM)) if "case.ack" in card_text(c)]

    card = teams.wait_for(case_card, "the case card")[0]
    assert "Dossier nº 1" in runs(card) and "Emma Wilson" in runs(card)
    actions = {
        a["data"]["relais_action"]: a["data"]
        for e in card["body"]
        if e["type"] == "ActionSet"
        for a in e["actions"]
        if a["type"] == "Action.Submit"
    }
    assert {"case.ack", "case.reassign", "case.resolve", "case.dismiss", "case.correct"} <= set(
        actions
    )
    (case,) = teams.rows(Case)
    assert case.severity == "critical" and case.department == "customer-service"
    # Karim presses Acknowledge on the card: Teams posts the Action.Submit data.
    click = activity(teams.connector, KARIM, value=actions["case.ack"], replyToId="1:1")
    assert teams.post(click).status_code == 201
    assert teams.post(click).status_code == 201  # redelivered: handled once
    (case,) = teams.rows(Case)
    assert case.status == "acknowledged" and case.owner_id == teams.member(KARIM["email"]).id
    teams.wait_for(
        lambda: [c for c in teams.connector.cards_to(personal(EMMA)) if "Karim Benali" in runs(c)],
        "Emma told who owns it",
    )
    # Acknowledged: the deadline no longer fires.
    assert (
        run_scheduled(teams.runtime, "case_escalations", datetime.now(UTC) + timedelta(hours=1))
        == 0
    )
    # Resolve asks for the note in a card; its submission closes the case and tells Emma.
    resolve = activity(teams.connector, KARIM, value=actions["case.resolve"], replyToId="1:1")
    assert teams.post(resolve).status_code == 201
    form = teams.wait_for(
        lambda: [
            c
            for c in teams.connector.cards_to(personal(KARIM))
            if any(e.get("id") == "relais_field_note" for e in c["body"])
        ],
        "the note form",
    )[0]
    assert teams.rows(Case)[0].status == "acknowledged"
    submit = next(
        a
        for e in form["body"]
        if e["type"] == "ActionSet"
        for a in e["actions"]
        if a["type"] == "Action.Submit"
    )
    note = {**submit["data"], "relais_field_note": "We called the cyclist and apologised."}
    assert teams.post(activity(teams.connector, KARIM, value=note)).status_code == 201
    (case,) = teams.rows(Case)
    assert case.status == "resolved" and case.note == "We called the cyclist and apologised."
    teams.wait_for(
        lambda: [
            c
            for c in teams.connector.cards_to(personal(EMMA))
            if "We called the cyclist and apologised." in runs(c)
        ],
        "Emma told how it was resolved",
    )
