"""`relais delivery status|pause|resume|cancel`, through the Typer runner and a real process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.db import session_scope
from bot.delivery.models import CANCELLED, PENDING, PRIORITY_URGENT, SENT, Delivery, DeliveryPause
from bot.delivery.outbox import Outgoing, enqueue_many
from bot.members.models import Member
from bot.messages import simple

RELAIS = Path(sys.executable).parent / "relais"


def relais(url: str, programme_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        [*args, "--config", str(programme_dir / "app.yaml")],
        env={"RELAIS_DATABASE_URL": url, "RELAIS_LANG": "en", "COLUMNS": "200"},
    )
    return result.exit_code, result.output


def queue(runtime: Any) -> None:
    with Session(runtime.engine) as session:
        ids = list(session.exec(select(Member.id).order_by(Member.id).limit(3)).all())
    with session_scope(runtime.engine) as session:
        enqueue_many(
            session,
            [
                Outgoing(
                    m,
                    "console",
                    "launch",
                    "post",
                    simple("Launch"),
                    purpose="promotional",
                    campaign="launch",
                )
                for m in ids
            ]
            + [
                Outgoing(
                    ids[0],
                    "console",
                    "alert",
                    "crisis_alert",
                    simple("Alert"),
                    purpose="operational",
                    priority=PRIORITY_URGENT,
                )
            ],
        )


def statuses(runtime: Any) -> dict[str, list[str]]:
    with Session(runtime.engine) as session:
        found: dict[str, list[str]] = {}
        for key, status in session.exec(select(Delivery.dedupe_key, Delivery.status)).all():
            found.setdefault(key, []).append(status)
        return found


def test_status_pause_resume_and_cancel_a_campaign(
    runtime, database_url: str, programme_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    code, output = relais(database_url, programme_dir, "delivery", "status")
    assert code == 0 and "The outbox is empty." in output
    queue(runtime)
    code, output = relais(database_url, programme_dir, "delivery", "status")
    assert code == 0, output
    assert "waiting" in output and "promotional" in output and "scheduled (0)" in output
    assert "operational" in output and "urgent (100)" in output
    assert "Promotional deliveries are running." in output
    assert "Oldest delivery waiting: #" in output
    assert "Campaign launch: 3 deliveries queued." in output

    code, output = relais(
        database_url, programme_dir, "delivery", "pause", "--reason", "press embargo"
    )
    assert code == 0 and "Promotional deliveries are paused on every replica" in output
    with Session(runtime.engine) as session:
        stored = session.get(DeliveryPause, "promotional")
        assert stored is not None and stored.reason == "press embargo"
    code, output = relais(database_url, programme_dir, "delivery", "pause")
    assert code == 0 and "already paused since" in output and "(press embargo)" in output
    code, output = relais(database_url, programme_dir, "delivery", "status")
    assert "Promotional deliveries are PAUSED since" in output and "(press embargo)" in output

    asyncio.run(runtime.worker.drain())  # the alert goes, the campaign waits
    assert statuses(runtime) == {"launch": [PENDING] * 3, "alert": [SENT]}

    code, output = relais(database_url, programme_dir, "delivery", "resume")
    assert code == 0 and "Promotional deliveries resumed: 3 waiting go out now." in output
    code, output = relais(database_url, programme_dir, "delivery", "resume")
    assert code == 0 and "Promotional deliveries were not paused." in output

    code, output = relais(database_url, programme_dir, "delivery", "cancel", "--campaign", "launch")
    assert code == 0, output
    assert "3 deliveries of the campaign launch cancelled; those already sent stay." in output
    asyncio.run(runtime.worker.drain())
    assert statuses(runtime) == {"launch": [CANCELLED] * 3, "alert": [SENT]}
    code, output = relais(database_url, programme_dir, "delivery", "cancel", "--campaign", "nope")
    assert code == 1 and "No delivery belongs to the campaign nope." in output


def test_resume_keeps_the_pause_of_a_crisis_unless_forced(
    runtime, database_url: str, programme_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    code, output = relais(database_url, programme_dir, "crisis", "declare", "phishing-campaign")
    assert code == 0, output
    code, output = relais(database_url, programme_dir, "delivery", "resume")
    assert code == 1 and "A crisis is in progress" in output and "--force" in output
    with Session(runtime.engine) as session:
        assert session.get(DeliveryPause, "promotional") is not None
    code, output = relais(database_url, programme_dir, "delivery", "resume", "--force")
    assert code == 0 and "Promotional deliveries resumed" in output
    with Session(runtime.engine) as session:
        assert session.get(DeliveryPause, "promotional") is None


def test_the_delivery_commands_speak_french(
    runtime, database_url: str, programme_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "RELAIS_LANG": "fr",
        "RELAIS_DATABASE_URL": database_url,
        "COLUMNS": "200",
        "TERM": "dumb",
    }
    config = str(programme_dir / "app.yaml")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(RELAIS), "delivery", *args, "--config", config],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    paused = run("pause", "--reason", "crise")
    assert paused.returncode == 0, paused.stderr
    assert "Les envois promotionnels sont suspendus sur toutes les instances" in paused.stdout
    status = run("status")
    assert status.returncode == 0, status.stderr
    assert "La file d’envoi est vide." in status.stdout
    assert "Les envois promotionnels sont SUSPENDUS depuis" in status.stdout
    help_text = subprocess.run(
        [str(RELAIS), "delivery", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Reprendre les envois promotionnels" in help_text.stdout
