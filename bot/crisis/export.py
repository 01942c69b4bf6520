"""The crisis timeline for the post-mortem, as Markdown or CSV.

Who did what, when: the declaration, the pause, each person alerted by the
playbook, the statement to the ambassadors, every "I have read it", the
reminders, the end and the resumption; then what the messages became (sent,
failed, still queued), and the reports of worrying mentions made while the
crisis lasted. Times are UTC, so that people in several zones read one clock.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from bot.clock import as_utc, utcnow
from bot.config import AppConfig
from bot.crisis.models import Crisis, CrisisAlert, CrisisStep
from bot.delivery.models import Delivery
from bot.i18n import N_, NP_, Tr
from bot.members.models import Member
from bot.response.models import MentionReport

# What each step of the timeline says, in the reader's language.
STEP_WORDS: dict[str, str] = {
    "declared": N_("declared the crisis"),
    "promotion_paused": N_("paused every promotional message"),
    "alerted": N_("was alerted with their role"),
    "acknowledged": N_("read the alert"),
    "ended": N_("ended the crisis"),
    "promotion_resumed": N_("resumed promotional messages"),
}
# Steps whose detail is a count: said with the count, in the right plural form.
COUNTED_STEPS: dict[str, tuple[str, str]] = {
    "statement_sent": NP_(
        "sent the statement to {count} ambassador", "sent the statement to {count} ambassadors"
    ),
    "reminded": NP_(
        "reminded {count} person who had not read it",
        "reminded {count} people who had not read it",
    ),
    "told_ended": NP_(
        "told {count} person alerted that the crisis is over",
        "told {count} people alerted that the crisis is over",
    ),
}
CSV_COLUMNS = ("time_utc", "step", "who", "department", "role", "detail")


def _stamp(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _cell(text: object) -> str:
    """A Markdown table cell: no pipe or line break can break the table."""
    return " ".join(str(text or "").split()).replace("|", "\\|")


@dataclass
class Timeline:
    crisis: Crisis
    declared_by: str
    ended_by: str
    steps: list[CrisisStep]
    departments: list[tuple[str, int, int, int | None]]  # name, alerted, read, median minutes
    messages: list[tuple[str, str, int]]  # kind, status, count
    reports: list[MentionReport]


def timeline(session: Session, config: AppConfig, crisis_id: int, lang: str) -> Timeline | None:
    crisis = session.get(Crisis, crisis_id)
    if crisis is None:
        return None
    tr = Tr(lang)

    def name(member_id: int | None) -> str:
        member = session.get(Member, member_id) if member_id else None
        return f"{member.name} <{member.email}>" if member else tr("the operator (command line)")

    steps = list(
        session.execute(
            select(CrisisStep)
            .where(CrisisStep.crisis_id == crisis_id)
            .order_by(CrisisStep.at, CrisisStep.id)  # type: ignore[arg-type]
        ).scalars()
    )
    alerts = session.execute(
        select(CrisisAlert.department, CrisisAlert.alerted_at, CrisisAlert.acknowledged_at).where(
            CrisisAlert.crisis_id == crisis_id
        )
    ).all()
    by_department: dict[str | None, list[tuple[datetime, datetime | None]]] = {}
    for department, alerted_at, acknowledged_at in alerts:
        by_department.setdefault(department, []).append((alerted_at, acknowledged_at))
    departments = []
    for department_id, rows in by_department.items():
        minutes = sorted(
            (as_utc(read) - as_utc(alerted)).total_seconds() / 60 for alerted, read in rows if read
        )
        median = round(minutes[len(minutes) // 2]) if minutes else None
        found = config.department(department_id)
        label = (
            (found.name.get(lang) or found.id) if found else (department_id or tr("no department"))
        )
        departments.append((label, len(rows), len(minutes), median))
    departments.sort()
    messages = [
        (kind, status, int(count))
        for kind, status, count in session.execute(
            select(Delivery.kind, Delivery.status, func.count())
            .where(
                Delivery.subject == str(crisis_id),
                Delivery.kind.in_(("crisis_alert", "crisis_reminder", "crisis_end")),  # type: ignore[attr-defined]
            )
            .group_by(Delivery.kind, Delivery.status)
            .order_by(Delivery.kind, Delivery.status)
        ).all()
    ]
    until = crisis.ended_at or utcnow()
    reports = list(
        session.execute(
            select(MentionReport)
            .where(
                MentionReport.created_at >= crisis.declared_at,  # type: ignore[operator]
                MentionReport.created_at <= until,  # type: ignore[operator]
            )
            .order_by(MentionReport.created_at, MentionReport.id)  # type: ignore[arg-type]
        ).scalars()
    )
    return Timeline(
        crisis,
        name(crisis.declared_by_id),
        name(crisis.ended_by_id) if crisis.ended_at else "",
        steps,
        departments,
        messages,
        reports,
    )


def _step_text(item: CrisisStep, tr: Tr) -> str:
    if item.kind in COUNTED_STEPS:
        count = int((item.data or {}).get("count", 0))
        return tr.plural(*COUNTED_STEPS[item.kind], count, count=count)
    return tr(STEP_WORDS[item.kind]) if item.kind in STEP_WORDS else item.kind


def markdown(found: Timeline, lang: str) -> str:
    tr = Tr(lang)
    crisis = found.crisis
    out = io.StringIO()
    out.write(f"# {tr('Crisis {id}: {title}', id=crisis.id, title=crisis.title)}\n\n")
    out.write(f"- {tr('Playbook')}: `{crisis.playbook}`\n")
    out.write(
        f"- {tr('Declared')}: {_stamp(crisis.declared_at)} UTC, {found.declared_by} "
        f"({crisis.declared_via})\n"
    )
    if crisis.note:
        out.write(f"- {tr('Note')}: {_cell(crisis.note)}\n")
    if crisis.ended_at:
        minutes = round((as_utc(crisis.ended_at) - as_utc(crisis.declared_at)).total_seconds() / 60)
        out.write(
            f"- {tr('Ended')}: {_stamp(crisis.ended_at)} UTC, {found.ended_by} "
            f"({crisis.ended_via})\n"
        )
        out.write(f"- {tr('Duration')}: {tr('{minutes} min', minutes=minutes)}\n")
        out.write(f"- {tr('Summary')}: {_cell(crisis.summary)}\n")
    else:
        out.write(f"- {tr('Still in progress.')}\n")
    out.write(f"\n## {tr('Who read the alert, by department')}\n\n")
    out.write(
        f"| {tr('Department')} | {tr('Alerted')} | {tr('Read')} | "
        f"{tr('Not read')} | {tr('Median minutes to read')} |\n"
    )
    out.write("| --- | ---: | ---: | ---: | ---: |\n")
    for label, alerted, read, median in found.departments:
        shown = "" if median is None else str(median)
        out.write(f"| {_cell(label)} | {alerted} | {read} | {alerted - read} | {shown} |\n")
    out.write(f"\n## {tr('Messages')}\n\n")
    out.write(f"| {tr('Message')} | {tr('Status')} | {tr('Count')} |\n| --- | --- | ---: |\n")
    for kind, status, count in found.messages:
        out.write(f"| {kind} | {status} | {count} |\n")
    out.write(f"\n## {tr('Mentions reported during the crisis')}\n\n")
    if not found.reports:
        out.write(f"{tr('None.')}\n")
    else:
        out.write(
            f"| {tr('Time (UTC)')} | {tr('Link')} | {tr('Department')} | "
            f"{tr('Taken in charge (UTC)')} |\n| --- | --- | --- | --- |\n"
        )
        for report in found.reports:
            out.write(
                f"| {_stamp(report.created_at)} | {_cell(report.url)} | "
                f"{_cell(report.department)} | {_stamp(report.acknowledged_at)} |\n"
            )
    out.write(f"\n## {tr('Timeline')}\n\n")
    out.write(
        f"| {tr('Time (UTC)')} | {tr('Who')} | {tr('What')} | {tr('Department')} | "
        f"{tr('Role')} | {tr('Details')} |\n| --- | --- | --- | --- | --- | --- |\n"
    )
    for item in found.steps:
        out.write(
            f"| {_stamp(item.at)} | {_cell(item.actor)} | {_cell(_step_text(item, tr))} | "
            f"{_cell(item.department)} | {_cell(item.role)} | "
            f"{_cell('' if item.kind in COUNTED_STEPS else item.detail)} |\n"
        )
    return out.getvalue()


def csv_text(found: Timeline) -> str:
    """One line per step, machine-readable (step ids, not words)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for item in found.steps:
        writer.writerow(
            [
                _stamp(item.at),
                item.kind,
                item.actor,
                item.department or "",
                item.role or "",
                item.detail,
            ]
        )
    return out.getvalue()
