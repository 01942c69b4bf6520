"""`relais serve`: a real HTTP server on 127.0.0.1, its health check, and its refusals."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.web import create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(runtime):  # type: ignore[no-untyped-def]
    """The real app under uvicorn on a loopback port, for the duration of a test."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


def test_healthz_reports_database_content_and_scheduler(served: str) -> None:
    response = httpx.get(f"{served}/healthz", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": True, "content": True, "scheduler": True}
    assert body["content"]["lessons"] == 26 and body["platforms"] == {"console": {"ok": True}}
    assert body["outbox"] == {  # from indexes only, capped: O(1) however large the outbox
        "pending": 0,
        "sending": 0,
        "oldest_due_seconds": None,
        "promotional_paused": False,
    }


def test_healthz_fails_when_the_database_is_gone(runtime) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from bot.db import make_engine

    runtime.engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    with TestClient(create_app(runtime, run_scheduler=False)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["checks"]["database"] is False


def test_worker_in_serve_delivers_console_replies(served: str, runtime, chat) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import Session, select

    from bot.delivery.models import SENT, Delivery
    from bot.events import CommandEvent, Who

    runtime.relais.handle(
        CommandEvent(Who("console", email="emma.wilson@example.com"), "k1", name="help")
    )
    runtime.worker.kick()
    deadline = time.monotonic() + 20
    status = None
    while time.monotonic() < deadline:
        with Session(runtime.engine) as session:
            status = session.exec(select(Delivery.status)).first()
        if status == SENT:
            break
        time.sleep(0.1)
    assert status == SENT


def test_serve_refuses_an_invalid_config(programme_dir: Path) -> None:
    config = programme_dir / "app.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("Europe/Paris", "Mars/Base", 1), encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["serve", "--config", str(config)])
    assert result.exit_code == 1
    assert "Relais cannot start" in result.output and f"{config}:15: time.zone:" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_broken_content(programme_dir: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RELAIS_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    (programme_dir / "content/lessons/trolls.en.md").write_text(
        "---\ntitle: [\n---\n", encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["serve", "--config", str(programme_dir / "app.yaml")])
    assert result.exit_code == 1 and "trolls.en.md:3: not valid YAML" in result.output


def test_serve_refuses_an_unreachable_database(programme_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(
        "RELAIS_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    )
    result = CliRunner().invoke(cli, ["serve", "--config", str(programme_dir / "app.yaml")])
    assert result.exit_code == 1 and "Cannot use the database" in result.output
    assert "Traceback" not in result.output


def test_enabled_platform_without_adapter_is_refused(
    programme_dir: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RELAIS_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    config = programme_dir / "app.yaml"
    text = config.read_text(encoding="utf-8").replace(
        "  console:\n    enabled: true",
        "  console:\n    enabled: false\n  mattermost:\n    enabled: true",
    )
    config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["serve", "--config", str(config)])
    assert result.exit_code == 1 and "platforms.mattermost: unknown key" in result.output


def test_cli_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "console", "content", "db", "members"):
        assert command in result.output
