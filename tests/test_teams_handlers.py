"""The Teams activity handlers through botbuilder's TestAdapter: activities in, core events out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    Mention,
)
from sqlmodel import Session, select

from adapters.teams.auth import TeamsCredentials
from adapters.teams.platform import NOT_REACHABLE, TeamsPlatform
from bot.delivery.models import Delivery
from bot.delivery.models import HandledEvent as SeenEvent
from bot.events import Who
from bot.members.models import Address, Member
from bot.members.service import recipient
from bot.messages import Message, simple
from bot.platforms import Attempt
from bot.training.models import QuizAnswer

BOT = "28:relais-bot"
TENANT = "72f988bf-0000-4000-8000-00000000beef"
KARIM_AAD = "a1b2c3d4-0000-4000-8000-00000000ka01"
KARIM = "karim.benali@example.com"


class World:
    def __init__(self, runtime: Any, platform: TeamsPlatform, adapter: TestAdapter) -> None:
        self.runtime = runtime
        self.platform = platform
        self.adapter = adapter
        self.woken = 0

    def rows(self, model: Any, *where: Any) -> list[Any]:
        with Session(self.runtime.engine) as session:
            return list(session.exec(select(model).where(*where)).all())

    def karim(self) -> Member:
        return self.rows(Member, Member.email == KARIM)[0]

    def replies(self) -> list[Activity]:
        found = []
        while (activity := self.adapter.get_next_activity()) is not None:
            found.append(activity)
        return found


def template(user_id: str, aad: str | None, conversation_type: str = "personal") -> Activity:
    return Activity(
        channel_id="msteams",
        service_url="https://smba.trafficmanager.net/emea/",
        from_property=ChannelAccount(id=user_id, name="Someone", aad_object_id=aad),
        recipient=ChannelAccount(id=BOT, name="Relais"),
        conversation=ConversationAccount(
            id=f"a:{user_id}-{conversation_type}",
            conversation_type=conversation_type,
            tenant_id=TENANT,
            is_group=conversation_type != "personal",
        ),
    )


def make_world(runtime: Any, activity_template: Activity) -> World:
    adapter = TestAdapter(template_or_conversation=activity_template)
    platform = TeamsPlatform(
        runtime.relais, TeamsCredentials(app_id=None, insecure=True), adapter=adapter
    )
    adapter.logic = platform.handler.on_turn
    world = World(runtime, platform, adapter)

    def wake() -> None:
        world.woken += 1

    platform.bind(wake)
    return world


@pytest.fixture
def world(runtime_factory, programme_dir: Path, database_url: str, monkeypatch) -> Iterator[World]:  # type: ignore[no-untyped-def]
    text = (programme_dir / "app.yaml").read_text(encoding="utf-8")
    (programme_dir / "app.yaml").write_text(
        text.replace("  teams:\n    enabled: false", "  teams:\n    enabled: true")
    )
    monkeypatch.setenv("RELAIS_TEAMS_INSECURE_LOCAL", "1")
    runtime = runtime_factory(database_url)
    # Karim's Entra object id is known (as if from the members CSV): no look-up needed.
    assert runtime.relais.remember_address(Who("teams", user_id=KARIM_AAD, email=KARIM))
    yield make_world(runtime, template("29:1karim", KARIM_AAD))


def cards(activity: Activity) -> list[dict[str, Any]]:
    return [attachment.content for attachment in activity.attachments or []]


def texts(card: dict[str, Any]) -> str:
    return " ".join(
        "".join(run["text"] for run in e["inlines"])
        for e in card["body"]
        if e["type"] == "RichTextBlock"
    )


async def test_a_typed_command_with_the_bot_mention_runs_it(world: World) -> None:
    mention = Mention(
        mentioned=ChannelAccount(id=BOT, name="Relais"), text="<at>Relais</at>", type="mention"
    )
    await world.adapter.send(
        Activity(type="message", text="<at>Relais</at>  lesson ", entities=[mention], id="m1")
    )
    karim = world.karim()
    lesson = world.rows(Delivery, Delivery.member_id == karim.id, Delivery.kind == "lesson")
    assert len(lesson) == 1 and lesson[0].platform == "teams"
    assert world.woken == 1  # the worker was told
    assert world.replies() == []  # members are answered through the outbox, proactively
    (seen,) = world.rows(SeenEvent)
    assert seen.key.startswith("teams:") and seen.key.endswith(":m1") and seen.kind == "message"
    (address,) = world.rows(Address, Address.member_id == karim.id, Address.platform == "teams")
    assert address.channel_id == "a:29:1karim-personal"
    assert address.reference["conversation"]["tenantID"] == TENANT
    assert address.reference["user"]["aadObjectId"] == KARIM_AAD
    assert "activityId" not in address.reference


async def test_a_quiz_answer_from_action_submit_is_stored_once(world: World) -> None:
    await world.adapter.send(Activity(type="message", text="lesson", id="m1"))
    lesson = world.rows(Delivery, Delivery.kind == "lesson")[0]
    quiz = world.runtime.relais.content.lesson(lesson.subject, "fr").quiz
    value = {
        "relais_action": "lesson.answer",
        "relais_form": "choice-3",
        "relais_value_3": f"{lesson.subject}:{quiz.correct_index}",
    }
    for activity_id in ("click-1", "click-1", "click-2"):  # a redelivery, then a second click
        await world.adapter.send(Activity(type="message", value=value, id=activity_id))
    answers = world.rows(QuizAnswer)
    assert len(answers) == 1 and answers[0].correct and answers[0].lesson_id == lesson.subject
    feedback = [d for d in world.rows(Delivery) if d.kind == "reply"]
    assert len(feedback) == 2  # "right!" then "you already answered"


async def test_action_execute_invoke_is_answered_and_handled(world: World) -> None:
    value = {
        "action": {
            "type": "Action.Execute",
            "verb": "relais",
            "data": {"relais_action": "command", "relais_value": "progress"},
        },
        "trigger": "manual",
    }
    await world.adapter.send(
        Activity(type="invoke", name="adaptiveCard/action", value=value, id="i1")
    )
    (response,) = world.replies()
    assert response.type == "invokeResponse" and response.value.status == 200
    assert response.value.body["type"] == "application/vnd.microsoft.activity.message"
    assert [d.kind for d in world.rows(Delivery)] == ["reply"]


async def test_someone_outside_the_programme_gets_an_answer_in_the_turn(
    world: World,
) -> None:
    stranger = make_world(world.runtime, template("29:1nobody", "aad-nobody"))
    # TestAdapter has no Bot Connector: the e-mail look-up fails and is logged, not raised.
    await stranger.adapter.send(Activity(type="message", text="hello", id="s1"))
    (reply,) = stranger.replies()
    assert "pas encore membre" in texts(cards(reply)[0])
    assert stranger.rows(SeenEvent) == [] and stranger.rows(Delivery) == []


async def test_installation_and_channel_updates(world: World) -> None:
    karim = world.karim()
    channel = make_world(world.runtime, template("29:1karim", KARIM_AAD, "channel"))
    await channel.adapter.send(
        Activity(type="conversationUpdate", members_added=[ChannelAccount(id=BOT)], id="c1")
    )
    addresses = world.rows(Address, Address.member_id == karim.id, Address.platform == "teams")
    assert all(address.reference is None for address in addresses)  # a channel is not a DM
    await world.adapter.send(Activity(type="installationUpdate", action="add", id="c2"))
    (address,) = world.rows(Address, Address.member_id == karim.id, Address.platform == "teams")
    assert address.reference["conversation"]["id"] == "a:29:1karim-personal"


async def test_proactive_send_uses_the_stored_reference(world: World) -> None:
    await world.adapter.send(Activity(type="installationUpdate", action="add", id="c1"))
    karim = world.karim()
    with Session(world.runtime.engine) as session:
        target = recipient(session, session.get(Member, karim.id), "teams")
    message = Message.model_validate(
        {
            "text": "Bonjour",
            "blocks": [
                {"type": "section", "title": "Bonjour <at>Karim</at>", "text": "**Salut** _toi_"}
            ],
        }
    )
    result = await world.platform.send(target, message, Attempt(7))
    assert result.status == "sent" and result.channel_id == "a:29:1karim-personal"
    (sent,) = world.replies()
    assert sent.recipient.id == "29:1karim" and sent.conversation.id == "a:29:1karim-personal"
    card = cards(sent)[0]
    assert texts(card) == "Bonjour <at>Karim</at> Salut toi"
    assert not sent.entities  # no mention can come from content


async def test_no_reference_means_not_reachable(world: World) -> None:
    karim = world.karim()
    with Session(world.runtime.engine) as session:
        target = recipient(session, session.get(Member, karim.id), "teams")
    assert target.reference is None
    result = await world.platform.send(target, simple("Hello"), Attempt(1))
    assert (result.status, result.error) == ("failed", NOT_REACHABLE)
    assert world.replies() == []


async def test_a_message_too_large_for_one_card_is_sent_in_parts(world: World) -> None:
    await world.adapter.send(Activity(type="installationUpdate", action="add", id="c1"))
    karim = world.karim()
    with Session(world.runtime.engine) as session:
        target = recipient(session, session.get(Member, karim.id), "teams")
    blocks = [{"type": "section", "text": f"{index} " + "x" * 500} for index in range(120)]
    message = Message.model_validate({"text": "Long", "blocks": blocks})
    result = await world.platform.send(target, message, Attempt(8))
    parts = world.replies()
    assert result.status == "sent" and len(parts) > 1
    assert len(result.parts) == len(parts)  # every part, for retraction
    assert texts(cards(parts[0])[0]).startswith("0 xxx")
    assert texts(cards(parts[-1])[0]).endswith("x")
