"""Benchmark: a campaign to N members with `relais campaign send --wait`, then its withdrawal.

A stand-in Slack Web API on 127.0.0.1 enforces one rate (token bucket, 429 with
Retry-After past it) on chat.postMessage and on chat.update alike. The real
command line runs as a separate process, exactly as an operator types it:

- `relais campaign send winter-energy-guide --to all --wait`: wall time from
  start to exit (queueing included) against the floor N / rate; members who got
  nothing (lost) and members who got it twice (doubled);
- `relais campaign withdraw winter-energy-guide --wait`: wall time until every
  message is retracted (updated in place) against the same floor.

Every member has accepted the charter, so each message carries three share links.

    .venv/bin/python benchmarks/campaign.py [--members 10000] [--rate 200] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import member_rows, slack_app_yaml, slack_env, with_postgres  # noqa: E402
from bot.charter.models import CharterAcknowledgement  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.db import make_engine, session_scope, upgrade  # noqa: E402
from bot.members.models import Address, Member  # noqa: E402
from tests.conftest import LoopbackServer  # noqa: E402
from tests.slack_standin import SlackStandIn  # noqa: E402

POST = "winter-energy-guide"
RELAIS = str(Path(sys.executable).parent / "relais")


class RateLimitedSlack(SlackStandIn):
    """The stand-in, with chat.update held to the same rate as chat.postMessage."""

    def __init__(self, rate: float) -> None:
        super().__init__({})
        self.post_rate = rate
        self.update_rate = rate
        self._update_tokens = rate
        self._update_refilled = time.monotonic()
        self.update_throttled = 0

    async def call(self, method: str, request: Request) -> JSONResponse:
        if method == "chat.update":
            with self._lock:
                now = time.monotonic()
                self._update_tokens = min(
                    self.update_rate,
                    self._update_tokens + (now - self._update_refilled) * self.update_rate,
                )
                self._update_refilled = now
                if self._update_tokens < 1.0:
                    self.update_throttled += 1
                    return JSONResponse(
                        {"ok": False, "error": "ratelimited"},
                        status_code=429,
                        headers={"Retry-After": "1"},
                    )
                self._update_tokens -= 1.0
        return await super().call(method, request)


def programme(folder: Path) -> Path:
    """The demo programme with Slack enabled and no quiet hours (the benchmark runs any time)."""
    config = slack_app_yaml(folder)
    shutil.copytree(ROOT / "content", folder / "content")
    text_ = config.read_text(encoding="utf-8")
    text_ = text_.replace('  quiet_hours: { start: "19:00", end: "08:30" }\n', "")
    text_ = text_.replace("[mon, tue, wed, thu, fri]", "[mon, tue, wed, thu, fri, sat, sun]")
    text_ = text_.replace("  console:\n    enabled: true", "  console:\n    enabled: false")
    config.write_text(text_, encoding="utf-8")
    return config


def members(url: str, config_file: Path, count: int) -> None:
    config = load_config(config_file)
    departments = [d.id for d in config.departments]
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        session.connection().execute(
            Member.__table__.insert(),  # type: ignore[attr-defined]
            member_rows(
                count,
                department=lambda n: departments[n % len(departments)],
                language=lambda n: ("fr", "en")[n % 2],
            ),
        )
    with session_scope(engine) as session:
        ids = list(session.execute(select(Member.id).order_by(Member.id)).scalars())
        session.connection().execute(
            Address.__table__.insert(),  # type: ignore[attr-defined]
            [
                {"member_id": member_id, "platform": "slack", "user_id": f"U{n:08d}"}
                for n, member_id in enumerate(ids)
            ],
        )
        session.connection().execute(
            CharterAcknowledgement.__table__.insert(),  # type: ignore[attr-defined]
            [
                {"member_id": member_id, "version": 2, "language": "en", "platform": "slack"}
                for member_id in ids
            ],
        )
    engine.dispose()


CPU = {"relais": 0.0, "standin": 0.0}  # seconds of CPU of the last command, and of the stand-in


def timed(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall time of one `relais` command; its CPU time and the stand-in's go to ``CPU``.

    On a shared machine the wall time depends on what else runs: the CPU each side spent
    per message does not, and says where the time goes.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    mine = time.process_time()  # this process only serves the stand-in meanwhile
    started = time.perf_counter()
    done = subprocess.run([RELAIS, *args], env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU["relais"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU["standin"] = time.process_time() - mine
    if done.returncode != 0:
        raise SystemExit(f"relais {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def cpu_text(count: int) -> str:
    return (
        f"CPU/msg {1000 * CPU['relais'] / count:.2f} ms relais + "
        f"{1000 * CPU['standin'] / count:.2f} ms stand-in"
    )


def run(label: str, url: str, count: int, rate: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config_file = programme(Path(tmp))
        members(url, config_file, count)
        standin = RateLimitedSlack(rate)
        with LoopbackServer(standin.app) as api:
            env = {
                **os.environ,
                "RELAIS_DATABASE_URL": url,
                "RELAIS_CONFIG": str(config_file),
                "RELAIS_LANG": "en",
                **slack_env(f"{api.url}/api/", secret="bench-secret"),
            }
            env.pop("SLACK_APP_TOKEN", None)
            floor = count / rate
            wall, _ = timed(["campaign", "send", POST, "--to", "all", "--wait"], env)
            channels = Counter(post["channel"] for post in standin.posted)
            lost = count - len(channels)
            doubled = sum(n - 1 for n in channels.values())
            print(
                f"{label:<10} send {count} (Slack at {rate:.0f}/s): {wall:6.1f} s = "
                f"{wall / floor:4.2f}x the floor ({floor:.1f} s); lost {lost}, doubled {doubled}; "
                f"{standin.throttled} 429s; {cpu_text(count)}"
            )
            wall, _ = timed(["campaign", "withdraw", POST, "--wait"], env)
            with standin._lock:
                edited = sum(1 for post in standin.posted if post.get("edited"))
                still_shared = sum(1 for post in standin.posted if "/s/" in str(post.get("blocks")))
            print(
                f"{label:<10} withdraw: every message retracted in {wall:6.1f} s = "
                f"{wall / floor:4.2f}x the floor ({floor:.1f} s); updated {edited}, "
                f"still showing share links {still_shared}; {standin.update_throttled} 429s; "
                f"{cpu_text(count)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0, help="the stand-in's limit, per s")
    parser.add_argument("--postgres", default=os.environ.get("RELAIS_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'campaign.db'}", args.members, args.rate)
    if args.postgres:
        with_postgres(args.postgres, lambda url: run("postgresql", url, args.members, args.rate))
    else:
        print("postgresql skipped: pass --postgres URL or set RELAIS_BENCH_POSTGRES_URL")


if __name__ == "__main__":
    main()
