"""The response process: a report becomes (or joins) a case, routed, notified, escalated.

Callable from the chat handlers, the escalation job and the CLI alike. Every
function works in the caller's transaction and returns the outbox rows to
queue, so what a case becomes and what people are told commit together.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlparse

from sqlalchemy import Engine, func, update
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import notify
from bot.clock import as_utc
from bot.config import AppConfig, Department
from bot.db import session_scope
from bot.delivery.models import OPERATIONAL, PRIORITY_URGENT
from bot.delivery.outbox import Outgoing, enqueue_many
from bot.i18n import Tr
from bot.members.models import Member
from bot.messages import Message
from bot.participation.models import record
from bot.permissions import Target
from bot.response import messages, triage
from bot.response.models import (
    ACKNOWLEDGED,
    ACTIVE,
    NOT_RELEVANT,
    OPEN,
    RESOLVED,
    Case,
    CaseAssignment,
    CaseStep,
    MentionReport,
)
from bot.triage import service as triage_service

SEVERITY_RANK = {"low": 0, "normal": 1, "high": 2, "critical": 3}
SIMILAR_TEXT = 0.8  # word overlap (Jaccard) above which two reports are the same mention
MIN_WORDS_TO_MATCH = 4  # shorter texts ("angry customer") only merge by their link
CANDIDATES = 200  # recent active cases compared by text, newest first
DUE_BATCH = 100  # cases escalated per run of the job (the next run takes the rest)
FILING_LOCK = 0x52454C43  # "RELC": the PostgreSQL advisory lock that serialises case filing


# --- recognising the same mention ------------------------------------------


def url_key(url: str) -> str:
    """The link as a key: no scheme, no "www.", no tracking parameters, no fragment."""
    parsed = urlparse(url.strip())
    host = (parsed.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    query = [
        (k, v)
        for k, v in parse_qsl(parsed.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in {"s", "ref", "fbclid", "gclid"}
    ]
    path = parsed.path.rstrip("/") or "/"
    key = f"{host}{path}"
    if query:
        key += "?" + urlencode(sorted(query))
    return key[:2000]


def fold(text: str) -> str:
    """Lower case without accents: what keywords and duplicates are compared on."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", fold(text)))


def same_text(a: str, b: str) -> bool:
    """Near-identical texts: most of their words shared (a copy with a word changed)."""
    left, right = words(a), words(b)
    if min(len(left), len(right)) < MIN_WORDS_TO_MATCH:
        return False
    return len(left & right) / len(left | right) >= SIMILAR_TEXT


def has_keyword(text: str, keywords: Iterable[str]) -> str | None:
    folded = fold(text)
    for keyword in keywords:
        if re.search(rf"(?<!\w){re.escape(fold(keyword))}(?!\w)", folded):
            return keyword
    return None


# --- routing and the people of each step -----------------------------------


@dataclass
class Routed:
    department: str | None
    rule: int | None  # the index of the routing rule that decided, None: the reporter's own
    keyword: str | None = None


def route(config: AppConfig, category: str, text: str, url: str, fallback: str | None) -> Routed:
    """The department of a case: the first routing rule that matches, else the reporter's."""
    host = (urlparse(url).hostname or "").lower()
    for index, rule in enumerate(config.escalation.routing):
        if rule.category != category:
            continue
        keyword = has_keyword(f"{text} {url}", rule.keywords) if rule.keywords else None
        if rule.keywords and keyword is None:
            continue
        if rule.networks and not any(
            host == n.lower() or host.endswith("." + n.lower()) for n in rule.networks
        ):
            continue
        return Routed(rule.department, index, keyword)
    return Routed(fallback, None)


def active_members(session: Session, emails: Iterable[str]) -> list[Member]:
    wanted = sorted({e.lower() for e in emails})
    if not wanted:
        return []
    return list(
        session.exec(
            select(Member)
            .where(Member.email.in_(wanted), Member.left_at.is_(None))  # type: ignore[attr-defined,union-attr]
            .order_by(Member.id)  # type: ignore[arg-type]
        ).all()
    )


