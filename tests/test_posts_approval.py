"""Approving posts, per organisation model, through the console conversation.

Relays (or hubs, or the central team) fill in the post form prompt by prompt;
approvers get the post with Approve / Request changes / Reject; the author is
told the outcome in their language. Sensitive topics also need legal.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from adapters.console.render import FORM_FILL
from bot.db import session_scope
from bot.posts import service
from bot.posts.models import (
    APPROVED,
    AS_APPROVER,
    AS_LEGAL,
    CHANGES_REQUESTED,
    REJECTED,
    SUBMITTED,
    Post,
    PostApproval,
)
from tests.test_console_conversation import texts

GOOD = {
    "title": "Our heat pump training centre opens in Lyon",
    "link": "https://norvel.example/news/training-centre-lyon",
    "language": "en",
    "linkedin": "Proud to see it: Norvel, where I work, opens a training centre in Lyon.\n---\n"
    "My colleagues will train 400 technicians a year in Lyon. I work at Norvel!",
    "x": "Norvel opens a heat pump training centre in Lyon (I work at Norvel) #Norvel",
    "hashtags": "#Norvel #Lyon",
    "body": "Share it with people who look for a hands-on job.",
}


def set_model(programme_dir: Path, model: str) -> None:
    path = programme_dir / "app.yaml"
    text = path.read_text(encoding="utf-8")
    assert "organisation_model: hub_and_spoke" in text
    path.write_text(
        text.replace("organisation_model: hub_and_spoke", f"organisation_model: {model}"),
        encoding="utf-8",
    )


def fill(chat, answers: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    """Press the latest form's button and answer its prompts as a person would type them."""
    shown = chat.press(chat.number_of(FORM_FILL))
    assert chat.filling is not None, texts(shown)
    out = []
    while chat.filling is not None:
        entry = chat.filling.current
        choice = entry.kind in ("choice", "choices")
        value = answers.get(entry.name, "-" if entry.value and not choice else "")
        if entry.kind in ("multiline", "variants"):
            for line in value.splitlines():
                chat.type(line)
            out = chat.type("")
        elif choice and value:
            number = [o.value for o in entry.options].index(value) + 1
            out = chat.type(str(number))
        else:
            out = chat.type(value)
    return texts(out)


def submit(chat, **changes: str) -> str:  # type: ignore[no-untyped-def]
    chat.type("submit")
    return fill(chat, {**GOOD, **changes})


def latest(runtime) -> Post:  # type: ignore[no-untyped-def]
    with session_scope(runtime.engine) as session:
        return session.exec(
            select(Post).where(Post.source == "chat").order_by(Post.created_at.desc())  # type: ignore[attr-defined]
        ).first()


def decisions(runtime, post_id: str) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with session_scope(runtime.engine) as session:
        rows = session.exec(
            select(PostApproval).where(PostApproval.post_id == post_id).order_by(PostApproval.id)
        ).all()
        return [(row.email.split("@")[0], row.role, row.decision) for row in rows]


