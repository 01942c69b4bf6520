"""The programme's performance table, in one command.

    .venv/bin/python benchmarks/programme.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test [--quick]

Each figure sits beside its baseline or floor from the same run (absolute
times vary from one machine, and one minute, to the next):

| measure | how |
|---|---|
| campaign wall / rate-limit floor | ``benchmarks/campaign.py``: ``relais campaign send --wait`` to 10,000 members |
| unthrottled deliveries vs a bare ``slack_sdk`` loop | ``benchmarks/delivery.py --only unthrottled`` |
| crisis alert vs its floor during a campaign | ``benchmarks/delivery.py --only priority`` |
| stats p95 at 100k members / 10M events | ``benchmarks/stats.py`` |
| ack of signed button clicks at 200 requests/s during a campaign, p50/p99 | here: a real ``relais serve`` |
| RSS of ``relais serve`` idle, and during a 100k-member campaign | here: ``/proc/<pid>/status`` |

The scripts above run as child processes (their own output is kept in the
table's footnotes when a figure cannot be read from it); the last two rows are
measured here against ``relais serve`` in its own process, Slack enabled, the
stand-in Slack Web API in another process, on PostgreSQL (SQLite without
``--postgres``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from campaign import members as add_members  # noqa: E402
from campaign import programme  # noqa: E402
from delivery import StandIn  # noqa: E402

from benchmarks.harness import campaign_posts, throwaway_database  # noqa: E402
from bot.campaigns.service import SHARED_ACTION  # noqa: E402
from bot.db import make_engine, session_scope  # noqa: E402
from bot.delivery.outbox import enqueue_many  # noqa: E402
from bot.members.models import Member  # noqa: E402
from bot.messages import Actions, Button, Message, Section  # noqa: E402
from tests.conftest import free_port  # noqa: E402

SECRET = "bench-signing-secret"
PYTHON = sys.executable
RELAIS = str(Path(sys.executable).parent / "relais")


# --- the figures other scripts print --------------------------------------------------------


def script(args: list[str], timeout: float) -> str:
    """Run a benchmark script; its whole output (the table quotes what it cannot parse)."""
    done = subprocess.run(
        [PYTHON, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    return done.stdout + done.stderr


def found(pattern: str, output: str) -> re.Match[str] | None:
    return re.search(pattern, output, flags=re.MULTILINE)


# --- ack latency and memory of a real `relais serve` ------------------------------------------


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def signed(body: str) -> dict[str, str]:
    """Headers exactly as Slack signs a request (v0, HMAC-SHA256 of v0:timestamp:body)."""
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def click(user: str, n: int) -> str:
    """A block_actions payload: the member presses "I shared it" under a post."""
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": user, "team_id": "T0001"},
        "api_app_id": "A0001",
        "trigger_id": f"trigger-{n}",
        "container": {"type": "message", "channel_id": f"D{user[1:]}", "message_ts": "1.0"},
        "channel": {"id": f"D{user[1:]}"},
        "response_url": "",
        "actions": [
            {
                "type": "button",
                "action_id": SHARED_ACTION,
                "block_id": "b1",
                "value": "bench-post",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return "payload=" + urllib.parse.quote(json.dumps(payload))


async def clicks_at(base: str, rate: float, seconds: float, users: list[str]) -> list[float]:
    """Signed clicks at ``rate`` per second (on a fixed schedule, not one after another)."""
    latencies: list[float] = []
    async with httpx.AsyncClient(
        base_url=base, timeout=10, limits=httpx.Limits(max_connections=400)
    ) as client:

        async def one(n: int) -> None:
            body = click(users[n % len(users)], n)
            started = time.perf_counter()
            try:
                answer = await client.post("/slack/events", content=body, headers=signed(body))
            except httpx.HTTPError:
                return  # counted as not answered
            if answer.status_code == 200:
                latencies.append(time.perf_counter() - started)

        tasks = []
        start = time.perf_counter()
        for n in range(int(rate * seconds)):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return latencies


def serve_measures(
    url: str, members: int, rate: float, click_rate: float, seconds: float
) -> dict[str, Any]:
    """``relais serve`` idle RSS; then a campaign queued to ``members``: RSS while it sends,
    and the ack latency of signed clicks at ``click_rate``/s meanwhile."""
    with tempfile.TemporaryDirectory() as tmp, StandIn() as standin:
        config_file = programme(Path(tmp))
        add_members(url, config_file, members)
        standin.configure(post_rate=rate)
        port = free_port()
        env = {
            **os.environ,
            "RELAIS_DATABASE_URL": url,
            "RELAIS_CONFIG": str(config_file),
            "RELAIS_LANG": "en",
            "RELAIS_LOG_LEVEL": "WARNING",
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": standin.api,
        }
        env.pop("SLACK_APP_TOKEN", None)
        process = subprocess.Popen(
            [RELAIS, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code < 500:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("relais serve did not start")
                time.sleep(0.2)
            time.sleep(3)  # the scheduler's first round, then idle
            idle = rss_mib(process.pid)

            engine = make_engine(url)
            message = Message(
                text="A post to share",
                blocks=[
                    Section(text="A post to share: " + "winter energy guide " * 10),
                    Actions(
                        buttons=[
                            Button(label="I shared it", action_id=SHARED_ACTION, value="bench-post")
                        ]
                    ),
                ],
            )
            with session_scope(engine) as session:
                ids = session.execute(select(Member.id)).scalars().all()
                enqueue_many(session, campaign_posts(ids, message, subject="bench-post"))
            process_peak = rss_mib(process.pid)
            # The load generator's own heap (100,000 queued messages built here) must not
            # pause it mid-measure: a full collection of it took seconds, counted as ack time.
            gc.collect()
            gc.freeze()
            users = [f"U{n:08d}" for n in range(min(members, 5000))]
            cpu_before = cpu_seconds(process.pid)
            latencies = asyncio.run(clicks_at(base, click_rate, seconds, users))
            cpu_during = cpu_seconds(process.pid) - cpu_before
            process_peak = max(process_peak, rss_mib(process.pid))
            for _ in range(20):  # and while the campaign goes on
                time.sleep(0.25)
                process_peak = max(process_peak, rss_mib(process.pid))
            with engine.connect() as connection:
                sent = connection.execute(
                    text(
                        "SELECT count(*) FROM delivery WHERE status = 'sent' AND campaign = 'bench'"
                    )
                ).scalar_one()
            engine.dispose()
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    latencies.sort()
    asked = int(click_rate * seconds)
    return {
        "idle": idle,
        "during": process_peak,
        "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99": latencies[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else float("nan"),
        "answered": len(latencies),
        "asked": asked,
        "sent": sent,
        "cpu_share": cpu_during / seconds,
    }


@contextmanager
def fresh_database(server: str | None) -> Iterator[str]:
    """A throw-away database on the PostgreSQL ``server``, or a new SQLite file without one."""
    if not server:
        yield f"sqlite:///{Path(tempfile.mkdtemp()) / 'relais-bench.db'}"
        return
    with throwaway_database(server) as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("RELAIS_BENCH_POSTGRES_URL"))
    parser.add_argument("--quick", action="store_true", help="about a tenth of every size")
    parser.add_argument(
        "--skip", default="", help="rows to leave out: campaign,delivery,stats,serve"
    )
    parser.add_argument(
        "--stats-keep",
        metavar="NAME",
        help="stats.py's --keep: fill the database NAME once (about 20 minutes), reuse it after",
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    pg = ["--postgres", args.postgres] if args.postgres else []
    db = "PostgreSQL" if args.postgres else "SQLite"
    campaign_members = 1_000 if args.quick else 10_000
    serve_members = 10_000 if args.quick else 100_000
    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []

    def row(measure: str, figure: str, target: str, met: bool | None) -> None:
        rows.append((measure, figure, target, "yes" if met else ("no" if met is False else "-")))
        print(f"  {measure}: {figure}", flush=True)

    if "campaign" not in skip:
        out = script(["benchmarks/campaign.py", "--members", str(campaign_members), *pg], 3600)
        label = "postgresql" if args.postgres else "sqlite"
        match = found(
            rf"^{label}\s+send .*?= +([\d.]+)x the floor.*?lost (\d+), doubled (\d+)", out
        )
        if match:
            ratio = float(match.group(1))
            row(
                f"campaign to {campaign_members:,} (wall / floor), {db}",
                f"{ratio:.2f}x; lost {match.group(2)}, doubled {match.group(3)}",
                "<= 1.05x",
                ratio <= 1.05,
            )
        else:
            notes.append("campaign.py:\n" + out[-2000:])
    if "delivery" not in skip:
        out = script(["benchmarks/delivery.py", "--only", "unthrottled,priority", *pg], 3600)
        for label in ("sqlite", "postgresql"):
            match = found(rf"^{label}\s+unthrottled: ratio ([\d.]+)x the best bare loop", out)
            if match:
                ratio = float(match.group(1))
                row(
                    f"unthrottled vs bare slack_sdk loop, {label}",
                    f"{ratio:.2f}x",
                    ">= 1.0x",
                    ratio >= 1.0,
                )
            match = found(
                rf"^{label}\s+priority: alert .*? delivered in ([\d.]+) s; floor ([\d.]+) s, target <= ([\d.]+) s",
                out,
            )
            if match:
                took, floor, target = (float(g) for g in match.groups())
                row(
                    f"crisis alert during a campaign, {label}",
                    f"{took:.2f} s (floor {floor:.2f} s)",
                    f"<= {target:.2f} s",
                    took <= target,
                )
        if not found(r"unthrottled: ratio", out):
            notes.append("delivery.py:\n" + out[-2000:])
    if "stats" not in skip and args.postgres:
        sizes = ["--quick"] if args.quick else []
        keep = ["--keep", args.stats_keep] if args.stats_keep else []
        out = script(["benchmarks/stats.py", "--no-sqlite", *sizes, *keep, *pg], 7200)
        p95s = [
            float(m.group(2))
            for m in re.finditer(
                r"^  (overview|department view|digest)[^\n]*?([\d.]+)\s*$", out, re.M
            )
        ]
        if p95s:
            worst = max(p95s)
            row(
                "stats p95 (overview, department, digest), PostgreSQL",
                f"{worst:.0f} ms (worst of three)",
                "< 200 ms",
                worst < 200,
            )
        else:
            notes.append("stats.py:\n" + out[-2000:])
    if "serve" not in skip:
        with fresh_database(args.postgres) as url:
            figures = serve_measures(url, serve_members, rate=200, click_rate=200, seconds=10)
        row(
            f"ack of signed clicks at 200/s during a campaign, {db}",
            f"p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms "
            f"({figures['answered']}/{figures['asked']} answered 200; relais serve used "
            f"{figures['cpu_share']:.0%} of a core meanwhile)",
            "p99 < 50 ms",
            figures["p99"] < 50 and figures["answered"] == figures["asked"],
        )
        row(
            "RSS of relais serve, idle",
            f"{figures['idle']:.0f} MiB",
            "< 150 MB",
            figures["idle"] * 1.048576 < 150,
        )
        row(
            f"RSS of relais serve, {serve_members:,}-member campaign sending",
            f"{figures['during']:.0f} MiB ({figures['sent']:,} sent meanwhile)",
            "< 300 MB",
            figures["during"] * 1.048576 < 300,
        )

    print("\n| measure | figure | target | met |\n|---|---|---|---|")
    for measure, figure, target, met in rows:
        print(f"| {measure} | {figure} | {target} | {met} |")
    for note in notes:
        print("\nCould not read a figure; the script said:\n" + note)


if __name__ == "__main__":
    main()