def step_people(
    session: Session, config: AppConfig, department: str | None, step: str
) -> list[Member]:
    """Who a step of an escalation path or chain names, for a case of ``department``."""
    found: Department | None = config.department(department)
    if step == "department_relays":
        if found is None:
            return []
        by_csv = session.exec(
            select(Member).where(
                Member.department == found.id,
                Member.opted_in.is_(True),  # type: ignore[attr-defined]
                Member.left_at.is_(None),  # type: ignore[union-attr]
            )
        ).all()
        return active_members(
            session, [*found.relays, *(m.email for m in by_csv if "relay" in m.roles)]
        )
    if step in ("backup_relays", "backup_relay"):
        return active_members(session, found.backup_relays) if found else []
    if step == "business_unit_hubs":
        unit = next(
            (u for u in config.business_units if found and u.id == found.business_unit), None
        )
        return active_members(session, unit.hubs) if unit else []
    if step == "central_team":
        return active_members(session, config.people.coordinators)
    if step == "crisis_cell":
        return active_members(session, [p.email for p in config.people.crisis_cell])
    return []


def first_responders(
    session: Session, config: AppConfig, department: str | None, exclude: set[int]
) -> tuple[str, list[Member]]:
    """The organisation model's first step that has someone (else the central team)."""
    for step in config.programme.effective("escalation_path"):
        people = [m for m in step_people(session, config, department, step) if m.id not in exclude]
        if people:
            return step, people
    people = [
        m for m in step_people(session, config, department, "central_team") if m.id not in exclude
    ]
    return "central_team", people


def informed(
    session: Session, config: AppConfig, step: str, responders: list[Member], exclude: set[int]
) -> list[Member]:
    """Hub and spoke: the hub (the central team) is told of what goes to a department."""
    if config.programme.organisation_model != "hub_and_spoke" or step == "central_team":
        return []
    taken = {m.id for m in responders} | exclude
    return [m for m in step_people(session, config, None, "central_team") if m.id not in taken]


# --- the case as the permission model sees it ------------------------------


def case_target(session: Session, case: Case) -> Target:
    """A case: its department, and the people it was sent to (each holds it as their own)."""
    holders = session.exec(
        select(CaseAssignment.member_id).where(CaseAssignment.case_id == case.id)
    ).all()
    return Target(department=case.department, holders=frozenset(holders))


def reporters_of(session: Session, case: Case) -> list[Member]:
    ids = select(MentionReport.reporter_id).where(MentionReport.case_id == case.id)
    return list(
        session.exec(
            select(Member).where(Member.id.in_(ids), Member.left_at.is_(None))  # type: ignore[union-attr]
        ).all()
    )


def step(
    session: Session,
    case: Case,
    kind: str,
    at: datetime,
    member_id: int | None = None,
    detail: str = "",
    **data: object,
) -> None:
    """Add a line to the case's timeline."""
    session.add(
        CaseStep(
            case_id=case.id or 0, at=at, kind=kind, member_id=member_id, detail=detail, data=data
        )
    )


def reasons_of(found: triage.Triage) -> list[dict[str, object]]:
    """Triage's reasons as stored: the English text, and what renders it in any language."""
    details = list(found.details)
    if len(details) != len(found.reasons):
        return [{"text": text} for text in found.reasons]
    return [
        {
            "text": text,
            "message": reason.message,
            "values": dict(reason.values),
            "plural": reason.plural,
        }
        for text, reason in zip(found.reasons, details, strict=True)
    ]


def deadline(config: AppConfig, severity: str) -> timedelta:
    return timedelta(minutes=config.escalation.deadline_minutes.minutes(severity))


# --- filing a report -------------------------------------------------------


@dataclass
class Filed:
    """What a report became: its case, whether it joined one, who was told."""

    case: Case
    merged: bool
    responders: list[Member] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)


