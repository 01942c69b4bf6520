"""The escalation job: a case nobody took in charge by its deadline climbs the chain.

Deadlines live in the database (``responsecase.next_escalation_at``), so they
survive a restart; the job runs every two seconds, so a step fires at most a
couple of seconds after its deadline. When nothing is due, a run is one indexed
query. It runs under the programme lock of ``bot.jobs`` (one replica at a
time), and each step is taken with a conditional UPDATE, so a step fires once.
"""

from __future__ import annotations

from datetime import timedelta

from bot.jobs import JobRun
from bot.registry import Registry
from bot.response import service

EVERY = timedelta(seconds=2)


def register(registry: Registry) -> None:
    @registry.job("case_escalations", every=EVERY, rounds=False)
    def escalations(run: JobRun) -> int:
        return service.escalate_due(run.engine, run.config, run.now)
