"""Crisis drills through the signed Slack endpoint (real slack_sdk, stand-in Slack) and the Teams
endpoint (botbuilder, stand-in Bot Connector): every message marked EXERCISE, "I have read it"
counted, a campaign running at the same time keeps sending, no real crisis or case changes."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.campaigns import service as campaigns
from bot.clock import utcnow
from bot.crisis.models import DRILLING, ENDED, Crisis, CrisisAlert
from bot.db import session_scope
from bot.delivery.models import PENDING, SENDING, SENT, Delivery, DeliveryPause
from bot.i18n import Tr
from bot.participation.models import ParticipationEvent
from bot.permissions import Actor
from bot.response.models import Case
from tests.test_campaigns_slack import HUGO as HUGO_SLACK
from tests.test_campaigns_slack import USERS, any_time, world
from tests.test_campaigns_slack import slack_env as slack_env
from tests.test_crisis_platforms import HUGO
from tests.test_slack import all_text, buttons
from tests.test_teams import (  # noqa: F401
    KARIM,
    TeamsWorld,
    activity,
    card_text,
    connector,
    no_internet,
    personal,
    teams,
)

POST = "winter-energy-guide"


def start_campaign(runtime, department: str) -> int:  # type: ignore[no-untyped-def]
    """A promotional campaign to one department, queued as the campaigns job would."""
    with session_scope(runtime.engine) as session:
        campaign = service_create(runtime, session, department)
        campaign_id = campaign.id or 0
    campaigns.queue(runtime.engine, runtime.config, runtime.relais.content, campaign_id)
    return campaign_id


def service_create(runtime, session, department: str):  # type: ignore[no-untyped-def]
    return campaigns.create(
        session,
        runtime.config,
        runtime.relais.content,
        runtime.relais.permissions,
        Actor.operator(),
        POST,
        [f"department:{department}"],
        Tr("en"),
        now=utcnow(),
    )


def campaign_rows(runtime, campaign_id: int) -> list[Delivery]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return list(
            session.exec(select(Delivery).where(Delivery.campaign == str(campaign_id))).all()
        )


def nothing_real(runtime) -> None:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        assert session.get(DeliveryPause, "promotional") is None
        assert all(c.drill for c in session.exec(select(Crisis)).all())
        assert session.exec(select(Case)).all() == []
        kinds = {e.kind for e in session.exec(select(ParticipationEvent)).all()}
    assert not kinds & {"crisis_declared", "crisis_alert_acknowledged", "crisis_ended"}


EMMA_SLACK = next(uid for uid, email in USERS.items() if email == "emma.wilson@example.com")
KARIM_SLACK = next(uid for uid, email in USERS.items() if email == "karim.benali@example.com")


@pytest.fixture
def anytime(programme_dir) -> None:  # type: ignore[no-untyped-def]
    """No quiet hours, every day a working day: the campaign sends whatever the time of day."""
    any_time(programme_dir, slack=False)


def test_a_drill_in_slack_while_a_campaign_sends(  # type: ignore[no-untyped-def]
    runtime_factory, programme_dir, database_url, slack_env
) -> None:
    any_time(programme_dir)
    standin, _ = slack_env
    with world(runtime_factory, database_url, standin) as slack:
        drill_in_slack(slack)


def drill_in_slack(slack) -> None:  # type: ignore[no-untyped-def]
    slack.command(HUGO_SLACK, "crisis drill storm-power-outage --audience department:sales")
    started = slack.wait_for(
        lambda: [m for m in slack.dms(HUGO_SLACK) if "Exercise 1 started" in all_text(m)],
        "the drill started",
    )[0]
    assert "EXERCISE" in all_text(started)
    campaign_id = start_campaign(slack.runtime, "sales")
    slack.runtime.worker.kick()
    alert = slack.wait_for(
        lambda: [m for m in slack.dms(EMMA_SLACK) if "Crisis exercise" in all_text(m)],
        "Emma's exercise alert",
    )[0]
    assert all_text(alert).count("EXERCISE") >= 2 and "not a real crisis" in all_text(alert)
    assert "EXERCISE" in alert["text"]  # the notification itself says so
    read = next(b for b in buttons(alert) if b["action_id"].startswith("crisis.ack"))
    slack.click(EMMA_SLACK, read, alert["ts"], "1700000700.000001")
    slack.wait_for(
        lambda: any(
            "Thank you, noted" in all_text(m) and "EXERCISE" in all_text(m)
            for m in slack.dms(EMMA_SLACK)
        ),
        "thanks",
    )
    # Karim (a relay, the cell's French speaker here) reads his alert in French.
    karim = slack.wait_for(
        lambda: [m for m in slack.dms(KARIM_SLACK) if "EXERCICE" in all_text(m)], "Karim's alert"
    )[0]
    assert "Exercice de crise" in all_text(karim)
    # The campaign keeps going: every message of it is sent, none waits for the drill.
    slack.settled()
    rows = campaign_rows(slack.runtime, campaign_id)
    assert rows and all(row.status == SENT for row in rows)
    assert any("metadata" in m and "Crisis" not in all_text(m) for m in slack.dms(EMMA_SLACK))
    slack.command(HUGO_SLACK, "crisis drill end")
    report = slack.wait_for(
        lambda: [m for m in slack.dms(HUGO_SLACK) if "Exercise report" in all_text(m)],
        "the report",
    )[0]
    assert "By department" in all_text(report) and "Sales: 1/" in all_text(report)
    slack.settled()
    with Session(slack.runtime.engine) as session:
        drill = session.exec(select(Crisis)).one()
        assert (drill.status, drill.drill, drill.declared_via) == (ENDED, True, "slack")
        read_by = session.exec(
            select(ParticipationEvent).where(ParticipationEvent.kind == "drill_alert_acknowledged")
        ).one()
        assert read_by.platform == "slack"
    nothing_real(slack.runtime)


def test_a_drill_in_teams_while_a_campaign_sends(anytime, teams: TeamsWorld) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    teams.connector.members[HUGO["id"]] = HUGO
    for user in (KARIM, HUGO):
        installed = activity(teams.connector, user, kind="installationUpdate", action="add")
        assert teams.post(installed).status_code == 201
    campaign_id = start_campaign(teams.runtime, "customer-service")
    said = activity(
        teams.connector,
        HUGO,
        text="crisis drill phishing-campaign --audience department:customer-service",
    )
    assert teams.post(said).status_code == 201
    teams.runtime.worker.kick()
    card = teams.wait_for(
        lambda: [
            c for c in teams.connector.cards_to(personal(KARIM)) if "EXERCICE" in card_text(c)
        ],
        "Karim's exercise card",
    )[0]
    assert "Exercice de crise" in card_text(card)
    with Session(teams.runtime.engine) as session:
        drill = session.exec(select(Crisis)).one()
        assert drill.status == DRILLING
    submit = next(
        action
        for element in card["body"]
        if element["type"] == "ActionSet"
        for action in element["actions"]
        if action.get("data", {}).get("relais_action") == "crisis.ack"
    )
    assert teams.post(activity(teams.connector, KARIM, value=submit["data"])).status_code == 201
    teams.wait_for(
        lambda: any(
            "EXERCICE" in card_text(c) and "noté" in card_text(c)
            for c in teams.connector.cards_to(personal(KARIM))
        ),
        "thanks",
    )
    board = activity(teams.connector, HUGO, text="crisis drill status")
    assert teams.post(board).status_code == 201
    teams.wait_for(
        lambda: any(
            "Who has read the crisis alert" in card_text(c) and "EXERCISE" in card_text(c)
            for c in teams.connector.cards_to(personal(HUGO))
        ),
        "the board",
    )
    assert teams.post(activity(teams.connector, HUGO, text="crisis drill end")).status_code == 201
    teams.wait_for(
        lambda: any(
            "Exercise report" in card_text(c) for c in teams.connector.cards_to(personal(HUGO))
        ),
        "the report",
    )
    teams.wait_for(
        lambda: (
            not teams.rows(
                Delivery,
                Delivery.campaign == str(campaign_id),
                Delivery.status.in_((PENDING, SENDING)),  # type: ignore[attr-defined]
            )
        ),
        "the campaign sent",
    )
    rows = campaign_rows(teams.runtime, campaign_id)
    assert rows and all(row.status == SENT for row in rows)
    with Session(teams.runtime.engine) as session:
        karim_read = session.exec(
            select(CrisisAlert).where(CrisisAlert.acknowledged_at.is_not(None))  # type: ignore[union-attr]
        ).one()
        assert karim_read.role == "relay"
        assert session.exec(select(Crisis)).one().status == ENDED
    nothing_real(teams.runtime)
