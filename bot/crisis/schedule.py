"""Crisis reminders: those who have not said "I have read it" are reminded, as the playbook says.

The same job runs a drill's reminders and its escalation (the cell late: whoever started
the drill is told).
"""

from __future__ import annotations

from datetime import timedelta

from bot.crisis import drill, service
from bot.db import session_scope
from bot.jobs import JobRun
from bot.registry import Registry


def register(registry: Registry) -> None:
    registry.job("crisis_reminders", every=timedelta(minutes=1))(queue_crisis_reminders)


def queue_crisis_reminders(run: JobRun) -> int:
    """One look a minute: cheap when no crisis is active (one indexed query)."""
    with session_scope(run.engine) as session:
        reminded = service.remind(session, run.config, run.content, run.now)
        return reminded + drill.escalate(session, run.config, run.content, run.now)
