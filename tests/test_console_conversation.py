"""Console conversations, end to end: events in, outbox, worker, console mailbox out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import time_machine
from sqlmodel import Session, select

from adapters.console.chat import ConsoleChat
from bot.delivery.models import Delivery
from bot.events import ActionEvent, Who
from bot.members.models import Member
from bot.participation.models import ParticipationEvent
from bot.training.models import LessonProgress, QuizAnswer
from tests.conftest import run_scheduled

KARIM = "karim.benali@example.com"  # French-speaking relay, Paris
EMMA = "emma.wilson@example.com"  # English-speaking ambassador, London


def texts(shown) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(item.rendered.text for item in shown)


def test_scheduled_lesson_answered_with_a_button_is_stored(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    slot = datetime(2026, 11, 24, 9, 0, 20, tzinfo=UTC)  # Tuesday 10:00 in Paris, 09:00 in London
    with time_machine.travel(slot, tick=False):
        run_scheduled(runtime, "lessons", slot)
        karim: ConsoleChat = chat(KARIM)
        received = karim.inbox()
    assert len(received) == 1
    lesson = received[0].rendered
    assert lesson.text.startswith("== Bienvenue")  # in Karim's language
    correct = runtime.relais.content.lesson("welcome", "fr").quiz.correct_index
    with time_machine.travel(slot + timedelta(minutes=3), tick=False):
        feedback = texts(karim.press(karim.number_of("lesson.answer", f"welcome:{correct}")))
    assert "✅" in feedback
    with Session(runtime.engine) as session:
        member = session.exec(select(Member).where(Member.email == KARIM)).one()
        answer = session.exec(select(QuizAnswer).where(QuizAnswer.member_id == member.id)).one()
        assert (answer.lesson_id, answer.option_index, answer.correct) == ("welcome", correct, True)
        assert answer.seconds_to_answer == 180  # from the slot to the click
        progress = session.exec(
            select(LessonProgress).where(LessonProgress.member_id == member.id)
        ).one()
        assert progress.correct is True and progress.review_due_at is None
        kinds = {
            e.kind
            for e in session.exec(
                select(ParticipationEvent).where(ParticipationEvent.member_id == member.id)
            )
        }
        assert {"lesson_delivered", "lesson_answered"} <= kinds


def test_same_click_delivered_twice_is_stored_once(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    emma: ConsoleChat = chat(EMMA)
    emma.type("lesson")
    wrong = next(
        i
        for i, option in enumerate(runtime.relais.content.lesson("welcome", "en").quiz.options)
        if not option.correct
    )
    click = ActionEvent(
        Who("console", email=EMMA), "click-123", action_id="lesson.answer", value=f"welcome:{wrong}"
    )
    first = runtime.relais.handle(click)
    again = runtime.relais.handle(click)
    assert first.queued == 1 and again.duplicate is True
    shown = texts(emma.inbox())
    assert (
        "❌ Not quite. The right answer was:" in shown
        and "This question will come back on" in shown
    )
    with Session(runtime.engine) as session:
        assert len(session.exec(select(QuizAnswer)).all()) == 1
        progress = session.exec(select(LessonProgress)).one()
        assert progress.correct is False and progress.review_due_at is not None


def test_wrong_answer_comes_back_for_review_then_right_does_not(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    emma: ConsoleChat = chat(EMMA)
    quiz = runtime.relais.content.lesson("welcome", "en").quiz
    wrong = next(i for i, option in enumerate(quiz.options) if not option.correct)
    start = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        emma.type("lesson")
        emma.press(emma.number_of("lesson.answer", f"welcome:{wrong}"))
    with time_machine.travel(start + timedelta(days=1, minutes=1), tick=False):
        review = texts(emma.type("lesson"))
        assert "Review: this question comes back" in review and quiz.question in review
        emma.press(emma.number_of("lesson.answer", f"welcome:{quiz.correct_index}"))
        nxt = texts(emma.type("lesson"))
    assert "Say you work at Norvel" in nxt or "say" in nxt.lower()
    assert quiz.question not in nxt


def test_commands_help_language_and_unknown(chat) -> None:  # type: ignore[no-untyped-def]
    karim: ConsoleChat = chat(KARIM)
    assert "`lesson`" in texts(karim.type("help"))
    unknown = texts(karim.type("dance"))
    assert "« dance »" in unknown or "dance" in unknown
    assert "From now on I will write to you in English." in texts(karim.type("lang en"))
    assert "Choose one of: fr, en." in texts(karim.type("lang de"))
    assert "What I can do for you" in texts(karim.type("help"))
    assert (
        "Charter" in texts(karim.type("charter"))
        or "charter" in texts(karim.type("charter")).lower()
    )


def test_opt_out_stops_lessons_and_opt_in_restores(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    emma: ConsoleChat = chat(EMMA)
    assert "You have left the programme" in texts(emma.type("optout"))
    assert "Type “optin” to come back." in texts(emma.type("lesson"))
    slot = datetime(2026, 11, 24, 10, 0, 20, tzinfo=UTC)  # 10:00 in London
    run_scheduled(runtime, "lessons", slot)
    with Session(runtime.engine) as session:
        emma_id = session.exec(select(Member.id).where(Member.email == EMMA)).one()
        assert not session.exec(
            select(Delivery).where(Delivery.member_id == emma_id, Delivery.kind == "lesson")
        ).all()
    assert "Welcome back" in texts(emma.type("optin"))


def test_share_lists_approved_posts_with_network_texts(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    emma = chat(EMMA)
    emma.type("charter")
    emma.press(emma.number_of("charter.accept"))
    shown = texts(emma.type("share"))
    assert "Suggested text for LinkedIn" in shown and "https://norvel.example/" in shown


def test_share_appends_only_the_hashtags_a_text_lacks(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    import re

    emma = chat(EMMA)
    emma.type("charter")
    emma.press(emma.number_of("charter.accept"))
    lines = texts(emma.type("share")).splitlines()
    suggested = [
        lines[index + 1] for index, line in enumerate(lines) if line.startswith("== Suggested text")
    ]
    x_texts = [
        lines[index + 1] for index, line in enumerate(lines) if line == "== Suggested text for X =="
    ]
    assert x_texts and all(re.search(r"#\w+ #\w+", text) for text in x_texts)
    for text in suggested:
        tags = [tag.lower() for tag in re.findall(r"#\w+", text)]
        assert len(tags) == len(set(tags)), f"a hashtag is repeated in: {text}"
        assert "#norvel" in tags, text  # every demo post has #Norvel among its hashtags


def test_hashtags_already_in_a_text_are_matched_whole_and_ignoring_case(runtime) -> None:  # type: ignore[no-untyped-def]
    from bot.db import session_scope
    from bot.posts.service import live_post, with_hashtags

    with session_scope(runtime.engine) as session:
        live = live_post(session, "job-fair-lyon")
        assert live is not None
        tags = live.content("en").hashtags
    assert tags == ["#Norvel", "#NorvelRecrute", "#Lyon"]
    assert with_hashtags("Hiring! #norvelrecrute", tags) == "Hiring! #norvelrecrute #Norvel #Lyon"
    assert with_hashtags("#LYON #Norvel #NorvelRecrute", tags) == "#LYON #Norvel #NorvelRecrute"


def test_stranger_gets_a_direct_answer(runtime) -> None:  # type: ignore[no-untyped-def]
    from adapters.console.render import render
    from bot.events import MessageEvent

    outcome = runtime.relais.handle(
        MessageEvent(Who("console", email="nobody@example.com"), "e1", text="help")
    )
    assert outcome.member_id is None and len(outcome.direct) == 1
    text = render(outcome.direct[0]).text
    # In the programme's default language (French): the stranger's own is unknown.
    assert f"Vous n’êtes pas encore membre de {runtime.config.programme.name}." in text
    assert "Demandez au coordinateur de votre programme de vous ajouter." in text
    with Session(runtime.engine) as session:
        assert session.exec(select(Delivery)).all() == []


def test_handler_crash_is_apologised_and_can_be_retried(runtime, chat, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.events import CommandEvent

    spec = runtime.relais.registry.commands["progress"]
    calls = []

    def boom(ctx):  # type: ignore[no-untyped-def]
        calls.append(1)
        raise RuntimeError("bug")

    monkeypatch.setitem(
        runtime.relais.registry.commands,
        "progress",
        type(spec)(**{**spec.__dict__, "handler": boom}),
    )
    event = CommandEvent(Who("console", email=EMMA), "evt-9", name="progress")
    outcome = runtime.relais.handle(event)
    assert "something went wrong" in outcome.direct[0].text.lower()
    runtime.relais.handle(event)  # not marked as handled: the platform's retry runs again
    assert len(calls) == 2
    asyncio.run(runtime.worker.drain())


def test_home_view_shows_progress_charter_and_posts(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    from adapters.console.render import render

    emma = chat(EMMA)
    emma.type("lesson")
    correct = runtime.relais.content.lesson("welcome", "en").quiz.correct_index
    emma.press(emma.number_of("lesson.answer", f"welcome:{correct}"))
    before = render(runtime.relais.home(Who("console", email=EMMA))).text
    assert "You have not accepted this version yet." in before and "To share now" not in before
    emma.type("charter")
    emma.press(emma.number_of("charter.accept"))
    home = render(runtime.relais.home(Who("console", email=EMMA))).text
    assert "Hello Emma!" in home and "*The basics*: 1 lesson answered correctly out of 16" in home
    assert "version 2" in home and "To share now (" in home
    assert runtime.relais.home(Who("console", email="nobody@example.com")) is None


def test_remember_address_links_a_member(runtime) -> None:  # type: ignore[no-untyped-def]
    from bot.members.models import Address

    member_id = runtime.relais.remember_address(
        Who("teams", user_id="29:abc", email=EMMA),
        channel_id="a:1",
        reference={"conversation": {"id": "a:1"}},
    )
    assert member_id is not None
    assert runtime.relais.remember_address(Who("teams", user_id="29:zzz")) is None
    with Session(runtime.engine) as session:
        address = session.exec(select(Address).where(Address.member_id == member_id)).one()
        assert (address.platform, address.channel_id, address.reference) == (
            "teams",
            "a:1",
            {"conversation": {"id": "a:1"}},
        )
        assert address.user_id == "29:abc"


def test_button_numbers_stay_with_their_message(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    """The charter's Accept still works after another message with buttons (help) came."""
    from bot.charter.models import CharterAcknowledgement

    emma: ConsoleChat = chat(EMMA)
    charter = next(item.rendered for item in emma.type("charter") if item.rendered.buttons)
    accept = charter.number_of("charter.accept")
    assert f"[{accept}] " in charter.text
    help_shown = next(item.rendered for item in emma.type("help") if item.rendered.buttons)
    assert min(help_shown.numbered) > accept  # new buttons take new numbers
    assert f"[{accept}] " not in help_shown.text
    assert "You accepted version 2 of the charter" in texts(emma.type(str(accept)))
    with Session(runtime.engine) as session:
        assert [a.version for a in session.exec(select(CharterAcknowledgement)).all()] == [2]
    # Help's own buttons still work by their numbers.
    progress = help_shown.number_of("command", "progress")
    assert "Your training" in texts(emma.type(str(progress)))