def find_case(
    session: Session, config: AppConfig, url: str, text: str, now: datetime
) -> Case | None:
    """An active case of the same mention within the merge window: same link, or same text."""
    since = now - timedelta(minutes=config.escalation.merge_within_minutes)
    recent = select(Case).where(
        Case.status.in_(ACTIVE),  # type: ignore[attr-defined]
        Case.created_at >= since,
    )
    same_link = session.exec(
        recent.where(Case.url_key == url_key(url)).order_by(Case.id.desc())  # type: ignore[union-attr]
    ).first()
    if same_link is not None or len(words(text)) < MIN_WORDS_TO_MATCH:
        return same_link
    for candidate in session.exec(
        recent.where(Case.text != "").order_by(Case.id.desc()).limit(CANDIDATES)  # type: ignore[union-attr]
    ).all():
        if same_text(candidate.text, text):
            return candidate
    return None


def merge_key(config: AppConfig, url: str, now: datetime) -> str:
    """The link's key and its merge window's number: one active case per mention per window."""
    window = max(1, config.escalation.merge_within_minutes) * 60
    digest = hashlib.sha256(url_key(url).encode()).hexdigest()[:40]
    return f"{digest}:{int(as_utc(now).timestamp() // window)}"


def lock_filing(session: Session) -> None:
    """Serialise the filing of reports until the caller's transaction ends.

    Two simultaneous reports of one mention must see each other: on PostgreSQL
    a transaction-level advisory lock makes the second wait for the first to
    commit, then find its case (READ COMMITTED reads afresh). SQLite already
    serialises writers: the event's key was written before this, so the
    transaction holds the database's write lock. Under both, the unique
    ``merge_key`` is the guarantee for the same link.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": FILING_LOCK})


def file_report(
    session: Session,
    config: AppConfig,
    content: object,
    reporter: Member,
    url: str,
    text: str,
    platform: str,
    now: datetime,
) -> Filed:
    """Record a report: a new case, routed and notified, or one more reporter on a case."""
    lock_filing(session)
    case = find_case(session, config, url, text, now)
    merged = case is not None
    if case is None:
        # None: another report took the mention's key first (a race): join its case.
        case = open_case(session, config, reporter, url, text, now)
        if case is None:
            case = session.exec(
                select(Case).where(Case.merge_key == merge_key(config, url, now))
            ).one()
            merged = True
    session.add(
        MentionReport(
            case_id=case.id or 0,
            reporter_id=reporter.id or 0,
            url=url,
            text=text,
            department=reporter.department,
            platform=platform,
            created_at=now,
        )
    )
    if merged:
        filed = merge(session, config, case, reporter, text, now)
    else:
        filed = route_and_notify(session, config, case, reporter, now)
    if case.severity == "critical":
        filed.outgoing += propose_crisis(session, config, content, case, now)
    return filed


def open_case(
    session: Session, config: AppConfig, reporter: Member, url: str, text: str, now: datetime
) -> Case | None:
    """A new case, triaged and routed; None when the database refuses it (its mention's key
    in this window is taken by a report filed at the same moment)."""
    found = triage_service.classify(session, text, reporters=1)
    routed = route(config, found.category, text, url, reporter.department)
    due = now + deadline(config, found.severity)
    case = Case(
        url=url,
        url_key=url_key(url),
        text=text,
        category=found.category,
        severity=found.severity,
        reasons=reasons_of(found),
        department=routed.department,
        opened_by_id=reporter.id or 0,
        created_at=now,
        acknowledge_by=due,
        next_escalation_at=due,
        merge_key=merge_key(config, url, now),
    )
    try:
        with session.begin_nested():  # a savepoint: a refused key leaves the rest intact
            session.add(case)
    except IntegrityError:
        if session.exec(select(Case.id).where(Case.merge_key == case.merge_key)).first() is None:
            raise  # another conflict than the mention's key
        return None
    step(
        session,
        case,
        "opened",
        now,
        reporter.id,
        category=case.category,
        severity=case.severity,
    )
    step(
        session,
        case,
        "routed",
        now,
        detail=routed.department or "",
        rule=routed.rule,
        keyword=routed.keyword,
    )
    record(
        session,
        "case_opened",
        reporter.id,
        str(case.id),
        None,
        department=case.department,
        category=case.category,
        severity=case.severity,
    )
    return case


def route_and_notify(
    session: Session, config: AppConfig, case: Case, actor: Member | None, now: datetime
) -> Filed:
    """Send the case to its department's first responders (and inform the hub)."""
    exclude = {case.opened_by_id}
    if actor is not None and actor.id is not None:
        exclude.add(actor.id)
    where, responders = first_responders(session, config, case.department, exclude)
    outgoing = assign(session, config, case, where, responders, now, round_=0)
    told = informed(session, config, where, responders, exclude)
    outgoing += urgent(
        config,
        case,
        told,
        f"case:{case.id}:informed:{now.timestamp():.0f}",
        lambda tr: messages.case_card(
            session,
            case,
            config,
            tr,
            intro=messages.informed_intro(tr, case, config),
            actions=False,
        ),
    )
    step(session, case, "notified", now, detail=where, people=len(responders), informed=len(told))
    return Filed(case, merged=False, responders=responders, outgoing=outgoing)


