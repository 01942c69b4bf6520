"""Campaigns through Teams, for real: members install the bot (`POST /api/messages`), the
post reaches them as Adaptive Cards through botbuilder and the stand-in Bot Connector, split
into several cards when it is large; a withdrawal updates or deletes every card of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.campaigns import service
from bot.clock import utcnow
from bot.db import session_scope
from bot.delivery.models import SENT, Delivery, DeliveryPart
from bot.i18n import Tr
from bot.permissions import Actor
from tests.test_campaigns_slack import any_time
from tests.test_delivery_operations import install
from tests.test_teams import (
    EMMA,
    KARIM,
    BotConnector,  # noqa: F401
    TeamsWorld,
    connector,  # noqa: F401  (the stand-in Bot Connector fixture)
    no_internet,  # noqa: F401  (nothing leaves the machine)
    personal,
    teams,  # noqa: F401  (Relais with Teams on, served on 127.0.0.1)
)

POST = "long-read"
EARTH = "🌍"  # 12 bytes once botbuilder has escaped it: a few thousand fill a card


def front_matter(lang: str) -> str:
    disclose = "(I work at Norvel)" if lang == "en" else "(je travaille chez Norvel)"
    long_text = f"{EARTH} " * 700
    return (
        "---\n"
        f'title: "Long read {lang}"\n'
        "link: https://norvel.example/long-read\n"
        "networks:\n"
        "  linkedin:\n"
        f'    - "{long_text} {disclose}"\n'
        "  x:\n"
        f'    - "Short one {disclose} #Norvel"\n'
        "  facebook:\n"
        f'    - "A read for the weekend {disclose}"\n'
        "approved_by: hugo.lambert@example.com\n"
        "approved_at: 2026-11-03T16:45:00+01:00\n"
        "---\n" + "\n\n".join(f"{EARTH * 40} paragraph {n}" for n in range(40)) + "\n"
    )


@pytest.fixture
def long_post(programme_dir: Path) -> None:
    """A post large enough for Teams to carry it in more than one card; no quiet hours."""
    for lang in ("en", "fr"):
        (programme_dir / "content" / "posts" / f"{POST}.{lang}.md").write_text(
            front_matter(lang), encoding="utf-8"
        )
    any_time(programme_dir, slack=False)


def cards_of(world: TeamsWorld, user: dict[str, Any]) -> list[dict[str, Any]]:
    return world.connector.cards_to(personal(user))


def card_text(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def parts_of(world: TeamsWorld, delivery_id: int) -> list[str]:
    with Session(world.runtime.engine) as session:
        return list(
            session.exec(
                select(DeliveryPart.message_id).where(DeliveryPart.delivery_id == delivery_id)
            ).all()
        )


@pytest.fixture(params=["update", "delete"])
def on_withdraw(request, long_post, programme_dir: Path) -> str:  # type: ignore[no-untyped-def]
    """``sharing.on_withdraw`` of this run, written before Relais starts."""
    config = programme_dir / "app.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("on_withdraw: update", f"on_withdraw: {request.param}"), "utf-8")
    return str(request.param)


def test_withdrawal_reaches_every_card_of_every_message_in_teams(  # type: ignore[no-untyped-def]
    on_withdraw,
    teams,  # noqa: F811
) -> None:
    world: TeamsWorld = teams
    for user in (KARIM, EMMA):
        install(world, user)
    with session_scope(world.runtime.engine) as session:
        campaign = service.create(
            session,
            world.runtime.config,
            world.runtime.relais.content,
            world.runtime.relais.permissions,
            Actor.operator(),
            POST,
            ["department:customer-service", "department:sales"],
            Tr("en"),
            now=utcnow(),
        )
        campaign_id = campaign.id or 0
    service.queue(
        world.runtime.engine, world.runtime.config, world.runtime.relais.content, campaign_id
    )
    world.runtime.worker.kick()
    world.settled()
    sent: dict[str, int] = {}
    with Session(world.runtime.engine) as session:
        for user in (KARIM, EMMA):
            member = world.member(user["email"])
            row = session.exec(
                select(Delivery).where(
                    Delivery.member_id == member.id, Delivery.campaign == str(campaign_id)
                )
            ).one()
            assert row.status == SENT and row.platform == "teams"
            sent[user["email"]] = row.id or 0
    for user in (KARIM, EMMA):
        cards = cards_of(world, user)
        assert len(cards) >= 2  # one post, several cards
        assert len(parts_of(world, sent[user["email"]])) == len(cards)
    with session_scope(world.runtime.engine) as session:
        found = service.withdraw(
            session, world.runtime.config, world.runtime.relais.content, POST, Tr("en")
        )
    assert found.retracting == 7  # Karim and Emma in Teams, their colleagues on the console
    world.runtime.worker.kick()
    world.settled()
    for user in (KARIM, EMMA):
        cards = cards_of(world, user)
        if on_withdraw == "delete":
            assert cards == []
        else:
            (notice,) = cards  # the first card now says so, the others are gone
            assert "withdr" in card_text(notice) or "retiré" in card_text(notice)
            assert EARTH not in card_text(notice)
        stored = parts_of(world, sent[user["email"]])
        assert len(stored) == (0 if on_withdraw == "delete" else 1)
    if on_withdraw == "delete":
        assert len(world.connector.deleted) >= 4
    else:
        assert len(world.connector.updated) == 2 and len(world.connector.deleted) >= 2
