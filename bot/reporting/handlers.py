"""`stats [period] [department]`: your own figures; your departments; the whole programme.

The permission model decides the scope: an ambassador sees their own figures,
a relay their department, a manager the departments they manage, a
coordinator everything. `stats definitions` says what each figure means.
"""

from __future__ import annotations

from bot import permissions
from bot.clock import utcnow
from bot.i18n import N_, Tr
from bot.messages import ContextLine, Link, Message, Section
from bot.registry import Context, Registry, UserError
from bot.reporting import access, service, words
from bot.reporting.measures import Report
from bot.reporting.periods import PeriodError


def own_words(report: Report, tr: Tr) -> str:
    figures = report.figures()
    answered = figures["lessons_answered"][0]
    right = figures["right_first_try"][0]
    answers = (
        tr.plural(
            "{answered} lesson answer, {right:.0%} right at first try;",
            "{answered} lesson answers, {right:.0%} right at first try;",
            answered,
            answered=answered,
            right=right or 0.0,
        )
        if answered
        else tr("No lesson answered in the period;")
    )
    lines = [
        answers
        + " "
        + tr.plural(
            "{n} mention reported.",
            "{n} mentions reported.",
            figures["mentions_reported"][0],
            n=figures["mentions_reported"][0],
        ),
        tr.plural(
            "{clicks} share link click, {declared} share declared.",
            "{clicks} share link clicks, {declared} shares declared.",
            figures["share_clicks"][0],
            clicks=figures["share_clicks"][0],
            declared=figures["shares_declared"][0],
        ),
    ]
    if report.charter_version is not None:
        accepted = report.total().charter_accepted
        lines.append(
            tr("You accepted the current charter.")
            if accepted
            else tr("You have not accepted the current charter yet: type “charter”.")
        )
    return "\n".join(f"• {line}" for line in lines)


# More departments than this are listed one line each (a chat message stays short).
COMPACT_ABOVE = 6


def dashboard(ctx: Context) -> None:
    """`dashboard`: a single-use sign-in link to the web dashboard, for this member only."""
    tr = ctx.tr
    try:
        access.secret_for(ctx.relais.engine)
    except access.NoSecret:
        raise UserError(
            tr(
                "The dashboard is not switched on: ask the person who runs Relais to set "
                "RELAIS_DASHBOARD_SECRET."
            )
        ) from None
    link = access.new_link(ctx.session, ctx.member)
    ctx.reply(
        Message(
            text=tr("Your sign-in link to the dashboard"),
            blocks=[
                Section(
                    text=tr(
                        "Here is your sign-in link to the dashboard. It works once, for 15 "
                        "minutes, and only for you: do not pass it on."
                    )
                ),
                Link(url=link, label=tr("Open the dashboard")),
            ],
        )
    )


# Typed as `stats`' aliases, these ask for a sign-in link to the dashboard instead of figures.
DASHBOARD = ("dashboard", "tableau")


def register(registry: Registry) -> None:
    @registry.command(
        "stats",
        N_("participation figures: stats [week|month|quarter|last-week…] [department]"),
        usage="[period] [department]",
        action=permissions.STATS,
        # `dashboard` is `stats` asked for the web view: one command fewer among the ten
        # Teams suggests, under the same permission.
        aliases=("statistiques", *DASHBOARD),
    )
    def stats(ctx: Context) -> None:
        tr = ctx.tr
        args = getattr(ctx.event, "args", "").strip()
        if getattr(ctx.event, "name", "") in DASHBOARD or args.lower() in DASHBOARD:
            dashboard(ctx)
            return
        if args.lower() in ("definitions", "définitions", "help", "aide"):
            ctx.reply(
                Message(
                    text=tr("What the figures mean"),
                    blocks=[
                        Section(
                            title=tr("What the figures mean"),
                            text="\n".join(f"• {line}" for line in words.definitions(tr)),
                        )
                    ],
                )
            )
            return
        scope = service.scope_of(ctx.reach(permissions.STATS), ctx.config)
        try:
            period, scope = service.parse_arguments(args, scope, ctx.config, utcnow(), tr)
        except (PeriodError, ValueError) as exc:
            raise UserError(str(exc)) from None
        narrowed = scope != service.scope_of(ctx.reach(permissions.STATS), ctx.config)
        blocks: list = []
        label = period.label(tr)
        if not narrowed:
            mine = service.build(ctx.session, ctx.config, ctx.content, period, scope, ctx.member.id)
            blocks.append(
                Section(title=tr("You — {period}", period=label), text=own_words(mine, tr))
            )
        if scope.programme or scope.departments:
            report = service.build(ctx.session, ctx.config, ctx.content, period, scope)
            target = ctx.config.escalation.deadline_minutes.normal

            def said(departments: list[str] | None) -> str:
                return "\n".join(f"• {s}" for s in words.sentences(report, tr, departments, target))

            if scope.programme:
                blocks.append(Section(title=tr("The whole programme"), text=said(None)))
            if len(scope.departments) > COMPACT_ABOVE or (
                scope.programme and len(scope.departments) > 1
            ):
                blocks.append(
                    Section(
                        title=tr("By department"),
                        text="\n".join(
                            f"• *{service.name_of(d, tr)}*: {words.headline(report, tr, [d.id])}"
                            for d in scope.departments
                        ),
                    )
                )
            else:
                for department in scope.departments:
                    blocks.append(
                        Section(title=service.name_of(department, tr), text=said([department.id]))
                    )
        blocks.append(
            ContextLine(
                text=tr(
                    "Period: {period}, compared with the one before. "
                    "“stats definitions” says what each figure means.",
                    period=label,
                )
            )
        )
        ctx.reply(Message(text=tr("Participation figures"), blocks=blocks))
