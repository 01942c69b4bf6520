"""Reporting's scheduled work: the managers' weekly digest."""

from __future__ import annotations

from datetime import timedelta

from bot.registry import Registry
from bot.reporting.digest import queue_digests


def register(registry: Registry) -> None:
    registry.job("manager_digest", every=timedelta(minutes=1), serves="manager_digest")(
        queue_digests
    )