def assign(
    session: Session,
    config: AppConfig,
    case: Case,
    where: str,
    people: list[Member],
    now: datetime,
    round_: int,
    intro: Callable[[Tr], str] | None = None,
) -> list[Outgoing]:
    """Ask these people to handle the case: an assignment each, and the case card."""
    for member in people:
        session.add(
            CaseAssignment(
                case_id=case.id or 0, member_id=member.id or 0, step=where, notified_at=now
            )
        )
    return urgent(
        config,
        case,
        people,
        f"case:{case.id}:{where}:{round_}:{now.timestamp():.0f}",
        lambda tr: messages.case_card(
            session, case, config, tr, intro=intro(tr) if intro else None
        ),
    )


def urgent(
    config: AppConfig,
    case: Case,
    people: list[Member],
    key: str,
    message: Callable[[Tr], Message],
) -> list[Outgoing]:
    """The case's urgent operational message to each of these people, in their own language."""
    return [
        notify.to_member(
            member,
            config,
            message(Tr(member.language)),
            key=key,
            kind="escalation",
            purpose=OPERATIONAL,
            subject=str(case.id),
            priority=PRIORITY_URGENT,
        )
        for member in people
    ]


def merge(
    session: Session, config: AppConfig, case: Case, reporter: Member, text: str, now: datetime
) -> Filed:
    """One more reporter: count them, triage again with the count, tighten the deadline."""
    session.execute(
        update(Case).where(Case.id == case.id).values(reporters=Case.reporters + 1)  # type: ignore[arg-type]
    )
    session.refresh(case)
    combined = case.text if not text or text in case.text else f"{case.text}\n{text}".strip()
    found = triage_service.classify(session, combined, reporters=case.reporters)
    before = case.severity
    if SEVERITY_RANK.get(found.severity, 1) > SEVERITY_RANK.get(case.severity, 1):
        case.severity = found.severity
        if case.status == OPEN and case.escalation_step == 0 and case.acknowledge_by:
            sooner = as_utc(case.created_at) + deadline(config, found.severity)
            if sooner < as_utc(case.acknowledge_by):
                case.acknowledge_by = case.next_escalation_at = max(sooner, now)
    corrected = session.exec(
        select(CaseStep.id).where(CaseStep.case_id == case.id, CaseStep.kind == "corrected")
    ).first()
    if case.status == OPEN and corrected is None:  # a relay's correction stands
        case.category = found.category
    case.reasons = reasons_of(found)
    case.text = combined[:4000]
    session.add(case)
    step(
        session,
        case,
        "merged",
        now,
        reporter.id,
        reporters=case.reporters,
        severity=case.severity,
        severity_before=before,
    )
    return Filed(case, merged=True)


# --- what relays do with a case --------------------------------------------


