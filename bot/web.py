"""`relais serve`: the HTTP face of Relais (FastAPI), the worker and the scheduler.

Platform adapters add their endpoints (``POST /slack/events``,
``POST /api/messages``) through ``Platform.mount``. Those are reachable without
credentials, so they read bodies through ``read_body``: at most ``MAX_BODY``
bytes are ever read (413 beyond), and no raw body is ever logged. The app has
no public API documentation (``/docs``, ``/redoc``, ``/openapi.json``).
"""

from __future__ import annotations

import asyncio
import hmac
import importlib
import logging
import os
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlmodel import Session

from bot import __version__, metrics
from bot.db import ping
from bot.delivery.outbox import queue_health
from bot.logs import RequestIds
from bot.runtime import Runtime
from bot.scheduler import ProgrammeScheduler

log = logging.getLogger("relais.web")

# The most any unauthenticated endpoint reads of a request body (Slack's and Teams'
# own requests are a few kilobytes).
MAX_BODY = 1024 * 1024
METRICS_TOKEN_ENV = "RELAIS_METRICS_TOKEN"


class BodyTooLarge(Exception):
    """The request body is larger than the endpoint accepts."""


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, read as it streams in; past ``limit`` bytes, stop reading and raise.

    A ``Content-Length`` above the limit is refused before anything is read.
    """
    declared = request.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(limit: int = MAX_BODY) -> JSONResponse:
    return JSONResponse({"error": f"request body larger than {limit} bytes"}, status_code=413)


class BodyLimit:
    """ASGI middleware: no endpoint, present or future, reads more than ``limit`` bytes.

    A declared ``Content-Length`` above the limit is answered 413 before the
    endpoint runs; a streamed body (no length) raises ``BodyTooLarge`` in the
    endpoint as soon as it passes the limit (``read_body`` answers 413; an
    endpoint that reads no body never sees it).
    """

    def __init__(self, app: Any, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > self.limit:
            await too_large(self.limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def limited() -> Any:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        async def watched(message: Any) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, watched)
        except BodyTooLarge:
            if not started:
                await too_large(self.limit)(scope, receive, send)


def _outbox_counts(runtime: Runtime) -> dict[str, object]:
    with Session(runtime.engine) as session:
        return queue_health(session)


def create_app(runtime: Runtime, run_scheduler: bool = True) -> FastAPI:
    """The web app; its lifespan runs the delivery worker and the scheduler."""
    state: dict[str, object] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        worker = runtime.worker
        scheduler = ProgrammeScheduler(runtime, wake=lambda: loop.call_soon_threadsafe(worker.kick))
        for platform in runtime.platforms.values():
            await platform.start()
        task = asyncio.create_task(worker.run(), name="relais-delivery")
        if run_scheduler:
            scheduler.start()
        state["scheduler"] = scheduler
        try:
            yield
        finally:
            for platform in runtime.platforms.values():
                await platform.settle()  # what was acknowledged is handled, its replies queued
            scheduler.shutdown()
            worker.stop()
            with suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)
            for platform in runtime.platforms.values():
                await platform.stop()

    # No public API documentation: nothing here is meant to be explored by strangers.
    app = FastAPI(
        title="Relais",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.runtime = runtime
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(RequestIds)

    @app.get("/metrics")
    async def metrics_page(request: Request) -> Response:
        """Prometheus' text format: this process's counters, the database's gauges.

        With ``RELAIS_METRICS_TOKEN`` set, only a scraper sending it as a bearer token reads it.
        """
        expected = os.environ.get(METRICS_TOKEN_ENV, "")
        if expected:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), expected.encode()):
                return Response("metrics need the bearer token\n", status_code=401)
        body = await asyncio.to_thread(metrics.exposition, runtime.engine)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """Database reachable, content loaded, scheduler running: 200, else 503."""
        scheduler = state.get("scheduler")
        database = await asyncio.to_thread(ping, runtime.engine)
        content = runtime.relais.content.counts()
        checks = {
            "database": database,
            "content": content["lessons"] > 0,
            "scheduler": bool(scheduler and scheduler.running) or not run_scheduler,  # type: ignore[attr-defined]
        }
        outbox = await asyncio.to_thread(_outbox_counts, runtime) if database else {}
        body = {
            "status": "ok" if all(checks.values()) else "failing",
            "outbox": outbox,
            "worker_last_cycle": runtime.worker.last_cycle_at.isoformat()
            if runtime.worker.last_cycle_at
            else None,
            "checks": checks,
            "content": content,
            "content_problems": len(runtime.watcher.last_problems),
            # A platform in outage (e.g. a revoked token) shows here, and recovers with a send.
            "platforms": {
                name: {**platform.health(), **runtime.worker.platform_health(name)}
                for name, platform in runtime.platforms.items()
            },
            "version": __version__,
        }
        return JSONResponse(body, status_code=200 if all(checks.values()) else 503)

    for platform in runtime.platforms.values():
        platform.mount(app)
    for views in capability_views():
        views.mount(app, runtime)
    return app


def capability_views() -> list[object]:
    """Every ``bot/<capability>/views.py`` with a ``mount(app, runtime)`` (e.g. ``/s/<token>``)."""

    import bot

    found = []
    for module in sorted(pkgutil.iter_modules(bot.__path__), key=lambda m: m.name):
        if not module.ispkg:
            continue
        name = f"bot.{module.name}.views"
        try:
            views = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        if callable(getattr(views, "mount", None)):
            found.append(views)
    return found
