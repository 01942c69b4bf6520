"""`GET /metrics`: what to watch when Relais runs at scale, in Prometheus' text format.

Counters and the send-latency histogram are this process's (each replica is
scraped on its own and Prometheus sums them); gauges are read from the
database at scrape time with cheap, capped queries, so every replica answers
the same for the shared outbox and cases. No label ever holds a person, a
message or a secret: only platforms, results, priorities, purposes, job ids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from bot.clock import as_utc, utcnow

log = logging.getLogger("relais.metrics")

# The most rows a gauge counts: past it, the gauge reads the cap (and relais_gauge_capped says so).
CAP = 100_000

PROCESS = CollectorRegistry(auto_describe=True)
DELIVERIES = Counter(
    "relais_deliveries",
    "Delivery operations this process finished an attempt of, by platform and result "
    "(sent, retry, failed, throttled, outage, paused).",
    ["platform", "result"],
    registry=PROCESS,
)
THROTTLED = Counter(
    "relais_platform_throttled",
    "HTTP 429 (too many requests) answers from a platform; the delivery waits Retry-After.",
    ["platform"],
    registry=PROCESS,
)
SEND_SECONDS = Histogram(
    "relais_send_seconds",
    "Time one delivery operation took through its platform (every part of the message).",
    ["platform"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=PROCESS,
)
SCHEDULER_RUNS = Counter(
    "relais_scheduler_runs",
    "Scheduled job runs by job and outcome: ran, skipped (another replica holds it, or "
    "this round is done), failed.",
    ["job", "outcome"],
    registry=PROCESS,
)


def delivery_done(platform: str, result: str, seconds: float) -> None:
    """One finished attempt of a delivery operation (the worker calls this once per attempt)."""
    DELIVERIES.labels(platform, result).inc()
    if result == "throttled":
        THROTTLED.labels(platform).inc()
    if result != "paused":  # a paused promotion never reached the platform
        SEND_SECONDS.labels(platform).observe(max(0.0, seconds))


def job_ran(job: str, outcome: str) -> None:
    SCHEDULER_RUNS.labels(job, outcome).inc()


def _capped(statement: Any) -> Any:
    """``statement``'s rows, at most ``CAP`` of them, as a subquery to count from."""
    return statement.limit(CAP).subquery()


class DatabaseGauges(Collector):
    """Outbox depth and cases, read from the shared database when Prometheus scrapes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "relais_database_up", "1 when the gauges below could be read from the database."
        )
        try:
            families = list(self._read(utcnow()))
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("metrics: the database could not be read (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self, now: datetime) -> Iterator[Metric]:
        from bot.delivery.models import PENDING, SENDING, Delivery
        from bot.response.models import ACTIVE, OPEN, Case

        capped = GaugeMetricFamily(
            "relais_gauge_capped",
            f"1 when a gauge reached its cap of {CAP} rows (the real figure is higher).",
            labels=["gauge"],
        )
        with Session(self.engine) as session:
            depth = GaugeMetricFamily(
                "relais_outbox_depth",
                "Deliveries waiting in the outbox (due or not yet), by priority and purpose.",
                labels=["priority", "purpose"],
            )
            waiting = _capped(
                select(Delivery.priority, Delivery.purpose).where(Delivery.status == PENDING),
            )
            total = 0
            for priority, purpose, count in session.execute(
                select(waiting.c.priority, waiting.c.purpose, func.count()).group_by(
                    waiting.c.priority, waiting.c.purpose
                )
            ):
                depth.add_metric([str(priority), str(purpose)], count)
                total += count
            yield depth
            capped.add_metric(["outbox_depth"], int(total >= CAP))

            sending = _capped(select(Delivery.id).where(Delivery.status == SENDING))
            in_flight = session.execute(select(func.count()).select_from(sending)).scalar_one()
            yield GaugeMetricFamily(
                "relais_outbox_sending",
                "Deliveries a replica has claimed and is sending now.",
                value=in_flight,
            )
            capped.add_metric(["outbox_sending"], int(in_flight >= CAP))

            due = session.execute(
                select(Delivery.not_before)
                .where(Delivery.status == PENDING, Delivery.not_before <= now)  # type: ignore[operator]
                .order_by(Delivery.not_before)  # type: ignore[arg-type]
                .limit(1)
            ).scalar()
            age = 0.0
            if due is not None:
                age = max(0.0, (now - as_utc(due)).total_seconds())
            yield GaugeMetricFamily(
                "relais_outbox_oldest_due_seconds",
                "How long the oldest due delivery has waited (0 when none is due).",
                value=age,
            )

            cases = GaugeMetricFamily(
                "relais_cases_open",
                "Cases not closed, by status (open: nobody has it yet; acknowledged: someone has).",
                labels=["status"],
            )
            active = _capped(
                select(Case.status).where(Case.status.in_(ACTIVE)),  # type: ignore[attr-defined]
            )
            found = dict.fromkeys(ACTIVE, 0)
            for status, count in session.execute(
                select(active.c.status, func.count()).group_by(active.c.status)
            ):
                found[status] = count
            for status, count in found.items():
                cases.add_metric([status], count)
            yield cases
            capped.add_metric(["cases_open"], int(sum(found.values()) >= CAP))

            late = _capped(
                select(Case.id).where(
                    Case.status == OPEN,
                    Case.acknowledge_by.is_not(None),  # type: ignore[union-attr]
                    Case.acknowledge_by < now,  # type: ignore[operator]
                ),
            )
            overdue = session.execute(select(func.count()).select_from(late)).scalar_one()
            yield GaugeMetricFamily(
                "relais_cases_overdue",
                "Open cases nobody acknowledged before their deadline.",
                value=overdue,
            )
            capped.add_metric(["cases_overdue"], int(overdue >= CAP))
        yield capped


def exposition(engine: Engine) -> bytes:
    """The process's counters and the database's gauges, in Prometheus' text format."""
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(DatabaseGauges(engine))
    return generate_latest(PROCESS) + generate_latest(gauges)
