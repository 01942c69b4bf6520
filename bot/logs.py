"""Logs: plain text by default, one JSON object per line when asked, never a secret.

``RELAIS_LOG_FORMAT=json`` (or ``logging.format: json`` in app.yaml; the
environment wins) writes each line as a JSON object with the time, level,
logger and message, plus the id of the HTTP request (``request_id``, also
answered in the ``X-Request-ID`` header) or of the delivery (``delivery_id``)
being handled — what a log collector needs to follow one request or one
message across several replicas. In either format, the value of every secret
Relais knows (the variables app.yaml references as ``${NAME}``, the
``RELAIS_*`` secrets, the database password) is replaced by ``***``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import make_url

FORMAT_ENV = "RELAIS_LOG_FORMAT"
LEVEL_ENV = "RELAIS_LOG_LEVEL"
FORMATS = ("text", "json")

REQUEST_ID: ContextVar[str | None] = ContextVar("relais_request_id", default=None)
DELIVERY_ID: ContextVar[int | None] = ContextVar("relais_delivery_id", default=None)

# Variables whose values are secrets even when app.yaml does not name them.
_SECRET_NAME = re.compile(r"(SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|_KEY$|APIKEY)", re.I)
_MIN_SECRET = 6  # shorter values ("1", "true") would blank ordinary words


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the ids of the context."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        delivery_id = DELIVERY_ID.get()
        if delivery_id is not None:
            entry["delivery_id"] = delivery_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain format, with the request or delivery id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id, delivery_id = REQUEST_ID.get(), DELIVERY_ID.get()
        if request_id:
            return f"{line} [request {request_id}]"
        if delivery_id is not None:
            return f"{line} [delivery {delivery_id}]"
        return line


class Redact(logging.Filter):
    """Replaces every known secret value in a record (message and traceback) by ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first: a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        record.msg, record.args = self.scrub(message), None
        if record.exc_info:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True


def known_secrets(config: Any = None, environ: dict[str, str] | None = None) -> set[str]:
    """The values to keep out of every log line: app.yaml's ``${NAME}`` secrets and the like."""
    environ = dict(os.environ if environ is None else environ)
    names = {name for name in environ if _SECRET_NAME.search(name)}
    if config is not None:
        names |= set(_referenced(config.model_dump()))
    found = {environ[name] for name in names if environ.get(name)}
    for name in ("RELAIS_DATABASE_URL", "DATABASE_URL"):
        if environ.get(name):
            try:
                password = make_url(environ[name]).password
            except Exception:  # not a URL: the runtime says so itself
                password = None
            if password:
                found.add(str(password))
    return found


def _referenced(value: Any) -> Iterable[str]:
    """Every ``${NAME}`` a config (dumped to plain data) references."""
    if isinstance(value, str):
        yield from re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _referenced(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _referenced(item)


def chosen_format(config: Any = None, environ: dict[str, str] | None = None) -> str:
    """``json`` or ``text``: the environment's choice, else app.yaml's."""
    value = (os.environ if environ is None else environ).get(FORMAT_ENV, "").strip().lower()
    if value in FORMATS:
        return value
    if config is not None:
        return str(config.logging.format)
    return "text"


def configure(config: Any = None, stream: Any = None) -> logging.Handler:
    """Route every log record through one handler on the root logger, formatted and scrubbed."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if chosen_format(config) == "json" else TextFormatter())
    handler.addFilter(Redact(known_secrets(config)))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "relais", False):
            root.removeHandler(old)
    handler.relais = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(os.environ.get(LEVEL_ENV, "INFO").upper())
    for noisy in ("apscheduler", "alembic", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler


ACCESS = logging.getLogger("relais.http")
_REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestIds:
    """ASGI middleware: each HTTP request gets an id (the caller's ``X-Request-ID`` if it is a
    plain token, else a new one), set for the logs while it runs and answered in the header."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID_SHAPE.fullmatch(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message.get("status", 0))
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # The route's template (/dashboard/signin/{token}), never the path: paths hold tokens.
            route = getattr(scope.get("route"), "path", None) or "(no route)"
            elapsed = (time.perf_counter() - started) * 1000
            ACCESS.info("%s %s %s %.1f ms", scope.get("method", ""), route, status, elapsed)
            REQUEST_ID.reset(token)
