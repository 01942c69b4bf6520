"""How a case reads: the card relays get, the choices behind its buttons, its timeline."""

from __future__ import annotations

from typing import Any

from babel.dates import format_datetime, format_time
from sqlmodel import Session, select

from bot.clock import as_utc, local
from bot.config import CASE_CATEGORIES, AppConfig
from bot.i18n import N_, Tr
from bot.members.models import Member
from bot.messages import Actions, Button, Choice, ContextLine, Link, Message, Section
from bot.response import triage
from bot.response.models import OPEN, Case, CaseStep

ACK = "case.ack"
REASSIGN = "case.reassign"  # shows the departments
MOVE = "case.move"  # value "<case>:<department>"
RESOLVE = "case.resolve"
DISMISS = "case.dismiss"  # not relevant
CORRECT = "case.correct"  # shows the categories
RECATEGORIZE = "case.category"  # value "<case>:<category>"
LEGACY_ACK = "report.ack"  # buttons sent before cases: the value is a report id
CRISIS_DECLARE = "crisis.declare"  # the crisis capability's button; value: a playbook id

CATEGORY = triage.CATEGORY_LABELS
SEVERITY = triage.SEVERITY_LABELS
STEP = {
    "department_relays": N_("the department's relays"),
    "backup_relays": N_("the backup relays"),
    "backup_relay": N_("the backup relays"),
    "business_unit_hubs": N_("the business unit's hub"),
    "central_team": N_("the central team"),
    "crisis_cell": N_("the crisis cell"),
    "repeat": N_("a reminder to everyone asked"),
}
STATUS = {
    "open": N_("waiting to be taken in charge"),
    "acknowledged": N_("in charge"),
    "resolved": N_("resolved"),
    "not_relevant": N_("not relevant"),
}
TIMELINE = {
    "opened": N_("opened by {member}"),
    "merged": N_("reported again by {member}"),
    "routed": N_("routed to {detail}"),
    "notified": N_("sent to {detail}"),
    "acknowledged": N_("taken in charge by {member}"),
    "reassigned": N_("reassigned to {detail} by {member}"),
    "escalated": N_("escalated: {detail}"),
    "resolved": N_("resolved by {member}"),
    "not_relevant": N_("marked not relevant by {member}"),
    "noted": N_("note by {member}"),
    "corrected": N_("category corrected to {detail} by {member}"),
    "crisis_proposed": N_("a crisis was proposed to the crisis cell"),
}


def department_name(config: AppConfig, department_id: str | None, tr: Tr) -> str:
    found = config.department(department_id)
    if found is None:
        return tr("no department")
    return found.name.get(tr.lang) or found.name.get(config.languages.default) or found.id


def title(tr: Tr, case: Case, config: AppConfig) -> str:
    return tr(
        "Case #{id}: {category}, {severity} severity ({department})",
        id=case.id,
        category=tr(CATEGORY.get(case.category, case.category)),
        severity=tr(SEVERITY.get(case.severity, case.severity)),
        department=department_name(config, case.department, tr),
    )


def case_card(
    session: Session,
    case: Case,
    config: AppConfig,
    tr: Tr,
    *,
    intro: str | None = None,
    actions: bool = True,
) -> Message:
    """A case as a relay sees it: triage and why, who reported it, and what they can do.

    Every button carries the case's id: it works from any copy of the card (the
    notification, an escalation, the `reports` list) for as long as it applies.
    """
    opener = session.get(Member, case.opened_by_id)
    name = opener.name if opener else "?"
    others = case.reporters - 1
    reported = (
        tr.plural(
            "Reported by {name} and {count} other person.",
            "Reported by {name} and {count} other people.",
            others,
            name=name,
            count=others,
        )
        if others
        else tr("Reported by {name}.", name=name)
    )
    blocks: list[Any] = []
    if intro:
        blocks.append(Section(text=intro))
    blocks += [
        Section(title=title(tr, case, config), text=case.text or tr("(no comment)"), plain=True),
        ContextLine(text=tr("Why: {reasons}", reasons="; ".join(reasons(tr, case)) or "—")),
        ContextLine(text=reported),
        Link(url=case.url, label=tr("Open the mention")),
    ]
    if case.status == OPEN:
        minutes = config.escalation.deadline_minutes.minutes(case.severity)
        blocks.append(
            ContextLine(
                text=tr.plural(
                    "Please acknowledge within {minutes} minute, then follow the response process.",
                    "Please acknowledge within {minutes} minutes, then follow the response "
                    "process.",
                    minutes,
                    minutes=minutes,
                )
            )
        )
    else:
        owner = session.get(Member, case.owner_id) if case.owner_id else None
        blocks.append(
            ContextLine(
                text=tr(
                    "Status: {status} ({name}).",
                    status=tr(STATUS[case.status]),
                    name=owner.name if owner else "?",
                )
            )
        )
    if actions and case.status in (OPEN, "acknowledged"):
        value = str(case.id)
        buttons = []
        if case.status == OPEN:
            buttons.append(
                Button(label=tr("Acknowledge"), action_id=ACK, value=value, style="primary")
            )
        buttons += [
            Button(label=tr("Reassign"), action_id=REASSIGN, value=value),
            Button(label=tr("Resolve"), action_id=RESOLVE, value=value),
            Button(label=tr("Not relevant"), action_id=DISMISS, value=value),
            Button(label=tr("Correct category"), action_id=CORRECT, value=value),
        ]
        blocks.append(Actions(buttons=buttons))
    return Message(text=title(tr, case, config), blocks=blocks)


