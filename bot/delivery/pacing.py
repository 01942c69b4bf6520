"""Sending at a platform's limit, not past it: a token bucket per workspace or tenant.

One bucket is shared by every send of the process to one workspace (Slack)
or tenant (Teams). It hands out send slots at ``rate`` per second, the
highest priority waiter first, so a crisis alert takes the next slot ahead
of a running campaign. With no configured rate it starts unlimited and
learns: when the platform answers 429, the bucket stops everyone for the
Retry-After the platform gave and sets its rate just under the rate the
platform accepted in the last seconds; after a long quiet stretch it tries a
little faster again. Retries never hide inside the SDK: the worker sees
every 429.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable

LEARNED_MARGIN = 0.97  # run this far under the rate the platform accepted
WINDOW = 2.0  # seconds of accepted sends to measure that rate over
PROBE_AFTER = 60.0  # seconds without a 429 before trying 5 % faster


class TokenBucket:
    """Priority-ordered send slots at a (learned) rate, with Retry-After pauses."""

    def __init__(
        self,
        rate: float | None = None,
        ceiling: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.ceiling = ceiling if ceiling is not None else rate
        self.configured = rate  # the workspace's whole limit; ``share`` scales it
        self.share = 1.0
        self._clock = clock
        self._next_slot = 0.0
        self.paused_until = 0.0
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._dispatcher: asyncio.Task[None] | None = None
        self._accepted: deque[float] = deque()
        self._last_throttle = 0.0
        self.throttles = 0

    # --- taking a slot --------------------------------------------------------------

    async def acquire(self, priority: int = 0) -> None:
        """Wait for a send slot; a higher ``priority`` is served first."""
        now = self._clock()
        if not self._waiters and now >= self.paused_until:
            if self.rate is None:
                return
            if now >= self._next_slot:
                self._next_slot = now + 1.0 / self.rate
                return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (-priority, next(self._seq), future))
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch())
        try:
            await future
        except asyncio.CancelledError:
            if not future.done():
                future.cancel()
            raise

    async def _dispatch(self) -> None:
        while self._waiters:
            now = self._clock()
            ready = max(self.paused_until, self._next_slot if self.rate else 0.0)
            if now < ready:
                # Short naps: a pause may move, a higher priority may come in meanwhile.
                await asyncio.sleep(min(ready - now, 0.05))
                continue  # a pause may have moved, a higher priority may have come
            _, _, future = heapq.heappop(self._waiters)
            if future.done():
                continue
            future.set_result(None)
            if self.rate:
                self._next_slot = max(now, self._next_slot) + 1.0 / self.rate
            else:
                await asyncio.sleep(0)

    # --- the fleet ---------------------------------------------------------------------

    def set_share(self, share: float) -> None:
        """Send at ``share`` of the configured rate: the other replicas take the rest.

        A learned rate (no configured one) is this replica's own measure and stays.
        """
        share = min(1.0, max(0.01, share))
        if share == self.share or self.configured is None:
            self.share = share
            return
        # Keep what was learned below the configured rate, in proportion.
        learned = (self.rate or self.configured) / (self.configured * self.share)
        self.share = share
        self.ceiling = self.configured * share
        self.rate = min(self.ceiling, self.ceiling * learned)

    def hold(self, seconds: float) -> None:
        """Another replica was told 'too many': nobody here sends for ``seconds`` either."""
        until = self._clock() + max(0.0, seconds)
        if until > self.paused_until:
            self.paused_until = until
            self._next_slot = max(self._next_slot, until)

    # --- learning ----------------------------------------------------------------------

    def accepted(self) -> None:
        """The platform took a send: counts towards the measured rate."""
        now = self._clock()
        self._accepted.append(now)
        while self._accepted and self._accepted[0] < now - WINDOW:
            self._accepted.popleft()
        if (
            self.rate is not None
            and self._last_throttle
            and now - self._last_throttle > PROBE_AFTER
            and (self.ceiling is None or self.rate < self.ceiling)
        ):
            self.rate = (
                self.rate * 1.05 if self.ceiling is None else min(self.ceiling, self.rate * 1.05)
            )
            self._last_throttle = now

    def throttled(self, retry_after: float) -> None:
        """The platform said 429: everyone waits Retry-After, and the rate drops under the accepted one."""
        now = self._clock()
        self.throttles += 1
        if now < self.paused_until:
            return  # a send that was already in flight: learned from the first one
        self.paused_until = now + max(0.0, retry_after)
        while self._accepted and self._accepted[0] < now - WINDOW:
            self._accepted.popleft()
        self._last_throttle = now
        self._next_slot = self.paused_until
        if len(self._accepted) < 5:
            return  # too little seen to learn a rate from: the pause alone
        span = max(1.0, now - self._accepted[0])
        learned = max(1.0, len(self._accepted) / span * LEARNED_MARGIN)
        if self.rate is not None:
            learned = min(learned, self.rate * LEARNED_MARGIN)
        self.rate = learned
        self._last_throttle = now
        self._next_slot = self.paused_until
