"""The campaigns job: finish queueing, show progress in place, keep withdrawals complete.

Every 30 seconds, for the programme (under the job's lock): a campaign whose
queueing was interrupted (a killed process) is queued on from its mark; each
running campaign's coordinator message is updated when its figures changed; a
campaign whose messages are all sent is done; and for a post withdrawn in the
last day, rows a dead worker put back in the queue are cancelled and messages
that finished sending after the withdrawal are retracted too.
"""

from __future__ import annotations

from datetime import timedelta

from bot.campaigns import service
from bot.campaigns.models import CANCELLED, WITHDRAWN
from bot.db import session_scope
from bot.jobs import JobRun
from bot.registry import Registry

CHUNKS_PER_RUN = 25  # 50,000 members per run at most: the next run goes on


def register(registry: Registry) -> None:
    registry.job("campaigns", every=timedelta(seconds=30))(run_campaigns)


def run_campaigns(run: JobRun) -> int:
    engine, config, content, now = run.engine, run.config, run.content, run.now
    rules = run.runtime.relais.permissions
    queued = 0
    with session_scope(engine) as session:
        unqueued = [
            campaign.id or 0
            for campaign in service.campaigns_due_for_work(session)
            if campaign.queued_at is None and campaign.status not in (CANCELLED, WITHDRAWN)
        ]
    for campaign_id in unqueued:
        queued += service.queue(engine, config, content, campaign_id, now, chunks=CHUNKS_PER_RUN)
    with session_scope(engine) as session:
        campaigns = service.campaigns_due_for_work(session)
        withdrawn = service.recent_withdrawn(session, now)
        found = service.progress_of(session, campaigns, now)
        service.finish_done(session, found, now)
        for campaign in [*campaigns, *withdrawn]:
            service.refresh_progress(session, rules, content, campaign, now)
        by_post: dict[str, list[int]] = {}
        for campaign in withdrawn:
            service.mark_cancelled_pending(session, campaign)
            by_post.setdefault(campaign.post_id, []).append(campaign.id or 0)
        for post_id, ids in by_post.items():
            queued += service.queue_retractions(session, config, content, post_id, ids, now)
    return queued
