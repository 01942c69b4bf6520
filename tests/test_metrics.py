"""`GET /metrics` scraped over HTTP after real deliveries through the Slack stand-in (429s
included), a case reported in chat and scheduled runs, read with prometheus_client's own parser;
and the JSON logs of a real `relais serve`, each line carrying its request or delivery id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import time_machine
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.db import session_scope
from bot.delivery.models import SENT, Delivery
from bot.delivery.outbox import Outgoing, enqueue, pause_promotional
from bot.members.models import Member
from bot.messages import simple
from tests.conftest import ROOT, free_port, run_scheduled
from tests.test_slack import SECRET, slack  # noqa: F401  (the Slack stand-in, a served Relais)

EMMA = "emma.wilson@example.com"


def scrape(url: str, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, by (name, labels), parsed by prometheus_client."""
    answer = httpx.get(url + "/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def queue(
    runtime, member_id: int, key: str, purpose: str = "operational", platform: str = "slack"
) -> int:  # type: ignore[no-untyped-def]
    with session_scope(runtime.engine) as session:
        enqueue(
            session,
            Outgoing(
                member_id=member_id,
                platform=platform,
                dedupe_key=key,
                kind="post" if purpose == "promotional" else "reply",
                message=simple(key),
                purpose=purpose,
            ),
        )
    runtime.worker.kick()
    with Session(runtime.engine) as session:
        return session.exec(select(Delivery.id).where(Delivery.dedupe_key == key)).one()  # type: ignore[return-value]


def status(runtime, delivery_id: int) -> str | None:  # type: ignore[no-untyped-def]
    with Session(runtime.engine) as session:
        row = session.get(Delivery, delivery_id)
        return row.status if row else None


