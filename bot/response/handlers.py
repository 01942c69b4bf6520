"""`report <url> [text]`, the relays' Acknowledge button, and `reports` (what is waiting)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

from babel.dates import format_time
from sqlalchemy import update
from sqlmodel import Session, select

from bot import notify, permissions
from bot.clock import as_utc, local, utcnow
from bot.config import AppConfig
from bot.delivery.models import OPERATIONAL, PRIORITY_REPLY
from bot.events import record_id
from bot.i18n import N_, Tr
from bot.members.models import Member
from bot.messages import MAX_URL, Actions, Button, ContextLine, Link, Message, Section
from bot.participation.models import record
from bot.permissions import Target
from bot.registry import Context, Registry, UserError
from bot.response.models import MentionReport, ReportAssignment

ACK_ACTION = "report.ack"
OPEN_REPORTS_SHOWN = 10


def report_message(
    entry: MentionReport, reporter: Member | None, config: AppConfig, tr: Tr
) -> Message:
    """A reported mention as a relay sees it, with its Acknowledge button.

    The button carries the report's id: it works from any copy of the message
    (the notification, the `reports` list) for as long as the report is open.
    """
    department = config.department(entry.department)
    where = department.name.get(tr.lang, department.id) if department else tr("no department")
    name = reporter.name if reporter else "?"
    return Message(
        text=tr("New mention reported by {name}", name=name),
        blocks=[
            Section(
                title=tr(
                    "New mention reported by {name} ({department})", name=name, department=where
                ),
                text=entry.text or tr("(no comment)"),
            ),
            Link(url=entry.url, label=tr("Open the mention")),
            ContextLine(
                text=tr.plural(
                    "Please acknowledge within {minutes} minute, then follow the response process.",
                    "Please acknowledge within {minutes} minutes, then follow the response "
                    "process.",
                    config.escalation.acknowledge_within_minutes,
                    minutes=config.escalation.acknowledge_within_minutes,
                )
            ),
            Actions(
                buttons=[
                    Button(
                        label=tr("Acknowledge"),
                        action_id=ACK_ACTION,
                        value=str(entry.id),
                        style="primary",
                    )
                ]
            ),
        ],
    )


def report_target(session: Session, entry: MentionReport) -> Target:
    """A report as the permission model sees it: its department and the people it went to."""
    holders = session.exec(
        select(ReportAssignment.member_id).where(ReportAssignment.report_id == entry.id)
    ).all()
    return Target(department=entry.department, holders=frozenset(holders))


def first_responders(ctx: Context, reporter: Member) -> tuple[str, list[Member]]:
    """The first step of the escalation path that has someone to notify, and those people."""
    config = ctx.config
    department = config.department(reporter.department)
    for step in config.programme.effective("escalation_path"):
        emails: list[str] = []
        if step == "department_relays" and department:
            emails = list(department.relays)
            emails += [
                m.email
                for m in ctx.session.exec(
                    select(Member).where(
                        Member.department == department.id,
                        Member.opted_in.is_(True),
                        Member.left_at.is_(None),
                    )
                ).all()
                if "relay" in m.roles
            ]
        elif step == "business_unit_hubs" and department and department.business_unit:
            unit = next(
                (u for u in config.business_units if u.id == department.business_unit), None
            )
            emails = list(unit.hubs) if unit else []
        elif step == "central_team":
            emails = list(config.people.coordinators)
        elif step == "crisis_cell":
            emails = [person.email for person in config.people.crisis_cell]
        found = [
            m
            for m in ctx.session.exec(
                select(Member).where(
                    Member.email.in_(sorted(set(emails))),  # type: ignore[attr-defined]
                    Member.left_at.is_(None),  # people who left the company get nothing
                )
            ).all()  # type: ignore[attr-defined]
            if m.id != reporter.id
        ]
        if found:
            return step, found
    coordinators = [
        m
        for m in ctx.session.exec(
            select(Member).where(
                Member.email.in_(config.people.coordinators),  # type: ignore[attr-defined]
                Member.left_at.is_(None),
            )
        ).all()
        if m.id != reporter.id
    ]  # type: ignore[attr-defined]
    return "central_team", coordinators


def register(registry: Registry) -> None:
    @registry.command(
        "report",
        N_("report a worrying mention: report <link> [what you saw]"),
        usage="<url> [text]",
        action=permissions.REPORT,
        aliases=("signaler",),
    )
    def report(ctx: Context) -> None:
        tr = ctx.tr
        url, _, text = getattr(ctx.event, "args", "").strip().partition(" ")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise UserError(
                tr(
                    "Give the link to the post, then what worries you. For example: "
                    "report https://x.com/someone/status/123 an angry customer"
                )
            )
        if len(url) > MAX_URL:  # kept whole or not at all: a cut link leads nowhere
            raise UserError(
                tr(
                    "That link is longer than {limit} characters: give the address of the post "
                    "itself, without tracking parameters.",
                    limit=MAX_URL,
                )
            )
        now = utcnow()
        minutes = ctx.config.escalation.acknowledge_within_minutes
        reporter = ctx.member
        entry = MentionReport(
            reporter_id=reporter.id or 0,
            url=url,
            text=text.strip()[:4000],
            department=reporter.department,
            platform=ctx.event.who.platform,
            created_at=now,
            acknowledge_by=now + timedelta(minutes=minutes),
        )
        ctx.session.add(entry)
        ctx.session.flush()
        step, responders = first_responders(ctx, reporter)
        outgoing = []
        for responder in responders:
            ctx.session.add(
                ReportAssignment(
                    report_id=entry.id or 0, member_id=responder.id or 0, step=step, notified_at=now
                )
            )
            outgoing.append(
                notify.to_member(
                    responder,
                    ctx.config,
                    report_message(entry, reporter, ctx.config, Tr(responder.language)),
                    key=f"report:{entry.id}",
                    kind="escalation",
                    purpose=OPERATIONAL,
                    subject=str(entry.id),
                    priority=PRIORITY_REPLY,
                )
            )
        ctx.enqueue(outgoing)
        record(
            ctx.session,
            "mention_reported",
            reporter.id,
            str(entry.id),
            ctx.event.who.platform,
            routed_to=step,
            responders=len(responders),
        )
        if responders:
            ctx.reply(
                tr.plural(
                    "Thank you! Your report went to {count} person of the response team. "
                    "You will hear when someone takes it in charge.",
                    "Thank you! Your report went to {count} people of the response team. "
                    "You will hear when someone takes it in charge.",
                    len(responders),
                    count=len(responders),
                )
            )
        else:
            ctx.reply(
                tr(
                    "Thank you! Your report is recorded, but nobody in the programme can receive it yet: "
                    "please tell your programme coordinator."
                )
            )

    @registry.action(ACK_ACTION)  # the report decides who may: see report_target
    def acknowledge(ctx: Context) -> None:
        tr = ctx.tr
        report_id = record_id(getattr(ctx.event, "value", ""))
        if report_id is None:
            raise UserError(tr("That button is no longer in use."))
        entry = ctx.session.get(MentionReport, report_id)
        if entry is None:
            raise UserError(tr("That report no longer exists."))
        if not ctx.can(permissions.ACKNOWLEDGE, report_target(ctx.session, entry)):
            raise UserError(
                tr("This report was sent to other people; only they or a coordinator can take it.")
            )
        now = utcnow()
        # One conditional update: of two relays clicking at once, exactly one takes it.
        taken = ctx.session.execute(
            update(MentionReport)
            .where(MentionReport.id == entry.id, MentionReport.acknowledged_by_id.is_(None))  # type: ignore[union-attr]
            .values(acknowledged_by_id=ctx.member.id, acknowledged_at=now)
        ).rowcount  # type: ignore[attr-defined]
        ctx.session.refresh(entry)
        if not taken:
            who = ctx.session.get(Member, entry.acknowledged_by_id)
            when = format_time(
                local(entry.acknowledged_at or now, ctx.member.time_zone),
                format="short",
                locale=tr.lang,
            )
            ctx.reply(
                tr(
                    "{name} already took this report in charge at {time}.",
                    name=who.name if who else "?",
                    time=when,
                )
            )
            return
        record(
            ctx.session,
            "report_acknowledged",
            ctx.member.id,
            str(entry.id),
            ctx.event.who.platform,
            seconds=int((now - as_utc(entry.created_at)).total_seconds()),
            late=now > as_utc(entry.acknowledge_by),
        )
        ctx.reply(tr("Thank you, the report is yours. The reporter has been told."))
        reporter = ctx.session.get(Member, entry.reporter_id)
        if reporter is not None:
            rtr = Tr(reporter.language)
            text = rtr("{name} took your report in charge.", name=ctx.member.name)
            ctx.enqueue(
                [
                    notify.to_member(
                        reporter,
                        ctx.config,
                        Message(
                            text=text,
                            blocks=[
                                Section(text=text),
                                Link(url=entry.url, label=rtr("Open the mention")),
                            ],
                        ),
                        key=f"report-ack:{entry.id}",
                        kind="reply",
                        purpose=OPERATIONAL,
                        subject=str(entry.id),
                        priority=PRIORITY_REPLY,
                    )
                ],
            )

    @registry.command(
        "reports",
        N_("the reported mentions waiting for someone to take them in charge"),
        action=permissions.REPORTS_LIST,
        aliases=("signalements",),
    )
    def reports(ctx: Context) -> None:
        """Open reports the member may take, oldest first, each with its working button."""
        tr = ctx.tr
        reach = ctx.reach(permissions.REPORTS_LIST)
        query = select(MentionReport).where(MentionReport.acknowledged_by_id.is_(None))  # type: ignore[union-attr]
        if not reach.programme:
            departments = {d.id for d in permissions.departments_in(reach, ctx.config)}
            assigned = select(ReportAssignment.report_id).where(
                ReportAssignment.member_id == ctx.member.id
            )
            query = query.where(
                MentionReport.department.in_(sorted(departments))  # type: ignore[union-attr]
                | MentionReport.id.in_(assigned)  # type: ignore[union-attr]
            )
        found = ctx.session.exec(
            query.order_by(MentionReport.created_at, MentionReport.id).limit(  # type: ignore[arg-type]
                OPEN_REPORTS_SHOWN + 1
            )
        ).all()
        if not found:
            ctx.reply(tr("No reported mention is waiting: thank you!"))
            return
        reporters = {
            m.id: m
            for m in ctx.session.exec(
                select(Member).where(Member.id.in_({e.reporter_id for e in found}))  # type: ignore[union-attr]
            ).all()
        }
        shown = found[:OPEN_REPORTS_SHOWN]
        ctx.reply(
            tr(
                "Reported mentions waiting to be taken in charge, oldest first: {count}.",
                count=len(shown),
            )
            if len(found) <= OPEN_REPORTS_SHOWN
            else tr(
                "The {count} oldest reported mentions waiting (there are more).",
                count=len(shown),
            )
        )
        for entry in shown:
            ctx.reply(report_message(entry, reporters.get(entry.reporter_id), ctx.config, tr))