def acknowledge(session: Session, case: Case, member: Member, now: datetime, platform: str) -> bool:
    """Take the case: one conditional UPDATE, so of two relays clicking at once one wins."""
    taken = session.execute(
        update(Case)
        .where(Case.id == case.id, Case.status == OPEN)  # type: ignore[arg-type]
        .values(
            status=ACKNOWLEDGED, owner_id=member.id, acknowledged_at=now, next_escalation_at=None
        )
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(case)
    if not taken:
        return False
    minutes = int((now - as_utc(case.created_at)).total_seconds() // 60)
    step(session, case, "acknowledged", now, member.id)
    record(
        session,
        "case_acknowledged",
        member.id,
        str(case.id),
        platform,
        department=case.department,
        minutes=minutes,
    )
    record(
        session,
        "report_acknowledged",
        member.id,
        str(case.id),
        platform,
        seconds=int((now - as_utc(case.created_at)).total_seconds()),
        late=bool(case.acknowledge_by and now > as_utc(case.acknowledge_by)),
    )
    return True


def close(
    session: Session,
    case: Case,
    member: Member,
    status: str,
    now: datetime,
    platform: str,
    note: str = "",
) -> bool:
    """Resolve a case (with what was done) or mark it not relevant; False if already closed."""
    assert status in (RESOLVED, NOT_RELEVANT)
    done = session.execute(
        update(Case)
        .where(Case.id == case.id, Case.status.in_(ACTIVE))  # type: ignore[arg-type,attr-defined]
        .values(
            status=status,
            owner_id=func.coalesce(Case.owner_id, member.id),
            closed_at=now,
            next_escalation_at=None,
            note=note[:2000],
            merge_key=None,  # the mention may be reported again as a new case
        )
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(case)
    if not done:
        return False
    step(session, case, status, now, member.id, detail=note[:2000])
    record(
        session,
        "case_resolved",
        member.id,
        str(case.id),
        platform,
        status=status,
        department=case.department,
    )
    return True


def add_note(session: Session, case: Case, member: Member, note: str, now: datetime) -> None:
    """A note on a closed case (what was done, written after the click)."""
    case.note = note[:2000]
    session.add(case)
    step(session, case, "noted", now, member.id, detail=note[:2000])


def reassign(
    session: Session, config: AppConfig, case: Case, member: Member, department: str, now: datetime
) -> Filed:
    """Send the case to another department: open again, a new deadline, new responders."""
    due = now + deadline(config, case.severity)
    session.execute(
        update(Case)
        .where(Case.id == case.id)
        .values(
            department=department,
            status=OPEN,
            owner_id=None,
            acknowledged_at=None,
            escalation_step=0,
            acknowledge_by=due,
            next_escalation_at=due,
        )
    )
    session.refresh(case)
    step(session, case, "reassigned", now, member.id, detail=department)
    return route_and_notify(session, config, case, member, now)


def correct_category(
    session: Session, case: Case, member: Member, category: str, now: datetime
) -> str:
    """A relay says triage got the category wrong: the case takes theirs; triage learns it."""
    before = case.category
    triage_service.record_correction(
        session,
        text=case.text,
        predicted=before,
        corrected=category,
        member_id=member.id or 0,
        at=now,
    )
    case.category = category
    session.add(case)
    step(session, case, "corrected", now, member.id, detail=category, before=before)
    return before


# --- the escalation chain --------------------------------------------------


def escalate_due(engine: Engine, config: AppConfig, now: datetime) -> int:
    """Fire the next step of every case whose deadline passed: one query when none is due.

    Returns how many messages were queued. Each case is escalated in its own
    transaction, so one case's trouble does not hold back the others.
    """
    with session_scope(engine) as session:
        due = session.exec(
            select(Case.id, Case.escalation_step)
            .where(Case.next_escalation_at <= now)  # type: ignore[operator]
            .order_by(Case.next_escalation_at)
            .limit(DUE_BATCH)
        ).all()
    queued = 0
    for case_id, fired in due:
        with session_scope(engine) as session:
            items = escalate(session, config, case_id, fired, now)
            queued += len(enqueue_many(session, items, now))
    return queued


def escalate(
    session: Session, config: AppConfig, case_id: int, fired: int, now: datetime
) -> list[Outgoing]:
    """The next step of the chain for one case (steps with nobody new are passed through)."""
    case = session.get(Case, case_id)
    if case is None or case.status != OPEN or case.escalation_step != fired:
        return []
    chain = config.escalation.chain
    total = len(chain) + config.escalation.repeats
    assigned = set(
        session.exec(
            select(CaseAssignment.member_id).where(CaseAssignment.case_id == case.id)
        ).all()
    )
    number = fired
    people: list[Member] = []
    where = "repeat"
    passed: list[tuple[int, str]] = []  # steps with nobody new in them, written once claimed
    while number < total:
        number += 1
        if number <= len(chain):
            where = chain[number - 1]
            people = [
                m
                for m in step_people(session, config, case.department, where)
                if m.id not in assigned and m.id != case.opened_by_id
            ]
            if people:
                break
            passed.append((number, where))
        else:
            where = "repeat"
            people = list(
                session.exec(
                    select(Member)
                    .where(Member.id.in_(assigned), Member.left_at.is_(None))  # type: ignore[union-attr]
                    .order_by(Member.id)  # type: ignore[arg-type]
                ).all()
            )
            break
    base = as_utc(case.next_escalation_at or now)
    later = base + deadline(config, case.severity) if number < total else None
    # Claim the step first: of two runs racing on one case, only one writes anything.
    moved = session.execute(
        update(Case)
        .where(Case.id == case.id, Case.status == OPEN, Case.escalation_step == fired)  # type: ignore[arg-type]
        .values(escalation_step=number, next_escalation_at=later)
    ).rowcount  # type: ignore[attr-defined]
    if not moved:
        return []
    for skipped, name in passed:
        step(session, case, "escalated", now, detail=name, number=skipped, people=0)
        record(session, "case_escalated", None, str(case.id), None, step=skipped, to=name)
    if not people:
        return []
    session.refresh(case)
    step(session, case, "escalated", now, detail=where, number=number, people=len(people))
    record(session, "case_escalated", None, str(case.id), None, step=number, to=where)
    if where == "repeat":
        return urgent(
            config,
            case,
            people,
            f"case:{case.id}:repeat:{number}",
            lambda tr: messages.case_card(
                session, case, config, tr, intro=messages.reminder_intro(tr, case, config)
            ),
        )
    return assign(
        session,
        config,
        case,
        where,
        people,
        now,
        round_=number,
        intro=lambda tr: messages.escalated_intro(tr, case, config, number, where),
    )


# --- proposing a crisis ----------------------------------------------------


def playbook_for(config: AppConfig, case: Case) -> str | None:
    proposal = config.escalation.crisis_proposal
    if proposal is None:
        return None
    for rule in proposal.playbooks:
        if rule.categories and case.category not in rule.categories:
            continue
        if rule.keywords and not has_keyword(f"{case.text} {case.url}", rule.keywords):
            continue
        return rule.playbook
    return proposal.default_playbook


def propose_crisis(
    session: Session, config: AppConfig, content: object, case: Case, now: datetime
) -> list[Outgoing]:
    """Enough critical cases on one subject (a category) lately: offer the crisis cell a crisis.

    Proposed once per subject and window; the ``crisis.declare`` button is the
    crisis capability's, carrying the playbook chosen by category or keywords.
    """
    proposal = config.escalation.crisis_proposal
    if proposal is None:
        return []
    since = now - timedelta(minutes=proposal.within_minutes)
    critical = session.exec(
        select(Case).where(
            Case.severity == "critical",
            Case.category == case.category,
            Case.created_at >= since,
            Case.status != NOT_RELEVANT,
        )
    ).all()
    if len(critical) < proposal.critical_cases:
        return []
    already = session.exec(
        select(CaseStep.id).where(
            CaseStep.kind == "crisis_proposed",
            CaseStep.detail == case.category,
            CaseStep.at >= since,
        )
    ).first()
    if already is not None:
        return []
    playbook = playbook_for(config, case)
    if playbook is None:
        return []
    step(
        session,
        case,
        "crisis_proposed",
        now,
        detail=case.category,
        playbook=playbook,
        cases=len(critical),
    )
    people = active_members(
        session, [*config.people.coordinators, *(p.email for p in config.people.crisis_cell)]
    )
    return urgent(
        config,
        case,
        people,
        f"crisis-proposal:{case.category}:{case.id}",
        lambda tr: messages.crisis_proposal(
            tr, content, case, critical, playbook, proposal.within_minutes
        ),
    )
