"""Thread lanes: the core's blocking work runs off the event loop, in few threads.

Python threads share one GIL. Every thread busy in the core (SQLAlchemy, the
database driver, rendering) takes turns from the event loop, which is what
acknowledges Slack and Teams requests and paces sends. With asyncio's default
executor a burst of clicks ran in up to six threads at once and the loop got
one turn in seven: acknowledgements waited seconds. Here each kind of work has
its own small pool, so a burst queues in its lane instead of in the GIL:

- ``INBOUND``: chat events handled by the core (clicks, commands, messages);
- ``DELIVERY``: the delivery worker's database trips (claim, record, renew).

The context (request or delivery id of the JSON logs) follows the work into
the thread, as ``asyncio.to_thread`` does.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

# Two threads each: one can wait on the database while the other computes, and no more
# than two compete with the event loop for the GIL.
THREADS = 2
INBOUND = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="relais-inbound")
DELIVERY = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="relais-delivery")


async def run_in(
    lane: ThreadPoolExecutor, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs
) -> R:
    """``fn(*args, **kwargs)`` in ``lane``'s threads, with the caller's context."""
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await loop.run_in_executor(lane, call)


async def inbound(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """The core's handling of one chat event."""
    return await run_in(INBOUND, fn, *args, **kwargs)


async def delivery(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """One of the delivery worker's database trips."""
    return await run_in(DELIVERY, fn, *args, **kwargs)
