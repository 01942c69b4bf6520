"""Content's scheduled work: each replica reloads the content files when they change."""

from __future__ import annotations

from datetime import timedelta

from bot.jobs import JobRun
from bot.registry import Registry


def register(registry: Registry) -> None:
    registry.job("content_reload", every=timedelta(seconds=10), per_process=True)(reload_content)


def reload_content(run: JobRun) -> int:
    """Swap in the new content when the files changed and are valid (else keep the last good)."""
    library = run.runtime.watcher.check()
    if library is not None:
        run.runtime.relais.content = library
    return 0
