"""Shared fixtures: real SQLite files, a real PostgreSQL database per run, the demo programme.

PostgreSQL tests run when RELAIS_TEST_POSTGRES_URL names a server (a fresh
database is created on it for the run and dropped after); otherwise they are
skipped with the reason shown. With RELAIS_REQUIRE_POSTGRES=1 (CI) a skipped
PostgreSQL test fails the run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "app.yaml"
DEMO_CONTENT = ROOT / "content"
DEMO_MEMBERS = ROOT / "demo" / "members.csv"
PG_ENV = "RELAIS_TEST_POSTGRES_URL"

_skipped_postgres: list[str] = []


@pytest.fixture(autouse=True)
def _english_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read messages in English unless they choose otherwise."""
    monkeypatch.setenv("RELAIS_LANG", "en")
    monkeypatch.delenv("RELAIS_DATABASE_URL", raising=False)
    monkeypatch.delenv("RELAIS_CONFIG", raising=False)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(
            f"PostgreSQL tests need {PG_ENV}, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        pytest.skip(
            f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} is not reachable: {exc}"
        )
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A brand-new PostgreSQL database for one test, dropped afterwards."""
    name = f"relais_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs on a real SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'relais.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def programme_dir(tmp_path: Path) -> Path:
    """A copy of the demo programme (app.yaml + content/) that a test may change."""
    target = tmp_path / "programme"
    target.mkdir()
    shutil.copy(DEMO_CONFIG, target / "app.yaml")
    shutil.copytree(DEMO_CONTENT, target / "content")
    return target


@pytest.fixture
def runtime_factory(programme_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Build a Runtime on the demo programme, with the demo members imported."""
    from bot.members.importer import import_members
    from bot.runtime import build_runtime

    built = []

    def build(url: str | None = None, members: bool = True):  # type: ignore[no-untyped-def]
        url = url or f"sqlite:///{tmp_path / 'relais.db'}"
        runtime = build_runtime(programme_dir / "app.yaml", url, auto_upgrade=True)
        if members:
            report = import_members(runtime.engine, DEMO_MEMBERS, runtime.config)
            assert not report.problems, report.problems
        built.append(runtime)
        return runtime

    yield build
    for runtime in built:
        runtime.engine.dispose()


@pytest.fixture
def runtime(runtime_factory, database_url):  # type: ignore[no-untyped-def]
    return runtime_factory(database_url)


@pytest.fixture
def chat(runtime) -> Callable[[str], object]:  # type: ignore[no-untyped-def]
    """chat('karim.benali@example.com') -> a console conversation as that member."""
    from adapters.console.chat import ConsoleChat

    return lambda email: ConsoleChat(runtime, email)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgres" in report.keywords:
        _skipped_postgres.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("RELAIS_REQUIRE_POSTGRES") == "1" and _skipped_postgres:
        print(
            f"\n{len(_skipped_postgres)} PostgreSQL test(s) were skipped but RELAIS_REQUIRE_POSTGRES=1:"
        )
        for nodeid in _skipped_postgres[:10]:
            print(f"  {nodeid}")
        session.exitstatus = 1


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LoopbackServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a thread, for the length of a test."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )

    def __enter__(self) -> LoopbackServer:
        import threading
        import time

        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.server.started, "server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


def run_scheduled(runtime, job_id: str, now) -> int:  # type: ignore[no-untyped-def]
    """Run a scheduled job exactly as the scheduler's APScheduler would, with the clock at ``now``."""
    import time_machine

    from bot.scheduler import ProgrammeScheduler

    scheduler = ProgrammeScheduler(runtime, wake=lambda: None)
    job = scheduler.scheduler.get_job(job_id)
    assert job is not None, f"no scheduled job {job_id!r}"
    with time_machine.travel(now, tick=False):
        return job.func()


def platform_id(engine, email: str, platform: str) -> str | None:  # type: ignore[no-untyped-def]
    """The member's id on a platform, as Relais keeps it (in their address there)."""
    from sqlmodel import Session, select

    from bot.members.models import Address, Member

    with Session(engine) as session:
        return session.exec(
            select(Address.user_id)
            .join(Member, Member.id == Address.member_id)
            .where(Member.email == email, Address.platform == platform)
        ).first()


def pin_triage(monkeypatch, category: str, severity: str = "normal") -> None:  # type: ignore[no-untyped-def]
    """Make triage give one answer, for tests about what happens to a case, not how it is triaged."""
    from bot.response import triage
    from bot.triage import service

    def classify(session, text: str, *, reporters: int = 1, language: str | None = None):  # type: ignore[no-untyped-def]
        return triage.Triage(category=category, severity=severity, reasons=[f"pinned → {category}"])

    monkeypatch.setattr(service, "classify", classify)


# Property-based tests (hypothesis) run on a bounded budget: "ci" by default, "deep" to dig
# (HYPOTHESIS_PROFILE=deep .venv/bin/pytest tests/test_fuzz.py).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
