"""A post's life in the database: files synced in, approval state, share, withdrawal, expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import select

from bot.content.sync import ContentWatcher
from bot.db import session_scope
from bot.participation.models import ParticipationEvent
from bot.posts import service
from bot.posts.models import (
    APPROVED,
    AS_APPROVER,
    EXPIRED,
    FROM_FILE,
    LIVE,
    SUBMITTED,
    WITHDRAWN,
    PostApproval,
)
from tests.conftest import run_scheduled
from tests.test_console_conversation import texts

DEMO_POSTS = {
    "apprenticeship-award",
    "heating-breakdown-callback",
    "job-fair-lyon",
    "solar-schools-drome",
    "volunteering-day",
    "winter-energy-guide",
}


def _strip_approval(path) -> None:  # type: ignore[no-untyped-def]
    text = path.read_text(encoding="utf-8")
    lines = [
        line for line in text.splitlines() if not line.startswith(("approved_by:", "approved_at:"))
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_files_are_synced_with_their_approval_and_content_per_language(runtime) -> None:  # type: ignore[no-untyped-def]
    with session_scope(runtime.engine) as session:
        posts = {post.id: post for post in session.exec(select(service.Post)).all()}
        assert set(posts) == DEMO_POSTS
        fair = posts["job-fair-lyon"]
        assert fair.status == APPROVED and fair.source == FROM_FILE
        assert fair.expires == date(2027, 3, 18)
        assert fair.approved_at == datetime(2026, 11, 4, 9, 15, tzinfo=UTC)
        approvals = session.exec(
            select(PostApproval).where(PostApproval.post_id == "job-fair-lyon")
        ).all()
        assert [(a.email, a.role, a.decision) for a in approvals] == [
            ("hugo.lambert@example.com", AS_APPROVER, "approved")
        ]
        live = service.live_post(session, "job-fair-lyon", date(2026, 12, 1))
        assert live is not None
        assert set(live.contents) == {"en", "fr"}
        en = live.content("en")
        assert en.title.startswith("Norvel job fair in Lyon")
        assert len(en.networks["linkedin"]) == 2 and len(en.networks["x"]) == 2
        assert en.hashtags == ["#Norvel", "#NorvelRecrute", "#Lyon"]
        assert live.content("de", "fr").language == "fr"
        # Past its last day, it is not live any more (on the reader's date).
        assert service.live_post(session, "job-fair-lyon", date(2027, 3, 19)) is None
        assert service.live_post(session, "no-such-post") is None


def test_a_file_without_approval_is_submitted_and_an_edit_starts_a_new_round(
    runtime_factory, programme_dir
) -> None:  # type: ignore[no-untyped-def]
    path = programme_dir / "content" / "posts" / "volunteering-day.en.md"
    for lang in ("en", "fr"):
        _strip_approval(programme_dir / "content" / "posts" / f"volunteering-day.{lang}.md")
    runtime = runtime_factory()
    with session_scope(runtime.engine) as session:
        post = service.find(session, "volunteering-day")
        assert post is not None and post.status == SUBMITTED and post.round == 1
        assert service.live_post(session, "volunteering-day") is None
        # Approved in chat meanwhile (what the approval buttons do).
        session.add(
            PostApproval(
                post_id=post.id,
                round=1,
                email="hugo.lambert@example.com",
                role=AS_APPROVER,
                decision="approved",
            )
        )
        post.status = APPROVED
    # The same files again: nothing changes.
    watcher = ContentWatcher(
        programme_dir / "content", runtime.config, runtime.engine, runtime.relais.content
    )
    path.write_text(path.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    assert watcher.check() is not None
    with session_scope(runtime.engine) as session:
        post = service.find(session, "volunteering-day")
        assert post is not None
        # Edited after its approval, without approval in the file: approved again in chat.
        assert post.status == SUBMITTED and post.round == 2
        assert service.approved_in(session, post) == set()
        assert "One more line." in service.contents_of(session, post.id)["en"].body


def test_a_removed_file_retires_its_post(runtime_factory, programme_dir) -> None:  # type: ignore[no-untyped-def]
    runtime = runtime_factory()
    for lang in ("en", "fr"):
        (programme_dir / "content" / "posts" / f"job-fair-lyon.{lang}.md").unlink()
    watcher = ContentWatcher(
        programme_dir / "content", runtime.config, runtime.engine, runtime.relais.content
    )
    assert watcher.check() is not None
    with session_scope(runtime.engine) as session:
        post = service.find(session, "job-fair-lyon")
        assert post is not None and post.retired_at is not None
        assert service.live_post(session, "job-fair-lyon", date(2026, 12, 1)) is None


def test_withdrawn_posts_leave_the_share_list(runtime, chat) -> None:  # type: ignore[no-untyped-def]
    emma = chat("emma.wilson@example.com")
    emma.type("charter")
    emma.press(emma.number_of("charter.accept"))
    assert "job fair in Lyon" in texts(emma.type("share"))
    with session_scope(runtime.engine) as session:
        post = service.withdraw(session, "job-fair-lyon", None)
        assert post.status == WITHDRAWN and post.withdrawn_at is not None
        again = service.withdraw(session, "job-fair-lyon", None)
        assert again.withdrawn_at == post.withdrawn_at
        assert service.live_post(session, "job-fair-lyon") is None
    assert "job fair in Lyon" not in texts(emma.type("share"))
    with session_scope(runtime.engine) as session:
        events = session.exec(
            select(ParticipationEvent).where(ParticipationEvent.kind == "post_withdrawn")
        ).all()
        assert [e.subject for e in events] == ["job-fair-lyon"]


def test_campaigns_mark_an_approved_post_live(runtime) -> None:  # type: ignore[no-untyped-def]
    with session_scope(runtime.engine) as session:
        post = service.mark_live(session, "volunteering-day")
        assert post.status == LIVE and post.live_at is not None
        assert service.live_post(session, "volunteering-day", date(2026, 12, 1)) is not None


def test_the_expiry_job_expires_posts_past_their_last_day(runtime) -> None:  # type: ignore[no-untyped-def]
    with session_scope(runtime.engine) as session:
        service.mark_live(session, "job-fair-lyon")
    # 18 March is its last day in Paris: still live at 23:30 there.
    assert run_scheduled(runtime, "post_expiry", datetime(2027, 3, 18, 22, 30, tzinfo=UTC)) == 0
    with session_scope(runtime.engine) as session:
        assert service.find(session, "job-fair-lyon").status == LIVE  # type: ignore[union-attr]
    expired = run_scheduled(runtime, "post_expiry", datetime(2027, 3, 18, 23, 30, tzinfo=UTC))
    assert expired >= 1
    with session_scope(runtime.engine) as session:
        post = service.find(session, "job-fair-lyon")
        assert post is not None and post.status == EXPIRED and post.expired_at is not None
        assert service.live_post(session, "job-fair-lyon", date(2027, 3, 18)) is None
    # Nothing left to expire on a second run.
    assert run_scheduled(runtime, "post_expiry", datetime(2027, 3, 19, 0, 30, tzinfo=UTC)) == 0


def test_cli_lists_posts_with_their_status(programme_dir, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.setenv("RELAIS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("COLUMNS", "200")
    for lang in ("en", "fr"):
        _strip_approval(programme_dir / "content" / "posts" / f"volunteering-day.{lang}.md")
    config = str(programme_dir / "app.yaml")
    result = CliRunner().invoke(app, ["posts", "list", "--config", config])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("job-fair-lyon" in line and "approved" in line for line in lines), result.output
    assert any("volunteering-day" in line and "waiting for approval" in line for line in lines)
    only = CliRunner().invoke(app, ["posts", "list", "--status", "submitted", "--config", config])
    assert only.exit_code == 0 and "volunteering-day" in only.output
    assert "job-fair-lyon" not in only.output
    wrong = CliRunner().invoke(app, ["posts", "list", "--status", "live!", "--config", config])
    assert wrong.exit_code == 1
    assert "Unknown status 'live!': choose one of draft, submitted" in wrong.output