def test_metrics_after_deliveries_429s_a_case_and_scheduled_runs(slack, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from adapters.console.chat import ConsoleChat

    base = slack.url.removesuffix("/slack/events")
    before = scrape(base)
    runtime = slack.runtime
    with Session(runtime.engine) as session:
        emma = session.exec(select(Member.id).where(Member.email == EMMA)).one()

    # Three messages through Slack, which answers the first two calls with 429.
    slack.standin.rate_limited = 2
    sent = [queue(runtime, emma, f"hello-{n}") for n in range(3)]
    slack.wait_for(lambda: all(status(runtime, d) == SENT for d in sent), "three sent")
    # Two promotional ones held by a pause (never claimed): the outbox's depth by purpose.
    pause_promotional(runtime.engine, "a test")
    held = [queue(runtime, emma, f"promo-{n}", "promotional") for n in range(2)]
    # A case reported in chat: open, nobody has it yet.
    ConsoleChat(runtime, "noah.bernard@example.com").type(
        "report https://x.example.com/status/7 a rumour about layoffs and hiring"
    )
    # The rollup job, twice in its minute: it runs once, then the round is done.
    now = utcnow()
    run_scheduled(runtime, "reporting_rollup", now)
    run_scheduled(runtime, "reporting_rollup", now)

    after = scrape(base)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("relais_deliveries_total", platform="slack", result="sent") == 3
    assert grew("relais_deliveries_total", platform="slack", result="throttled") == 2
    assert grew("relais_platform_throttled_total", platform="slack") == 2
    # Every attempt that reached Slack is timed: three sends and two 429s.
    assert grew("relais_send_seconds_count", platform="slack") >= 5
    assert value(after, "relais_send_seconds_bucket", platform="slack", le="+Inf") == value(
        after, "relais_send_seconds_count", platform="slack"
    )
    assert grew("relais_scheduler_runs_total", job="reporting_rollup", outcome="ran") == 1
    assert grew("relais_scheduler_runs_total", job="reporting_rollup", outcome="skipped") == 1

    assert value(after, "relais_database_up") == 1
    assert value(after, "relais_outbox_depth", priority="0", purpose="promotional") == len(held)
    assert value(after, "relais_outbox_depth", priority="0", purpose="operational") == 0
    assert value(after, "relais_cases_open", status="open") == 1
    assert value(after, "relais_cases_open", status="acknowledged") == 0
    assert value(after, "relais_cases_overdue") == 0
    assert value(after, "relais_gauge_capped", gauge="outbox_depth") == 0

    # Two hours later nobody has taken the case: it is overdue.
    with time_machine.travel(utcnow() + timedelta(hours=2), tick=True):
        later = scrape(base)
    assert value(later, "relais_cases_overdue") == 1

    # No secret in what a scraper reads.
    text = httpx.get(base + "/metrics").text
    assert "xoxb-test-token" not in text and SECRET not in text

    # With a token set, only a scraper that sends it reads the metrics.
    monkeypatch.setenv("RELAIS_METRICS_TOKEN", "scrape-me-0123456789")
    assert httpx.get(base + "/metrics").status_code == 401
    wrong = httpx.get(base + "/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert scrape(base, Authorization="Bearer scrape-me-0123456789")


def _serve(programme_dir: Path, database_url: str, env: dict[str, str], port: int):  # type: ignore[no-untyped-def]
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import app; app()", "serve", "--port", str(port)],
        cwd=ROOT,
        env={
            **os.environ,
            "RELAIS_CONFIG": str(programme_dir / "app.yaml"),
            "RELAIS_DATABASE_URL": database_url,
            "RELAIS_LANG": "en",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_json_logs_carry_request_and_delivery_ids_and_no_secret(
    runtime, programme_dir: Path, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    secret = "dashboard-secret-" + "s3cr3t" * 6
    with Session(runtime.engine) as session:
        leaver = session.exec(select(Member).where(Member.email == EMMA)).one()
        leaver.left_at = utcnow()
        session.add(leaver)
        session.commit()
        leaver_id = leaver.id
    text = (programme_dir / "app.yaml").read_text(encoding="utf-8")
    (programme_dir / "app.yaml").write_text(text + "\nlogging:\n  format: json\n", "utf-8")
    port = free_port()
    server = _serve(
        programme_dir,
        database_url,
        {"RELAIS_DASHBOARD_SECRET": secret, "RELAIS_LOG_LEVEL": "INFO"},
        port,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise AssertionError(
                    "relais serve did not start: " + server.communicate()[1][-3000:]
                )
            time.sleep(0.3)
        answer = httpx.get(base + "/healthz", headers={"X-Request-ID": "probe-42"})
        assert answer.headers["x-request-id"] == "probe-42"
        minted = httpx.get(base + "/dashboard/signin/" + "t" * 40)  # a link that never existed
        assert minted.status_code == 403 and len(minted.headers["x-request-id"]) == 32
        # A message to someone who has left: the worker fails it, and says so in the logs.
        failed = queue(runtime, leaver_id, "to-a-leaver", platform="console")
        deadline = time.monotonic() + 30
        while status(runtime, failed) != "failed":
            assert time.monotonic() < deadline, "the worker did not fail the delivery"
            time.sleep(0.3)
        time.sleep(0.5)
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines, err[-2000:]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    probe = [line for line in lines if line.get("request_id") == "probe-42"]
    assert probe and probe[0]["logger"] == "relais.http" and "/healthz 200" in probe[0]["message"]
    signin = [line for line in lines if "/dashboard/signin/{token}" in line["message"]]
    assert signin and len(signin[0]["request_id"]) == 32
    assert "t" * 40 not in err  # the path (a token) is never written, only its route
    delivery = [line for line in lines if line.get("delivery_id") == failed]
    assert delivery and delivery[0]["level"] == "WARNING" and "failed" in delivery[0]["message"]
    assert secret not in err and secret not in out


def test_a_secret_in_a_log_line_is_written_as_stars(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import io
    import logging

    from bot import logs

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-123456-abcdef")
    monkeypatch.setenv(logs.FORMAT_ENV, "json")
    stream = io.StringIO()
    handler = logs.configure(stream=stream)
    logger = logging.getLogger("relais.test.secrets")
    logger.setLevel(logging.INFO)  # whatever level another test left on "relais"
    try:
        logger.warning("calling Slack with %s", "xoxb-123456-abcdef")
        try:
            raise RuntimeError("token xoxb-123456-abcdef refused")
        except RuntimeError:
            logger.exception("it failed")
    finally:
        logging.getLogger().removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    written = stream.getvalue()
    assert "xoxb-123456-abcdef" not in written
    first, second = (json.loads(line) for line in written.splitlines())
    assert first["message"] == "calling Slack with ***"
    assert "token *** refused" in second["exception"]


@pytest.mark.parametrize("value", ["json", "text"])
def test_the_environment_chooses_the_log_format_over_app_yaml(value: str) -> None:
    from bot import logs
    from bot.config import parse_config

    config = parse_config((ROOT / "app.yaml").read_text() + "\nlogging: {format: json}\n")
    assert logs.chosen_format(config, {}) == "json"
    assert logs.chosen_format(config, {logs.FORMAT_ENV: value}) == value
    assert logs.chosen_format(None, {}) == "text"