def test_hub_and_spoke_a_relay_submits_and_the_central_team_approves(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    karim = chat("karim.benali@example.com")  # relay, customer service
    karim.type("lang en")
    answer = submit(karim)
    assert "sent to 2 approvers" in answer
    post = latest(runtime)
    assert post.status == SUBMITTED and post.department == "customer-service"
    assert post.id == "our-heat-pump-training-centre-opens-in-lyon"
    # Both coordinators are asked; Hugo reads it in English with the three buttons.
    hugo = chat("hugo.lambert@example.com")
    asked = texts(hugo.inbox())
    assert "Karim Benali proposes a post" in asked
    assert "LinkedIn, version 2" in asked and "My colleagues will train" in asked
    assert "Request changes" in asked and "Reject" in asked
    claire = chat("claire.dubois@example.com")
    assert "Karim Benali propose une publication" in texts(claire.inbox())
    # An ambassador of another department is not asked, and may not decide.
    emma = chat("emma.wilson@example.com")
    assert "proposes a post" not in texts(emma.inbox())
    assert "you may not submit posts for approval" in texts(emma.type("posts"))

    assert "You approved" in texts(hugo.press(hugo.number_of("post.approve", post.id)))
    assert latest(runtime).status == APPROVED
    assert decisions(runtime, post.id) == [("hugo.lambert", AS_APPROVER, "approved")]
    told = texts(karim.inbox())
    assert "is approved: it can now be shared" in told
    # A second approver's click comes too late, and says so.
    assert "Une décision a déjà été prise" in texts(
        claire.press(claire.number_of("post.approve", post.id))
    )
    # The approved post is in everyone's share list (its language's members).
    emma.type("charter")
    emma.press(emma.number_of("charter.accept"))
    assert GOOD["title"] in texts(emma.type("share"))


def test_changes_requested_then_submitted_again_then_rejected(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    karim = chat("karim.benali@example.com")
    submit(karim)  # in French: Karim's language
    post = latest(runtime)
    hugo = chat("hugo.lambert@example.com")
    hugo.inbox()
    form = texts(hugo.press(hugo.number_of("post.changes", post.id)))
    assert "What should change?" in form
    done = fill(hugo, {"note": "Please add the opening date."})
    assert "the author is told" in done
    assert latest(runtime).status == CHANGES_REQUESTED
    told = texts(karim.inbox())
    assert "Hugo Lambert demande des modifications" in told
    assert "Please add the opening date." in told
    # Karim edits the post (the form holds what he wrote) and sends it again.
    karim.press(karim.number_of("post.edit", post.id))
    assert karim.forms[karim.number_of(FORM_FILL)].fields[0].value == GOOD["title"]
    again = fill(karim, {**GOOD, "body": "Opens on 2 February."})
    assert "envoyée" in again
    post = latest(runtime)
    assert post.status == SUBMITTED and post.round == 2
    with session_scope(runtime.engine) as session:
        assert service.contents_of(session, post.id)["en"].body == "Opens on 2 February."
    # Asked again for the new round; this time rejected, with a reason.
    assert "proposes a post" in texts(hugo.inbox())
    hugo.press(hugo.number_of("post.reject", post.id))
    # A reason is required: an empty one is asked again.
    hugo.press(hugo.number_of(FORM_FILL))
    assert "required" in texts(hugo.type(""))
    hugo.type("Not our tone.")
    assert "You rejected" in texts(hugo.type(""))
    assert latest(runtime).status == REJECTED
    assert "a refusé votre publication" in texts(karim.inbox())
    assert decisions(runtime, post.id) == [
        ("hugo.lambert", AS_APPROVER, "changes_requested"),
        ("hugo.lambert", AS_APPROVER, "rejected"),
    ]
    # Karim sees where his proposal stands.
    karim.type("lang en")
    assert f"{GOOD['title']} ({post.id}) — rejected" in texts(karim.type("posts"))


def test_a_sensitive_topic_also_needs_legal(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    karim = chat("karim.benali@example.com")
    answer = submit(karim, topic="financial-results")
    assert "juridique" in answer
    post = latest(runtime)
    assert post.sensitive and post.topic == "financial-results"
    nathalie = chat("nathalie.blanc@example.com")  # legal reviewer (and a relay: no approver)
    assert "propose une publication" in texts(nathalie.inbox())
    hugo = chat("hugo.lambert@example.com")
    assert "legal review" in texts(hugo.inbox())
    assert "still needs legal" in texts(hugo.press(hugo.number_of("post.approve", post.id)))
    assert latest(runtime).status == SUBMITTED
    assert "approuvé" in texts(nathalie.press(nathalie.number_of("post.approve", post.id)))
    assert latest(runtime).status == APPROVED
    assert decisions(runtime, post.id) == [
        ("hugo.lambert", AS_APPROVER, "approved"),
        ("nathalie.blanc", AS_LEGAL, "approved"),
    ]
    assert "est approuvée" in texts(karim.inbox())


def test_legal_alone_does_not_approve_a_sensitive_post(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    karim = chat("karim.benali@example.com")
    submit(karim, topic="legal-proceedings")
    post = latest(runtime)
    nathalie = chat("nathalie.blanc@example.com")
    nathalie.inbox()
    nathalie.press(nathalie.number_of("post.approve", post.id))
    assert latest(runtime).status == SUBMITTED
    nathalie.type("lang en")
    # Her buttons are gone from her `posts` list: nothing more is hers to give.
    assert "No post awaits" in texts(nathalie.type("posts"))


def test_bad_form_input_is_answered_clearly_and_kept(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    karim = chat("karim.benali@example.com")
    karim.type("lang en")
    answer = submit(
        karim,
        link="norvel.example/news",
        x="Norvel opens a training centre in Lyon",
        hashtags="#Norvel Lyon",
        expires="31/03/2027",
    )
    assert "Your post was not submitted: please correct it." in answer
    assert "Link: “norvel.example/news” is not a web link (https://…)" in answer
    assert "X, version 1: say that you work for the company" in answer
    assert "Hashtags: “Lyon” are not hashtags" in answer
    assert "Expires: “31/03/2027” is not a date like 2027-03-31." in answer
    with session_scope(runtime.engine) as session:
        assert session.exec(select(Post).where(Post.source == "chat")).first() is None
    # The form comes again with what was typed.
    form = karim.forms[karim.number_of(FORM_FILL)]
    assert {f.name: f.value for f in form.fields}["link"] == "norvel.example/news"
    assert "sent to 2 approvers" in fill(karim, GOOD)


def test_centralized_only_the_central_team_submits_and_another_approves(
    runtime_factory, programme_dir
) -> None:  # type: ignore[no-untyped-def]
    from adapters.console.chat import ConsoleChat

    set_model(programme_dir, "centralized")
    runtime = runtime_factory()
    karim = ConsoleChat(runtime, "karim.benali@example.com")
    karim.type("lang en")
    assert "you may not submit posts for approval" in texts(karim.type("submit"))
    hugo = ConsoleChat(runtime, "hugo.lambert@example.com")
    assert "sent to 1 approver" in submit(hugo)
    post = latest(runtime)
    assert post.department is None and post.status == SUBMITTED
    # The author does not approve his own post: it is only among his proposals.
    own = texts(hugo.type("posts"))
    assert "awaits your decision" not in own and "waiting for approval" in own
    claire = ConsoleChat(runtime, "claire.dubois@example.com")
    claire.inbox()
    claire.press(claire.number_of("post.approve", post.id))
    assert latest(runtime).status == APPROVED


def test_organic_a_relay_publishes_to_their_own_department(runtime_factory, programme_dir) -> None:  # type: ignore[no-untyped-def]
    from adapters.console.chat import ConsoleChat

    set_model(programme_dir, "organic")
    runtime = runtime_factory()
    karim = ConsoleChat(runtime, "karim.benali@example.com")
    karim.type("lang en")
    assert "is approved (you publish for your department)" in submit(karim)
    post = latest(runtime)
    assert post.status == APPROVED and post.department == "customer-service"
    assert decisions(runtime, post.id) == [("karim.benali", AS_APPROVER, "approved")]
    # ... but a sensitive topic still waits for legal.
    assert "sent to 1 approver" in submit(
        karim, title="Quarterly results", topic="financial-results"
    )
    assert latest(runtime).status == SUBMITTED


def test_dandelion_a_hub_submits_for_its_unit_and_other_hubs_cannot_approve(
    runtime_factory, programme_dir
) -> None:  # type: ignore[no-untyped-def]
    from adapters.console.chat import ConsoleChat

    set_model(programme_dir, "dandelion")
    runtime = runtime_factory()
    amelie = ConsoleChat(runtime, "amelie.garnier@example.com")  # a relay: no submitting here
    amelie.type("lang en")
    assert "you may not submit" in texts(amelie.type("submit"))
    thomas = ConsoleChat(runtime, "thomas.girard@example.com")  # hub of "business"
    thomas.type("lang en")
    assert "sent to 2 approvers" in submit(thomas)  # the two coordinators
    post = latest(runtime)
    assert post.business_unit == "business"
    ines = ConsoleChat(runtime, "ines.moreau@example.com")  # hub of "residential"
    assert "propose" not in texts(ines.inbox())
    ines.type("lang en")
    ines_posts = texts(ines.type("posts"))
    assert GOOD["title"] not in ines_posts
    claire = ConsoleChat(runtime, "claire.dubois@example.com")
    claire.inbox()
    claire.press(claire.number_of("post.approve", post.id))
    assert latest(runtime).status == APPROVED
    assert "is approved" in texts(thomas.inbox())


@pytest.mark.parametrize("model", ["honeycomb"])
def test_honeycomb_relays_publish_and_the_central_team_needs_a_second_pair_of_eyes(
    runtime_factory, programme_dir, model: str
) -> None:  # type: ignore[no-untyped-def]
    from adapters.console.chat import ConsoleChat

    set_model(programme_dir, model)
    runtime = runtime_factory()
    amelie = ConsoleChat(runtime, "amelie.garnier@example.com")  # relay, hr
    amelie.type("lang en")
    assert "is approved (you publish for your department)" in submit(amelie)
    hugo = ConsoleChat(runtime, "hugo.lambert@example.com")
    assert "sent to 1 approver" in submit(hugo, title="A programme-wide post")
