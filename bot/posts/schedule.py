"""Posts' scheduled work: live posts past their ``expires`` date become expired."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.clock import local
from bot.db import session_scope
from bot.jobs import JobRun
from bot.posts import service
from bot.registry import Registry

log = logging.getLogger("relais.posts")


def register(registry: Registry) -> None:
    registry.job("post_expiry", every=timedelta(minutes=15))(expire_posts)


def expire_posts(run: JobRun) -> int:
    """Expire approved and live posts whose last day is over in the programme's zone.

    ``share`` already hides a post on the reader's own date; this job records
    the end of its life, so campaigns and lists see it expired.
    """
    config = run.runtime.config
    today = local(run.now, config.time.zone).date()
    with session_scope(run.runtime.engine) as session:
        expired = service.expire_due(session, today)
    if expired:
        log.info("expired %d post(s): %s", len(expired), ", ".join(expired))
    return len(expired)
