"""`report <url> [text]`, and the relays' Acknowledge button."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

from babel.dates import format_time
from sqlmodel import select

from bot.clock import as_utc, local, utcnow
from bot.core import Context, Registry, UserError
from bot.delivery.models import OPERATIONAL, PRIORITY_REPLY
from bot.delivery.outbox import Outgoing
from bot.i18n import N_, Tr
from bot.members import service as members
from bot.members.models import Member
from bot.messages import Actions, Button, Link, Message, Section
from bot.messages import Context as ContextLine
from bot.participation.models import record
from bot.response.models import MentionReport, ReportAssignment

ACK_ACTION = "report.ack"


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
                        Member.department == department.id, Member.opted_in.is_(True)
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
                select(Member).where(Member.email.in_(sorted(set(emails))))
            ).all()  # type: ignore[attr-defined]
            if m.id != reporter.id
        ]
        if found:
            return step, found
    coordinators = [
        m
        for m in ctx.session.exec(
            select(Member).where(Member.email.in_(config.people.coordinators))
        ).all()
        if m.id != reporter.id
    ]  # type: ignore[attr-defined]
    return "central_team", coordinators


def register(registry: Registry) -> None:
    @registry.command(
        "report",
        N_("report a worrying mention: report <link> [what you saw]"),
        usage="<url> [text]",
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
        now = utcnow()
        minutes = ctx.config.escalation.acknowledge_within_minutes
        reporter = ctx.member
        entry = MentionReport(
            reporter_id=reporter.id or 0,
            url=url[:2000],
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
        department = ctx.config.department(reporter.department)
        for responder in responders:
            rtr = Tr(responder.language)
            where = (
                department.name.get(rtr.lang, department.id) if department else rtr("no department")
            )
            ctx.session.add(
                ReportAssignment(
                    report_id=entry.id or 0, member_id=responder.id or 0, step=step, notified_at=now
                )
            )
            message = Message(
                text=rtr("New mention reported by {name}", name=reporter.name),
                blocks=[
                    Section(
                        title=rtr(
                            "New mention reported by {name} ({department})",
                            name=reporter.name,
                            department=where,
                        ),
                        text=entry.text or rtr("(no comment)"),
                    ),
                    Link(url=entry.url, label=rtr("Open the mention")),
                    ContextLine(
                        text=rtr(
                            "Please acknowledge within {minutes} minutes, then follow the response "
                            "process.",
                            minutes=minutes,
                        )
                    ),
                    Actions(
                        buttons=[
                            Button(
                                label=rtr("Acknowledge"),
                                action_id=ACK_ACTION,
                                value=str(entry.id),
                                style="primary",
                            )
                        ]
                    ),
                ],
            )
            outgoing.append(
                Outgoing(
                    member_id=responder.id or 0,
                    platform=members.platform_for(responder, ctx.config),
                    dedupe_key=f"report:{entry.id}",
                    kind="escalation",
                    subject=str(entry.id),
                    message=message,
                    priority=PRIORITY_REPLY,
                    purpose=OPERATIONAL,
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
                tr(
                    "Thank you! Your report went to {count} person(s) of the response team. "
                    "You will hear when someone takes it in charge.",
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

    @registry.action(ACK_ACTION)
    def acknowledge(ctx: Context) -> None:
        tr = ctx.tr
        try:
            report_id = int(getattr(ctx.event, "value", ""))
        except ValueError:
            raise UserError(tr("That button is no longer in use.")) from None
        entry = ctx.session.get(MentionReport, report_id)
        if entry is None:
            raise UserError(tr("That report no longer exists."))
        assigned = ctx.session.exec(
            select(ReportAssignment).where(
                ReportAssignment.report_id == entry.id, ReportAssignment.member_id == ctx.member.id
            )
        ).first()
        if assigned is None and "coordinator" not in ctx.roles:
            raise UserError(
                tr("This report was sent to other people; only they or a coordinator can take it.")
            )
        if entry.acknowledged_by_id is not None:
            who = ctx.session.get(Member, entry.acknowledged_by_id)
            when = format_time(
                local(entry.acknowledged_at or utcnow(), ctx.member.time_zone),
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
        now = utcnow()
        entry.acknowledged_by_id = ctx.member.id
        entry.acknowledged_at = now
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
                    Outgoing(
                        member_id=reporter.id or 0,
                        platform=members.platform_for(reporter, ctx.config),
                        dedupe_key=f"report-ack:{entry.id}",
                        kind="reply",
                        purpose=OPERATIONAL,
                        subject=str(entry.id),
                        message=Message(
                            text=text,
                            blocks=[
                                Section(text=text),
                                Link(url=entry.url, label=rtr("Open the mention")),
                            ],
                        ),
                        priority=PRIORITY_REPLY,
                    )
                ],
            )