def reasons(tr: Tr, case: Case) -> list[str]:
    """Triage's reasons in the reader's language (as stored, if triage no longer knows them)."""
    shown = []
    for entry in case.reasons:
        if entry.get("message"):
            reason = triage.Reason(
                entry["message"],
                tuple(sorted((entry.get("values") or {}).items())),
                entry.get("plural"),
            )
            try:
                shown.append(reason.render(tr))
                continue
            except (KeyError, ValueError):
                pass
        shown.append(str(entry.get("text", "")))
    return shown


def informed_intro(tr: Tr, case: Case, config: AppConfig) -> str:
    return tr(
        "For your information: this case went to {department}.",
        department=department_name(config, case.department, tr),
    )


def escalated_intro(tr: Tr, case: Case, config: AppConfig, number: int, where: str) -> str:
    minutes = config.escalation.deadline_minutes.minutes(case.severity)
    return tr.plural(
        "Nobody took this case in charge within {minutes} minute: it comes to you "
        "(escalation step {step}, {who}).",
        "Nobody took this case in charge within {minutes} minutes: it comes to you "
        "(escalation step {step}, {who}).",
        minutes,
        minutes=minutes,
        step=number,
        who=tr(STEP.get(where, where)),
    )


def reminder_intro(tr: Tr, case: Case, config: AppConfig) -> str:
    return tr("Reminder: this case is still waiting for someone to take it in charge.")


def reassign_choice(tr: Tr, case: Case, config: AppConfig) -> Message:
    question = tr("Which department should take case #{id}?", id=case.id)
    return Message(
        text=question,
        blocks=[
            Choice(
                question=question,
                options=[
                    Button(
                        label=department_name(config, d.id, tr),
                        action_id=MOVE,
                        value=f"{case.id}:{d.id}",
                    )
                    for d in config.departments
                    if d.id != case.department
                ],
            )
        ],
    )


def category_choice(tr: Tr, case: Case) -> Message:
    question = tr(
        "Triage said “{category}”. What is case #{id} really?",
        category=tr(CATEGORY.get(case.category, case.category)),
        id=case.id,
    )
    return Message(
        text=question,
        blocks=[
            Choice(
                question=question,
                options=[
                    Button(
                        label=tr(CATEGORY[category]),
                        action_id=RECATEGORIZE,
                        value=f"{case.id}:{category}",
                    )
                    for category in CASE_CATEGORIES
                    if category != case.category
                ],
            )
        ],
    )


def timeline(session: Session, case: Case, config: AppConfig, tr: Tr, zone: str) -> Message:
    """Every step of the case, time-stamped, oldest first."""
    steps = session.exec(
        select(CaseStep).where(CaseStep.case_id == case.id).order_by(CaseStep.at, CaseStep.id)  # type: ignore[arg-type]
    ).all()
    names = {
        m.id: m.name
        for m in session.exec(
            select(Member).where(Member.id.in_({s.member_id for s in steps if s.member_id}))  # type: ignore[union-attr]
        ).all()
    }
    lines = []
    for item in steps:
        detail = item.detail
        if item.kind in ("routed", "reassigned"):
            detail = department_name(config, detail, tr)
        elif item.kind in ("notified", "escalated"):
            detail = tr(STEP.get(detail, detail))
        elif item.kind == "corrected":
            detail = tr(CATEGORY.get(detail, detail))
        text = tr(
            TIMELINE.get(item.kind, item.kind),
            member=names.get(item.member_id, "?"),
            detail=detail,
        )
        if item.kind in ("resolved", "not_relevant", "noted") and item.detail:
            text += f" — {item.detail}"
        when = format_datetime(local(as_utc(item.at), zone), format="short", locale=tr.lang)
        lines.append(f"- {when} · {text}")
    status = tr(STATUS[case.status])
    return Message(
        text=title(tr, case, config),
        blocks=[
            Section(title=title(tr, case, config), text="\n".join(lines)),
            ContextLine(text=tr("Status: {status}.", status=status)),
            Link(url=case.url, label=tr("Open the mention")),
        ],
    )


def owner_line(tr: Tr, owner: Member, zone: str, at: Any) -> str:
    when = format_time(local(as_utc(at), zone), format="short", locale=tr.lang)
    return tr("{name} already took this report in charge at {time}.", name=owner.name, time=when)


def crisis_proposal(
    tr: Tr, content: Any, case: Case, critical: list[Case], playbook_id: str, minutes: int
) -> Message:
    """The offer of a crisis: the cases behind it, and the button the crisis capability answers."""
    versions = getattr(content, "playbooks", {}).get(playbook_id) or {}
    playbook = versions.get(tr.lang) or next(iter(versions.values()), None)
    name = playbook.title if playbook is not None else playbook_id
    text = tr.plural(
        "{count} critical case about “{category}” in {minutes} minutes. Declare a crisis?",
        "{count} critical cases about “{category}” in {minutes} minutes. Declare a crisis?",
        len(critical),
        count=len(critical),
        category=tr(CATEGORY.get(case.category, case.category)),
        minutes=minutes,
    )
    blocks: list[Any] = [Section(text=text)]
    blocks += [Link(url=c.url, label=f"#{c.id}") for c in critical[:10]]
    blocks.append(
        Actions(
            buttons=[
                Button(
                    label=tr("Declare a crisis: {playbook}", playbook=name),
                    action_id=CRISIS_DECLARE,
                    value=playbook_id,
                    style="danger",
                )
            ]
        )
    )
    return Message(text=text, blocks=blocks)
