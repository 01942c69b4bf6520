"""The programme measured against the four practices of Altimeter's advanced companies.

Of 144 large companies Altimeter studied, the 18 "advanced" ones all had: a
charter employees accepted; a response process defined and exercised; continuous
training; a coordinating centre. Each practice is scored 0-3 from the data,
with the evidence and one plain next step. The organisation model the data
resembles (who takes reports in charge, how many people take part) is set
beside the one app.yaml configures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from bot.charter.models import CharterAcknowledgement
from bot.clock import as_utc
from bot.config import AppConfig
from bot.crisis import drill as drills
from bot.i18n import N_, Tr, format_day
from bot.members.models import Member
from bot.participation.models import ParticipationEvent
from bot.reporting import measures, periods
from bot.response.models import Case

MODELS = {
    "centralized": N_("centralized"),
    "organic": N_("organic (decentralized)"),
    "hub_and_spoke": N_("hub and spoke (coordinated)"),
    "dandelion": N_("dandelion (multiple hub and spoke)"),
    "honeycomb": N_("honeycomb (holistic)"),
}
RECENT = timedelta(days=90)


@dataclass(frozen=True)
class Practice:
    title: str  # N_()
    score: int  # 0-3
    evidence: Callable[[Tr], str]
    next_step: Callable[[Tr], str]


@dataclass(frozen=True)
class Maturity:
    practices: list[Practice]
    configured: str
    resembles: str | None
    why: Callable[[Tr], str]

    def model_sentence(self, tr: Tr) -> str:
        configured = tr(MODELS[self.configured])
        if self.resembles is None:
            return tr(
                "Configured: {configured}. Not enough data yet to say which model the "
                "programme works like: {why}",
                configured=configured,
                why=self.why(tr),
            )
        return tr(
            "Configured: {configured}. The data resembles: {resembles} — {why}",
            configured=configured,
            resembles=tr(MODELS[self.resembles]),
            why=self.why(tr),
        )


def _charter(session: Session, content: object, opted_in: int) -> Practice:
    version = measures.charter_version(content)
    if version is None:
        return Practice(
            N_("A charter, defined and accepted"),
            0,
            lambda tr: tr("The programme has no charter."),
            lambda tr: tr(
                "Write the charter of conduct in content/charter and run `relais content check`."
            ),
        )
    accepted = session.execute(
        select(func.count())
        .select_from(CharterAcknowledgement)
        .join(Member, Member.id == CharterAcknowledgement.member_id)  # type: ignore[arg-type]
        .where(
            CharterAcknowledgement.version == version,
            Member.opted_in.is_(True),  # type: ignore[attr-defined]
            Member.left_at.is_(None),  # type: ignore[union-attr]
        )
    ).scalar_one()
    share = accepted / opted_in if opted_in else 0.0
    score = 3 if share >= 0.9 else 2 if share >= 0.5 else 1
    missing = max(0, opted_in - accepted)
    return Practice(
        N_("A charter, defined and accepted"),
        score,
        lambda tr: tr(
            "Version {version} of the charter is accepted by {accepted} of {opted_in} "
            "ambassadors ({share:.0%}).",
            version=version,
            accepted=accepted,
            opted_in=opted_in,
            share=share,
        ),
        lambda tr: (
            tr(
                "Remind the {missing} who have not accepted it: type “charter remind”.",
                missing=missing,
            )
            if missing
            else tr("Keep it alive: review the charter once a year and publish what changed.")
        ),
    )


def _response(session: Session, config: AppConfig, content: Any, now: datetime) -> Practice:
    routes = len(config.escalation.routing)
    target = config.escalation.deadline_minutes.normal
    since = now - RECENT
    minutes = [
        float(m)
        for (m,) in session.execute(
            select(ParticipationEvent.data).where(
                ParticipationEvent.kind == "case_acknowledged",
                ParticipationEvent.occurred_at >= since,  # type: ignore[operator]
            )
        ).all()
        for m in [((m or {}).get("minutes"))]
        if isinstance(m, int | float)
    ]
    handled = len(minutes)
    in_time = sum(1 for m in minutes if m <= target)
    share = in_time / handled if handled else 0.0
    # The crisis plan exercised: the last drill (its report is `crisis drill report`).
    last = drills.last_ended(session)
    drilled = last is not None and last.ended_at is not None and as_utc(last.ended_at) >= since
    drill_report = drills.report(session, config, content, last) if last is not None else None
    if not routes:
        score = 0
    elif not handled and not drilled:
        score = 1
    else:
        score = 3 if share >= 0.8 and drilled else 2

    def evidence(tr: Tr) -> str:
        said = tr(
            "{routes} routing rules, a {target}-minute deadline and an escalation chain of "
            "{steps} steps; in the last 90 days {handled} reports or cases were taken in "
            "charge, {in_time} within the deadline.",
            routes=routes,
            target=target,
            steps=len(config.escalation.chain),
            handled=handled,
            in_time=in_time,
        )
        if drill_report is None:
            return said + " " + tr("No crisis exercise yet.")
        return (
            said
            + " "
            + tr(
                "Last crisis exercise ({number}) on {date}: {share:.0%} of {alerted} people "
                "acknowledged, the crisis cell {cell} of {cell_alerted} within {minutes} minutes.",
                number=drill_report.drill.id,
                date=format_day(as_utc(drill_report.drill.declared_at).date(), tr.lang, "long"),
                share=drill_report.share,
                alerted=drill_report.alerted,
                cell=drill_report.cell_in_time,
                cell_alerted=drill_report.cell_alerted,
                minutes=drill_report.cell_target,
            )
        )

    return Practice(
        N_("A response process, defined and exercised"),
        score,
        evidence,
        lambda tr: (
            tr("Add routing rules (escalation.routing) for each kind of mention.")
            if not routes
            else tr("Exercise the process: have a relay report a test mention and time the answer.")
            if not handled and not drilled
            else tr("Name backup relays where answers come late, and review the slowest cases.")
            if handled and share < 0.8
            else tr("Run a crisis exercise with the crisis cell: crisis drill PLAYBOOK.")
            if not drilled
            else tr("Run a crisis exercise with the crisis cell once a quarter.")
        ),
    )


def _training(session: Session, config: AppConfig, now: datetime, opted_in: int) -> Practice:
    month = periods.current("month", now, config.time.zone)
    months = [month.previous.previous.previous, month.previous.previous, month.previous]
    delivered = answered = 0
    with_lessons = 0
    for which in months:
        report = measures.build(session, config, which)
        total = report.total()
        delivered += total.lessons_delivered
        answered += total.lessons_answered
        with_lessons += total.lessons_delivered > 0
    per_person = answered / opted_in / len(months) if opted_in else 0.0
    score = (
        0
        if not delivered
        else 3
        if per_person >= 1 and with_lessons == 3
        else 2
        if per_person >= 0.5
        else 1
    )
    return Practice(
        N_("Continuous training"),
        score,
        lambda tr: tr(
            "Over the last three months: {delivered} lessons delivered, {answered} answered "
            "({per_person:.1f} a month per ambassador); lessons went out in {months} of the 3 months.",
            delivered=delivered,
            answered=answered,
            per_person=per_person,
            months=with_lessons,
        ),
        lambda tr: (
            tr("Set schedules.lessons in app.yaml so lessons go out every week.")
            if not delivered
            else tr("Write shorter lessons and keep a steady rhythm: one a week is enough.")
            if score < 3
            else tr("Add a track for relays on the response process and crisis roles.")
        ),
    )


def _centre(config: AppConfig) -> Practice:
    coordinators = len(config.people.coordinators)
    departments = len(config.departments)
    relayed = sum(1 for d in config.departments if d.relays)
    cell = len(config.people.crisis_cell)
    if not coordinators:
        score = 0
    elif departments and relayed / departments < 0.5:
        score = 1
    elif relayed < departments or not cell:
        score = 2
    else:
        score = 3
    without = [d.id for d in config.departments if not d.relays]
    return Practice(
        N_("A coordinating centre"),
        score,
        lambda tr: tr(
            "{coordinators} coordinators named; {relayed} of {departments} departments have a "
            "relay; the crisis cell has {cell} members.",
            coordinators=coordinators,
            relayed=relayed,
            departments=departments,
            cell=cell,
        ),
        lambda tr: (
            tr("Name the central team in people.coordinators.")
            if not coordinators
            else tr("Name a relay in: {departments}.", departments=", ".join(without))
            if without
            else tr(
                "Name the crisis cell (people.crisis_cell): communication, legal, customer service."
            )
            if not cell
            else tr("Meet the relays once a month and share what the figures say.")
        ),
    )


def _model(
    session: Session, config: AppConfig, now: datetime, opted_share: float
) -> tuple[str | None, Callable[[Tr], str]]:
    """Which of the five models the data resembles, from who takes reports in charge."""
    since = now - RECENT
    takers: Counter[str] = Counter()
    rows = session.execute(
        select(Member.email)
        .join(Case, Case.owner_id == Member.id)  # type: ignore[arg-type]
        .where(Case.created_at >= since, Case.acknowledged_at.is_not(None))  # type: ignore[operator,union-attr]
    ).all()
    hubs = {email for unit in config.business_units for email in unit.hubs}
    for (email,) in rows:
        roles = config.roles_of(email)
        if "coordinator" in roles:
            takers["central"] += 1
        elif email in hubs:
            takers["hub"] += 1
        else:
            takers["relay"] += 1
    total = sum(takers.values())
    if opted_share >= 0.9 and total:
        return "honeycomb", lambda tr: tr(
            "{share:.0%} of the employees take part, as when everyone is an ambassador.",
            share=opted_share,
        )
    if not total:
        return None, lambda tr: tr(
            "no report has been taken in charge in the last 90 days; who answers them tells "
            "the model apart."
        )
    central, hub, relay = (takers[k] / total for k in ("central", "hub", "relay"))
    if hub >= 0.4:
        model = "dandelion"
    elif central >= 0.7:
        model = "centralized"
    elif relay >= 0.7 and central < 0.1:
        model = "organic"
    else:
        model = "hub_and_spoke"
    return model, lambda tr: tr(
        "of the {total} reports taken in charge in the last 90 days, {central:.0%} were by the "
        "central team, {hub:.0%} by business-unit hubs and {relay:.0%} by department relays.",
        total=total,
        central=central,
        hub=hub,
        relay=relay,
    )


def assess(session: Session, config: AppConfig, content: object, now: datetime) -> Maturity:
    members, opted_in = session.execute(
        select(func.count(), func.count().filter(Member.opted_in.is_(True))).where(  # type: ignore[attr-defined]
            Member.left_at.is_(None)  # type: ignore[union-attr]
        )
    ).one()
    practices = [
        _charter(session, content, opted_in),
        _response(session, config, content, now),
        _training(session, config, now, opted_in),
        _centre(config),
    ]
    resembles, why = _model(session, config, now, opted_in / members if members else 0.0)
    return Maturity(practices, config.programme.organisation_model, resembles, why)
