"""Campaigns end to end: audiences, local time, variants, share links over HTTP, the console and
the CLI, pause/resume/cancel, withdrawal, results."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest
import time_machine
from sqlmodel import Session, select
from typer.testing import CliRunner

from adapters.console.chat import ConsoleChat
from bot.campaigns import service
from bot.campaigns.models import Campaign, ShareLink
from bot.delivery.models import CANCELLED, PENDING, SENT, Delivery
from bot.i18n import Tr
from bot.members.models import Member
from bot.participation.models import ParticipationEvent
from bot.permissions import Actor
from bot.slots import next_sendable
from bot.web import create_app
from tests.conftest import LoopbackServer, run_scheduled

HUGO = "hugo.lambert@example.com"  # coordinator, English
KARIM = "karim.benali@example.com"  # relay of customer service, French
LEA = "lea.petit@example.com"  # relay of customer service, Montréal
LIAM = "liam.tremblay@example.com"  # ambassador, customer service, Montréal, English
MARC = "marc.fontaine@example.com"  # customer service, Lyon
EMMA = "emma.wilson@example.com"  # ambassador, sales, London
POST = "winter-energy-guide"
TUESDAY_10_PARIS = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 09:00 London, 04:00 Montréal
EN = Tr("en")


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def accept_charter(person: ConsoleChat) -> None:
    person.type("charter")
    person.press(person.number_of("charter.accept"))


def ids_of(runtime, rows) -> set[str]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        emails = dict(session.exec(select(Member.id, Member.email)).all())
    return {emails[row.id] for row in rows}


def resolve(runtime, *targets: str) -> set[str]:  # type: ignore[no-untyped-def]
    config = runtime.config
    with Session(runtime.engine) as session:
        rows = service.resolve(session, service.parse_targets(targets, config, EN), config)
    return ids_of(runtime, rows)


def send(runtime, actor: Actor, *targets: str, now: datetime = TUESDAY_10_PARIS, **when) -> int:  # type: ignore[no-untyped-def]
    from bot.db import session_scope

    with session_scope(runtime.engine) as session:
        campaign = service.create(
            session,
            runtime.config,
            runtime.relais.content,
            runtime.relais.permissions,
            actor,
            POST,
            targets,
            EN,
            now=now,
            **when,
        )
        campaign_id = campaign.id or 0
    service.queue(runtime.engine, runtime.config, runtime.relais.content, campaign_id, now)
    return campaign_id


def deliveries(runtime, campaign_id: int) -> dict[str, Delivery]:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        rows = session.exec(
            select(Delivery, Member.email)
            .join(Member, Member.id == Delivery.member_id)
            .where(Delivery.campaign == str(campaign_id))
        ).all()
    return {email: row for row, email in rows}


def sent(runtime, row: Delivery) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """What the member was sent (the delivery's stored message body), as a payload."""
    from bot.delivery.outbox import message_of

    return message_of(row, runtime.engine).to_payload()


def drain(runtime) -> int:  # type: ignore[no-untyped-def]
    return asyncio.run(runtime.worker.drain())


# --- audiences -----------------------------------------------------------------------------


def test_targets_are_read_or_refused_with_what_is_wrong(runtime) -> None:  # type: ignore[no-untyped-def]
    config = runtime.config
    audience = service.parse_targets(
        ["department:sales", "department:hr", "language:fr", "all"], config, EN
    )
    assert audience.departments == ["sales", "hr"] and audience.languages == ["fr"]
    for bad, words in (
        ("department:nope", ["nope", "customer-service"]),
        ("planet:mars", ["planet:mars", "department:ID"]),
        ("language:de", ["de", "fr"]),
        ("role:king", ["king", "relay"]),
        ("department:", ["department:"]),
    ):
        with pytest.raises(service.CampaignError) as refused:
            service.parse_targets([bad], config, EN)
        assert all(word in str(refused.value) for word in words), str(refused.value)
    with pytest.raises(service.CampaignError, match="--to all"):
        service.parse_targets([" "], config, EN)


def test_audiences_combine_and_leave_out_opted_out_members_and_leavers(runtime) -> None:  # type: ignore[no-untyped-def]
    assert len(resolve(runtime, "all")) == 15
    assert resolve(runtime, "department:sales") == {
        "thomas.girard@example.com",
        "julien.roux@example.com",
        EMMA,
    }
    assert len(resolve(runtime, "business_unit:business")) == 6  # sales, hr, legal
    assert resolve(runtime, "location:Lyon") == {KARIM, MARC, "noah.bernard@example.com"}
    assert resolve(runtime, "language:en") == {HUGO, EMMA, LIAM}
    # Different kinds narrow, the same kind widens.
    assert resolve(runtime, "department:customer-service", "language:en") == {LIAM}
    assert resolve(runtime, "department:sales", "department:hr", "language:en") == {EMMA}
    assert resolve(runtime, "business_unit:business", "department:sales") == resolve(
        runtime, "department:sales"
    )
    relays = resolve(runtime, "role:relay")
    assert KARIM in relays and LEA in relays and EMMA not in relays and len(relays) == 7
    with Session(runtime.engine) as session:
        for email, field in ((MARC, "opted_in"), (KARIM, "left_at")):
            member = session.exec(select(Member).where(Member.email == email)).one()
            setattr(member, field, False if field == "opted_in" else TUESDAY_10_PARIS)
            session.add(member)
        session.commit()
    assert resolve(runtime, "department:customer-service") == {LEA, LIAM}


def test_only_broadcasters_and_only_within_their_scope(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    rules = runtime.relais.permissions
    with Session(runtime.engine) as session:
        karim = session.exec(select(Member).where(Member.email == KARIM)).one()
        relay = rules.actor(karim.id, karim.email, karim.department, karim.roles, True)
    # hub_and_spoke: a relay broadcasts inside their department only.
    assert send(runtime, relay, "department:customer-service", "language:fr")
    for audience in (["all"], ["department:sales"], ["language:fr"]):
        with pytest.raises(service.CampaignError, match="your own scope only"):
            send(runtime, relay, *audience)
    with time_machine.travel(TUESDAY_10_PARIS, tick=False):
        emma: ConsoleChat = chat(EMMA)  # an ambassador: never
        assert "you may not broadcast posts" in texts(emma.type(f"broadcast {POST} all"))
        assert "broadcast" not in texts(emma.type("help"))
        karim_chat: ConsoleChat = chat(KARIM)
        refused = texts(karim_chat.type(f"broadcast {POST} all"))
        assert "que dans votre périmètre" in refused and "customer-service" in refused
    with Session(runtime.engine) as session:
        assert len(session.exec(select(Campaign)).all()) == 1


# --- when ------------------------------------------------------------------------------------


def test_next_sendable_moment_in_each_zone(runtime) -> None:  # type: ignore[no-untyped-def]
    config = runtime.config  # quiet 19:00–08:30, Monday to Friday
    early = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # Tuesday
    assert next_sendable(early, "Europe/Paris", config) == datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    assert next_sendable(early, "Europe/London", config) == datetime(
        2026, 11, 24, 8, 30, tzinfo=UTC
    )
    assert next_sendable(early, "America/Montreal", config) == datetime(
        2026, 11, 24, 13, 30, tzinfo=UTC
    )
    assert next_sendable(TUESDAY_10_PARIS, "Europe/Paris", config) == TUESDAY_10_PARIS
    friday_evening = datetime(2026, 11, 27, 18, 30, tzinfo=UTC)  # 19:30 in Paris
    assert next_sendable(friday_evening, "Europe/Paris", config) == datetime(
        2026, 11, 30, 7, 30, tzinfo=UTC
    )
    ten = time(10, 0)
    assert next_sendable(TUESDAY_10_PARIS, "Europe/Paris", config, ten) == TUESDAY_10_PARIS
    after = TUESDAY_10_PARIS + timedelta(minutes=1)
    assert next_sendable(after, "Europe/Paris", config, ten) == datetime(
        2026, 11, 25, 9, 0, tzinfo=UTC
    )
    assert next_sendable(friday_evening, "Europe/Paris", config, ten) == datetime(
        2026, 11, 30, 9, 0, tzinfo=UTC
    )
    assert next_sendable(after, "Europe/Paris", config, time(20, 0)) is None  # always quiet


def test_a_local_time_campaign_reaches_each_member_at_ten_where_they_are(runtime) -> None:  # type: ignore[no-untyped-def]
    created = TUESDAY_10_PARIS + timedelta(minutes=30)  # 10:30 in Paris: today's 10:00 is gone
    campaign = send(
        runtime,
        Actor.operator(),
        "department:customer-service",
        "department:sales",
        now=created,
        local_hhmm="10:00",
    )
    rows = deliveries(runtime, campaign)
    assert rows[KARIM].not_before == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wed, Paris
    assert rows[EMMA].not_before == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tue, London
    assert rows[LIAM].not_before == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tue, Montréal
    # Sent when due, never before, never in quiet hours: at 10:00 in London only Emma gets it.
    with time_machine.travel(datetime(2026, 11, 24, 10, 0, 5, tzinfo=UTC), tick=False):
        assert drain(runtime) == 1
    assert deliveries(runtime, campaign)[EMMA].status == SENT
    assert deliveries(runtime, campaign)[LIAM].status == PENDING
    with Session(runtime.engine) as session:
        found = service.progress(session, session.get(Campaign, campaign))
    assert (found.delivered, found.scheduled) == (1, 6)
    for bad, words in (
        ({"local_hhmm": "20:00"}, "quiet hours (19:00–08:30)"),
        ({"local_hhmm": "25:00"}, "not a time of day"),
        ({"at": "yesterday"}, "not a date and time"),
        ({"at": "2026-11-01T10:00+01:00"}, "in the past"),
        ({"at": "2026-12-01T10:00+01:00", "local_hhmm": "10:00"}, "not both"),
    ):
        with pytest.raises(service.CampaignError, match=re.escape(words)):
            send(runtime, Actor.operator(), "all", now=created, **bad)


def test_now_waits_for_the_end_of_quiet_hours_in_each_zone(runtime) -> None:  # type: ignore[no-untyped-def]
    early = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # 06:00 in Paris: quiet until 08:30
    rows = deliveries(runtime, send(runtime, Actor.operator(), "all", now=early))
    assert rows[KARIM].not_before == datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    assert rows[EMMA].not_before == datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    assert rows[LIAM].not_before == datetime(2026, 11, 24, 13, 30, tzinfo=UTC)
    with time_machine.travel(early, tick=False):
        assert drain(runtime) == 0


# --- variants -----------------------------------------------------------------------------------


def test_variants_go_round_each_department_deterministically() -> None:
    for count in (2, 3, 5):
        for department in ("sales", "hr", None):
            seen = [service.variant_for(POST, department, rank, count) for rank in range(1, 21)]
            assert len(set(seen[:count])) == count  # the first colleagues all differ
            assert seen == [service.variant_for(POST, department, r, count) for r in range(1, 21)]
            assert all(seen[i] != seen[i + 1] for i in range(len(seen) - 1))
    starts = {service.variant_for(POST, d, 1, 3) for d in ("a", "b", "c", "d", "e", "f", "g")}
    assert len(starts) > 1  # departments do not all start with the first text
    assert service.variant_for(POST, "sales", 7, 1) == 0


def test_variants_reach_the_messages_of_a_department(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(TUESDAY_10_PARIS, tick=False):
        for email in (KARIM, LEA, MARC, LIAM):
            accept_charter(chat(email))
    first = send(runtime, Actor.operator(), "department:customer-service")
    second = send(runtime, Actor.operator(), "department:customer-service")
    with Session(runtime.engine) as session:
        links = session.exec(select(ShareLink).where(ShareLink.network == "x")).all()
    by_campaign: dict[int, dict[int, int]] = {}
    for link in links:
        by_campaign.setdefault(link.campaign_id, {})[link.member_id] = link.variant
    assert by_campaign[first] == by_campaign[second]  # deterministic
    assert len(set(by_campaign[first].values())) == 2  # both X texts are in use
    texts_sent = {
        sent(runtime, row)["blocks"][2]["text"] for row in deliveries(runtime, first).values()
    }
    assert len(texts_sent) >= 3  # two French and at least one English LinkedIn text


# --- share links over HTTP ------------------------------------------------------------------------


def test_share_links_redirect_record_clicks_and_refuse_unknown_or_withdrawn(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(TUESDAY_10_PARIS, tick=False):
        accept_charter(chat(KARIM))
    campaign = send(runtime, Actor.operator(), "department:customer-service")
    with Session(runtime.engine) as session:
        karim_id = session.exec(select(Member.id).where(Member.email == KARIM)).one()
        links = {
            link.network: link
            for link in session.exec(select(ShareLink).where(ShareLink.member_id == karim_id)).all()
        }
    assert set(links) == {"linkedin", "x", "facebook"}
    message = sent(runtime, deliveries(runtime, campaign)[KARIM])
    urls = [
        b["url"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for b in block["buttons"]
        if b.get("url")
    ]
    assert urls == [
        f"http://127.0.0.1:8000/s/{links[n].token}" for n in ("linkedin", "x", "facebook")
    ]
    with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
        base = server.url
        answer = httpx.get(f"{base}/s/{links['x'].token}", follow_redirects=False)
        assert answer.status_code == 303
        target = answer.headers["location"]
        assert target.startswith("https://x.com/intent/tweet?text=")
        assert "norvel.example" in target and "%23Norvel" in target
        assert answer.headers["referrer-policy"] == "no-referrer"
        linkedin = httpx.get(f"{base}/s/{links['linkedin'].token}", follow_redirects=False)
        assert linkedin.headers["location"].startswith(
            "https://www.linkedin.com/sharing/share-offsite/?url=https%3A%2F%2Fnorvel.example"
        )
        # A link preview robot and a HEAD are sent on, but no click is counted.
        robot = httpx.get(
            f"{base}/s/{links['facebook'].token}",
            headers={"User-Agent": "Slackbot-LinkExpanding 1.0"},
            follow_redirects=False,
        )
        assert robot.status_code == 303
        assert httpx.head(f"{base}/s/{links['facebook'].token}").status_code == 303
        for unknown in ("A" * 22, "short", "..%2F..%2Fetc", "x" * 40):
            page = httpx.get(f"{base}/s/{unknown}", follow_redirects=False)
            assert page.status_code == 404, unknown
            assert "Unknown share link" in page.text and "Lien de partage inconnu" in page.text
        huge = httpx.request(
            "GET", f"{base}/s/{links['x'].token}", content=b"x" * 5000, follow_redirects=False
        )
        assert huge.status_code == 413
        with Session(runtime.engine) as session:
            clicks = session.exec(
                select(ParticipationEvent).where(ParticipationEvent.kind == "share_clicked")
            ).all()
        assert sorted(click.data["network"] for click in clicks) == ["linkedin", "x"]
        assert {click.subject for click in clicks} == {POST}
        assert {click.member_id for click in clicks} == {karim_id}
        from bot.db import session_scope

        with session_scope(runtime.engine) as session:
            service.withdraw(session, runtime.config, runtime.relais.content, POST, EN)
        gone = httpx.get(f"{base}/s/{links['x'].token}", follow_redirects=False)
        assert gone.status_code == 410
        # Karim reads French: the French text comes first.
        assert gone.text.index("Publication retirée") < gone.text.index("This post was withdrawn")
        with Session(runtime.engine) as session:
            assert (
                len(
                    session.exec(
                        select(ParticipationEvent).where(ParticipationEvent.kind == "share_clicked")
                    ).all()
                )
                == 2
            )


def test_a_campaign_needs_the_public_address(runtime_factory, programme_dir, database_url) -> None:  # type: ignore[no-untyped-def]
    config = programme_dir / "app.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("public_url: http://127.0.0.1:8000", "public_url:"), encoding="utf-8"
    )
    runtime = runtime_factory(database_url)
    with pytest.raises(service.CampaignError, match=r"web\.public_url"):
        send(runtime, Actor.operator(), "all")


def test_the_public_address_is_validated(programme_dir) -> None:  # type: ignore[no-untyped-def]
    from bot.config import load_config
    from bot.problems import ProblemsError

    config = programme_dir / "app.yaml"
    text = config.read_text(encoding="utf-8")
    for bad in ("relais.example.com", "https://relais.example.com/?a=1", "ftp://x"):
        config.write_text(
            text.replace("public_url: http://127.0.0.1:8000", f"public_url: {bad}"),
            encoding="utf-8",
        )
        with pytest.raises(ProblemsError) as problems:
            load_config(config, "en")
        assert "web.public_url" in str(problems.value.problems[0])


# --- the console: coordinator, ambassadors --------------------------------------------------------


def test_through_the_console_broadcast_share_declare_results_withdraw(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(TUESDAY_10_PARIS, tick=False):
        hugo: ConsoleChat = chat(HUGO)
        karim: ConsoleChat = chat(KARIM)
        lea: ConsoleChat = chat(LEA)
        marc: ConsoleChat = chat(MARC)
        liam: ConsoleChat = chat(LIAM)
        accept_charter(karim)
        liam.type("optout")
        refused = texts(hugo.type(f"broadcast {POST} department:nope"))
        assert "no department has the id “nope”. Known: communication, customer-service" in refused
        started = texts(hugo.type(f"broadcast {POST} department:customer-service"))
        assert "Campaign 1" in started and "remaining: 3" in started  # Liam opted out
        post = texts(karim.inbox())
        assert "== Guide de l'hiver" in post and "Texte suggéré pour LinkedIn" in post
        assert "Partager sur LinkedIn: http://127.0.0.1:8000/s/" in post
        assert "Je l’ai partagée" in post
        gated = texts(marc.inbox())  # Marc has not accepted the charter
        assert "/s/" not in gated and "Lire et accepter la charte d’abord" in gated
        assert texts(lea.inbox()) == ""  # 04:00 in Montréal: later
        shared = karim.number_of(service.SHARED_ACTION)
        assert "Merci" in texts(karim.press(shared))
        karim.press(shared)  # twice: one declaration
    with time_machine.travel(datetime(2026, 11, 24, 13, 31, tzinfo=UTC), tick=False):
        assert "Texte suggéré pour X" in texts(lea.inbox())  # 08:31 in Montréal
        assert texts(liam.inbox()) == ""
        run_scheduled(runtime, "campaigns", datetime(2026, 11, 24, 13, 31, tzinfo=UTC))
        progress = texts(hugo.inbox())  # the progress message, updated in place
        assert "(done)" in progress and "Delivered: 3 · failed: 0 · remaining: 0" in progress
        results = texts(hugo.type(f"results {POST}"))
        assert "Delivered to 3 members." in results
        assert "Said “I shared it”: 1 member (their own declaration)." in results
        assert "does not measure reach" in results
        assert "No lesson has the id" in texts(hugo.type("results no-such-thing"))
        withdrawn = texts(hugo.press(hugo.number_of(service.WITHDRAW_ACTION, POST)))
        assert "3 messages already sent are being retracted" in withdrawn
        notice = texts(karim.inbox())  # the console shows the update as a new message
        assert "Retirée" in notice or "retiré" in notice
    with Session(runtime.engine) as session:
        events = session.exec(select(ParticipationEvent.kind, ParticipationEvent.subject)).all()
        retractions = session.exec(
            select(Delivery).where(Delivery.operation == "update", Delivery.kind == "post")
        ).all()
    kinds = [kind for kind, subject in events if subject == POST]
    assert kinds.count("post_delivered") == 3 and kinds.count("share_declared") == 1
    assert kinds.count("post_withdrawn") == 1
    assert len(retractions) == 3


def test_a_withdrawal_cancels_what_is_queued_and_no_campaign_takes_the_post_again(runtime) -> None:  # type: ignore[no-untyped-def]
    from bot.db import session_scope

    campaign = send(
        runtime,
        Actor.operator(),
        "all",
        local_hhmm="10:00",
        now=TUESDAY_10_PARIS + timedelta(hours=1),
    )
    with session_scope(runtime.engine) as session:
        found = service.withdraw(session, runtime.config, runtime.relais.content, POST, EN)
    assert (found.cancelled, found.retracting) == (15, 0)
    assert {row.status for row in deliveries(runtime, campaign).values()} == {CANCELLED}
    with pytest.raises(service.CampaignError, match="was withdrawn"):
        send(runtime, Actor.operator(), "all")
    with session_scope(runtime.engine) as session, pytest.raises(service.CampaignError):
        service.withdraw(session, runtime.config, runtime.relais.content, "nothing", EN)


# --- the command line --------------------------------------------------------------------------------


@pytest.fixture
def cli(runtime, programme_dir, database_url, monkeypatch):  # type: ignore[no-untyped-def]
    from bot.cli import app

    monkeypatch.setenv("RELAIS_DATABASE_URL", database_url)
    monkeypatch.setenv("RELAIS_CONFIG", str(programme_dir / "app.yaml"))
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["campaign", *args])

    return invoke


def test_cli_send_wait_list_status_pause_resume_cancel(runtime, cli) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(TUESDAY_10_PARIS, tick=True):
        sent = cli("send", POST, "--to", "department:sales", "--wait")
        assert sent.exit_code == 0, sent.output
        assert sent.output.splitlines()[0] == "1"
        assert "Delivered: 3 · failed: 0 · remaining: 0" in sent.output
        held = cli("send", POST, "--to", "department:hr", "--to", "department:legal")
        assert held.exit_code == 0 and held.output.splitlines()[0] == "2", held.output
        assert "3 messages queued" in held.output
        paused = cli("pause", "2")
        assert paused.exit_code == 0 and "Campaign 2 is paused." in paused.output
        assert drain(runtime) == 0  # the stored pause holds it on every worker
        assert "only a running campaign" in cli("pause", "2").output
        listed = cli("list")
        assert listed.exit_code == 0 and "paused" in listed.output and "running" in listed.output
        resumed = cli("resume", "2")
        assert resumed.exit_code == 0 and "goes on" in resumed.output
        assert drain(runtime) == 3
        third = cli("send", POST, "--to", "department:marketing", "--at", "2026-11-25T10:00+01:00")
        assert third.exit_code == 0, third.output
        cancelled = cli("cancel", "3")
        assert cancelled.exit_code == 0 and "2 messages will not be sent" in cancelled.output
        status = cli("status", "3")
        assert "(cancelled)" in status.output and "Cancelled before sending: 2" in status.output
    for args, words in (
        (("status", "99"), "No campaign has the number 99"),
        (("send", "no-such-post", "--to", "all"), "No approved post has the id “no-such-post”"),
        (("send", POST, "--to", "department:nope"), "no department has the id “nope”"),
        (("send", POST, "--to", "all", "--local", "7pm"), "not a time of day"),
        (("cancel", "3"), "nothing left to cancel"),
        (("withdraw", "nothing"), "No post has the id"),
    ):
        result = cli(*args)
        assert result.exit_code == 1 and words in result.output, (args, result.output)
        assert "Traceback" not in result.output
    withdrawn = cli("withdraw", POST)
    assert withdrawn.exit_code == 0, withdrawn.output
    assert "6 messages already sent are being retracted" in withdrawn.output


def test_an_interrupted_queueing_goes_on_without_doubles(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.db import session_scope

    monkeypatch.setattr(service, "CHUNK", 4)
    with session_scope(runtime.engine) as session:
        campaign = service.create(
            session,
            runtime.config,
            runtime.relais.content,
            runtime.relais.permissions,
            Actor.operator(),
            POST,
            ["all"],
            EN,
            now=TUESDAY_10_PARIS,
        )
        campaign_id = campaign.id or 0
    # The process dies after two chunks (8 members read): the job goes on from there.
    service.queue(
        runtime.engine,
        runtime.config,
        runtime.relais.content,
        campaign_id,
        TUESDAY_10_PARIS,
        chunks=2,
    )
    assert len(deliveries(runtime, campaign_id)) == 8
    run_scheduled(runtime, "campaigns", TUESDAY_10_PARIS + timedelta(minutes=1))
    run_scheduled(runtime, "campaigns", TUESDAY_10_PARIS + timedelta(minutes=2))
    rows = deliveries(runtime, campaign_id)
    assert len(rows) == 15
    with Session(runtime.engine) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign.recipients == 15 and campaign.queued_at is not None