def test_a_number_that_is_no_button_is_explained(chat) -> None:  # type: ignore[no-untyped-def]
    emma: ConsoleChat = chat(EMMA)
    assert "There is no button to press yet" in texts(emma.type("3"))
    emma.type("help")
    answer = texts(emma.type("99"))
    assert "No button has the number 99" in answer and "from 1 to 3" in answer


def test_relais_console_presses_an_earlier_message_button_by_its_number(
    programme_dir, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """`relais console`: charter, help, then the charter's Accept number accepts the charter."""
    from typer.testing import CliRunner

    from bot.cli import app
    from tests.conftest import DEMO_MEMBERS

    monkeypatch.setenv("RELAIS_DATABASE_URL", f"sqlite:///{tmp_path / 'console.db'}")
    config = str(programme_dir / "app.yaml")
    runner = CliRunner()
    imported = runner.invoke(app, ["members", "import", str(DEMO_MEMBERS), "--config", config])
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(
        app, ["console", "--as", EMMA, "--config", config], input="charter\nhelp\n1\nquit\n"
    )
    assert result.exit_code == 0, result.output
    charter_part, _, rest = result.output.partition("What I can do for you")
    assert "[1] I have read and accept the charter" in charter_part and "[2] Next lesson" in rest
    assert (
        "→ [1] I have read and accept the charter" in rest
        and "You accepted version 2 of the charter" in rest
    )
