"""Sending within Teams' limits: local pacing, and what to do when Teams says no.

Teams throttles a bot per conversation (about 7 messages a second, 8 in two
seconds, 60 in thirty seconds, 1,800 an hour) and per tenant (about 50
requests a second for one app), and answers HTTP 429 beyond that, sometimes
412, 502 or 504 when busy. The pacer keeps this process under those figures
(each replica paces itself; Teams' 429s still cover several replicas), waits
briefly in line when a slot is near, and otherwise hands the delivery back to
the worker to retry later: a delivery is never dropped for a limit.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from bot.platforms import SendResult

# (window in seconds, most sends in it)
CONVERSATION_LIMITS: tuple[tuple[float, int], ...] = (
    (1.0, 7),
    (2.0, 8),
    (30.0, 60),
    (3600.0, 1800),
)
TENANT_LIMITS: tuple[tuple[float, int], ...] = ((1.0, 50),)
# Statuses worth another try: throttled, busy, or a passing fault on Teams' side.
RETRY_STATUSES = frozenset({408, 412, 429, 500, 502, 503, 504})
# The bot's own credentials were refused: an operator fixes it; keep the message meanwhile.
CREDENTIALS_RETRY_SECONDS = 300.0
MAX_RETRY_AFTER = 3600.0


class Pacer:
    """Sliding-window send slots per key (a conversation, a tenant), in this process."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, remembered: int = 50_000
    ) -> None:
        self._clock = clock
        self._sent: OrderedDict[str, deque[float]] = OrderedDict()
        self._paused: dict[str, float] = {}
        self._remembered = remembered

    def _earliest(self, key: str, limits: tuple[tuple[float, int], ...], start: float) -> float:
        moment = max(start, self._paused.get(key, 0.0))
        stamps = self._sent.get(key)
        if not stamps:
            return moment
        for _ in range(8):  # each pass can only move later; a few passes settle it
            moved = False
            for window, most in limits:
                inside = [stamp for stamp in stamps if stamp > moment - window]
                if len(inside) >= most:
                    candidate = inside[len(inside) - most] + window
                    if candidate > moment:
                        moment, moved = candidate, True
            if not moved:
                break
        return moment

    def delay(self, keys: dict[str, tuple[tuple[float, int], ...]]) -> float:
        """Seconds until a send to all these keys fits their limits (0: now)."""
        now = self._clock()
        moment = now
        for _ in range(4):
            latest = max(self._earliest(key, limits, moment) for key, limits in keys.items())
            if latest == moment:
                break
            moment = latest
        return max(0.0, moment - now)

    def reserve(self, keys: dict[str, tuple[tuple[float, int], ...]]) -> float:
        """Take the earliest common slot; return how long to wait for it."""
        wait = self.delay(keys)
        now = self._clock()
        slot = now + wait
        for key, limits in keys.items():
            stamps = self._sent.setdefault(key, deque())
            self._sent.move_to_end(key)
            stamps.append(slot)
            horizon = now - max(window for window, _ in limits)
            while stamps and stamps[0] <= horizon:
                stamps.popleft()
        while len(self._sent) > self._remembered:
            self._sent.popitem(last=False)
        return wait

    def pause(self, key: str, seconds: float) -> None:
        """Teams said 'too many' for this key: hold every send to it for a while."""
        until = self._clock() + seconds
        self._paused[key] = max(until, self._paused.get(key, 0.0))
        if len(self._paused) > self._remembered:
            now = self._clock()
            self._paused = {k: v for k, v in self._paused.items() if v > now}


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (it may be a number of seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - time.time()
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def later(after: float | None, reason: str) -> SendResult:
    """A retry: after Teams' Retry-After (plus a little jitter), else the worker's backoff."""
    if after is None:
        return SendResult(status="retry", error=reason)  # the worker backs off with jitter
    return SendResult.retry(after + random.uniform(0.0, 0.1 * after + 0.05), reason)


def classify(status: int, retry_after: str | None, detail: str = "") -> SendResult:
    """What a refusal from the Bot Connector means for the delivery."""
    reason = f"Teams answered HTTP {status}" + (f": {detail}" if detail else "")
    if status in RETRY_STATUSES:
        return later(parse_retry_after(retry_after), reason)
    if status == 401:
        return SendResult.retry(
            CREDENTIALS_RETRY_SECONDS, reason + " (check the bot's app id and secret)"
        )
    if status in (403, 404):
        return SendResult.failed(
            reason + " (the member may have removed the app, or the conversation is gone)"
        )
    return SendResult.failed(reason)
