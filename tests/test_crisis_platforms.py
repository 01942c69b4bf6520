"""Crisis mode through the signed Slack endpoint (real slack_sdk, stand-in Slack) and the
Teams endpoint (botbuilder against a stand-in Bot Connector)."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.crisis.models import ACTIVE, ENDED, Crisis
from bot.delivery.models import DeliveryPause
from bot.participation.models import ParticipationEvent
from tests.test_slack import SlackWorld, all_text, buttons, slack  # noqa: F401
from tests.test_teams import (  # noqa: F401
    BOT,
    EMMA,
    TeamsWorld,
    activity,
    card_text,
    connector,
    no_internet,
    personal,
    teams,
)

HUGO_SLACK = "U0HUGO001"
HUGO = {
    "id": "29:1hugo",
    "name": "Hugo Lambert",
    "aadObjectId": "a1b2c3d4-0000-4000-8000-00000000hu01",
    "email": "hugo.lambert@example.com",
}


def _crisis(runtime) -> Crisis | None:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        return session.exec(select(Crisis)).first()


def test_crisis_through_slack_declared_by_button_read_ended(slack: SlackWorld) -> None:  # noqa: F811
    slack.standin.users[HUGO_SLACK] = HUGO["email"]  # the coordinator, in Slack too
    # An ambassador may not declare.
    slack.command("U0EMMA001", "crisis declare phishing-campaign")
    refused = slack.wait_for(lambda: slack.dms("U0EMMA001"), "Emma's refusal")[0]
    assert "you may not declare or end a crisis" in all_text(refused)
    # The coordinator asks: no crisis, the playbooks, each with its declare button.
    slack.command(HUGO_SLACK, "crisis")
    shown = slack.wait_for(
        lambda: len(slack.dms(HUGO_SLACK)) >= 2 and slack.dms(HUGO_SLACK), "list"
    )
    assert "No crisis is in progress." in all_text(shown[0])
    declare = next(
        b for b in buttons(shown[1]) if b["value"] == "phishing-campaign"
    )  # the action the cases capability proposes too
    assert declare["action_id"].startswith("crisis.declare")
    assert slack.click(HUGO_SLACK, declare, shown[1]["ts"], "1700000500.000001").status_code == 200
    crisis = slack.wait_for(lambda: _crisis(slack.runtime), "the crisis")
    assert crisis.status == ACTIVE and crisis.declared_via == "slack"

    # Emma gets the warning on Slack, with "I have read it"; she clicks it.
    def alert() -> dict | None:  # type: ignore[type-arg]
        found = [m for m in slack.dms("U0EMMA001") if "Crisis declared" in all_text(m)]
        return found[0] if found else None

    message = slack.wait_for(alert, "Emma's alert")
    assert "Norvel will never ask for your bank details by text message" in all_text(message)
    read = next(b for b in buttons(message) if b["action_id"].startswith("crisis.ack"))
    slack.click("U0EMMA001", read, message["ts"], "1700000600.000001")
    slack.wait_for(
        lambda: any("Thank you, noted" in all_text(m) for m in slack.dms("U0EMMA001")), "thanks"
    )
    with Session(slack.runtime.engine) as session:
        event = session.exec(
            select(ParticipationEvent).where(ParticipationEvent.kind == "crisis_alert_acknowledged")
        ).one()
        assert event.platform == "slack" and event.data["department"] == "sales"

    # Her App Home shows the crisis banner, above everything else.
    slack.event(
        {"type": "app_home_opened", "user": "U0EMMA001", "tab": "home", "channel": "D0EMMA001"},
        "Ev-crisis-home",
    )
    view = slack.wait_for(lambda: slack.standin.called("views.publish"), "views.publish")[0]
    first = view["view"]["blocks"][0]
    assert "Crisis in progress: Phishing campaign using Norvel's name" in all_text(first)

    # The relay's board: their own department only, in their language.
    slack.command("U0KARIM01", "crisis status")
    board = slack.wait_for(
        lambda: [m for m in slack.dms("U0KARIM01") if "Qui a lu" in all_text(m)], "the board"
    )[0]
    assert "Service client" in all_text(board) and "Ventes" not in all_text(board)

    slack.command(HUGO_SLACK, "crisis end The fake site is down.")
    slack.wait_for(
        lambda: any("The crisis is over" in all_text(m) for m in slack.dms("U0EMMA001")),
        "Emma told it is over",
    )
    slack.settled()
    assert _crisis(slack.runtime).status == ENDED  # type: ignore[union-attr]
    with Session(slack.runtime.engine) as session:
        assert session.get(DeliveryPause, "promotional") is None


def test_crisis_through_teams_with_the_welcome_card_banner(teams: TeamsWorld) -> None:  # noqa: F811
    teams.connector.members[HUGO["id"]] = HUGO
    for user in (EMMA, HUGO):
        installed = activity(teams.connector, user, kind="installationUpdate", action="add")
        assert teams.post(installed).status_code == 201
    welcome = teams.wait_for(lambda: teams.connector.cards_to(personal(EMMA)), "welcome card")
    assert "Hello Emma!" in card_text(welcome[0]) and "Crisis" not in card_text(welcome[0])

    said = activity(teams.connector, HUGO, text="crisis declare storm-power-outage Ciarán")
    assert teams.post(said).status_code == 201
    teams.runtime.worker.kick()
    card = teams.wait_for(
        lambda: [c for c in teams.connector.cards_to(personal(EMMA)) if "Crisis" in card_text(c)],
        "Emma's alert card",
    )[0]
    assert "We know that many customers are currently without electricity" in card_text(card)
    submit = next(
        action
        for element in card["body"]
        if element["type"] == "ActionSet"
        for action in element["actions"]
        if action.get("data", {}).get("relais_action") == "crisis.ack"
    )
    clicked = activity(teams.connector, EMMA, value=submit["data"])
    assert teams.post(clicked).status_code == 201
    teams.wait_for(
        lambda: any(
            "Thank you, noted" in card_text(c) for c in teams.connector.cards_to(personal(EMMA))
        ),
        "thanks",
    )
    # Installed again during the crisis: the welcome card opens with the banner.
    again = activity(teams.connector, EMMA, kind="installationUpdate", action="add")
    assert teams.post(again).status_code == 201
    banner = teams.wait_for(
        lambda: [
            c
            for c in teams.connector.cards_to(personal(EMMA))
            if "Hello Emma!" in card_text(c) and "Crisis in progress" in card_text(c)
        ],
        "the welcome card with the banner",
    )[0]
    assert card_text(banner).index("Crisis in progress") < card_text(banner).index("Hello Emma!")
    assert (
        teams.post(activity(teams.connector, HUGO, text="crisis end Power is back")).status_code
        == 201
    )
    teams.runtime.worker.kick()
    teams.wait_for(
        lambda: any(
            "The crisis is over" in card_text(c) for c in teams.connector.cards_to(personal(EMMA))
        ),
        "Emma told",
    )
    assert _crisis(teams.runtime).status == ENDED  # type: ignore[union-attr]


def test_the_holding_statement_overtakes_a_running_campaign_then_it_resumes(
    slack: SlackWorld,  # noqa: F811
) -> None:
    """Against a rate-limited Slack: order by counts, never by time."""
    from bot.db import session_scope
    from bot.delivery.models import PENDING, SENDING, SENT, Delivery
    from bot.delivery.outbox import Outgoing, enqueue_many
    from bot.members.models import Address, Member
    from bot.messages import simple

    runtime = slack.runtime
    slack.standin.users[HUGO_SLACK] = HUGO["email"]
    slack.standin.post_rate = 40.0  # posts per second, 429 with Retry-After past it
    count = 200
    with session_scope(runtime.engine) as session:
        session.add_all(
            Member(
                email=f"a{n}@crowd.example.com",
                name=f"A {n}",
                department="sales",
                language="en",
                time_zone="Europe/London",
                preferred_platform="slack",
            )
            for n in range(count)
        )
        session.flush()
        crowd = session.exec(select(Member).where(Member.email.like("a%@crowd.example.com"))).all()  # type: ignore[attr-defined]
        session.add_all(
            Address(member_id=m.id or 0, platform="slack", user_id=f"UCROWD{m.id:05d}")
            for m in crowd
        )
        enqueue_many(
            session,
            [
                Outgoing(
                    member_id=m.id or 0,
                    platform="slack",
                    dedupe_key="campaign-winter",
                    kind="post",
                    message=simple("CAMPAIGN winter offer"),
                    campaign="winter",
                    purpose="promotional",
                )
                for m in crowd
            ],
        )
    runtime.worker.kick()

    def campaign_posts() -> list[int]:
        return [
            i
            for i, p in enumerate(slack.standin.posted)
            if p.get("text") == "CAMPAIGN winter offer"
        ]

    slack.wait_for(lambda: len(campaign_posts()) >= 20, "the campaign under way")
    slack.command(HUGO_SLACK, "crisis declare storm-power-outage")

    def alerts_done() -> bool:
        with Session(runtime.engine) as session:
            rows = session.exec(
                select(Delivery.status).where(Delivery.kind == "crisis_alert")
            ).all()
        return bool(rows) and all(status not in (PENDING, SENDING) for status in rows)

    slack.wait_for(alerts_done, "every alert handled")
    alerts = [
        i for i, p in enumerate(slack.standin.posted) if "Storm and widespread power cut" in str(p)
    ]
    assert len(alerts) >= count  # the crowd's alerts, plus the demo members Slack knows
    during = len(campaign_posts())
    assert during < count  # the statement went out to everyone while the campaign waited
    # A reply goes through after the alerts: the worker kept working, the campaign did not.
    slack.command("U0EMMA001", "help")
    slack.wait_for(
        lambda: any("What I can do" in all_text(m) for m in slack.dms("U0EMMA001")), "help"
    )
    assert len(campaign_posts()) == during
    with Session(runtime.engine) as session:
        waiting = session.exec(
            select(Delivery).where(
                Delivery.campaign == "winter",
                Delivery.status.in_((PENDING, SENDING)),  # type: ignore[attr-defined]
            )
        ).all()
        assert len(waiting) == count - during  # nothing lost, nothing failed: it waits
    slack.command(HUGO_SLACK, "crisis end Power is back")
    slack.wait_for(lambda: len(campaign_posts()) == count, "the campaign resumed and finished")
    slack.settled()
    channels = [slack.standin.posted[i]["channel"] for i in campaign_posts()]
    assert len(set(channels)) == count  # each member once: nothing lost, nothing doubled
    assert max(alerts) < max(campaign_posts())
    with Session(runtime.engine) as session:
        assert (
            len(
                session.exec(
                    select(Delivery).where(Delivery.campaign == "winter", Delivery.status == SENT)
                ).all()
            )
            == count
        )
