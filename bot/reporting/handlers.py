"""`stats`: your own figures; a manager's departments; the whole programme for coordinators."""

from __future__ import annotations

from bot.clock import utcnow
from bot.core import Context, Registry
from bot.i18n import N_
from bot.messages import Context as ContextLine
from bot.messages import Message, Section
from bot.reporting.stats import figures, in_words, period_start

DAYS = 7


def register(registry: Registry) -> None:
    @registry.command(
        "stats", N_("participation figures for the last 7 days"), aliases=("statistiques",)
    )
    def stats(ctx: Context) -> None:
        tr = ctx.tr
        since = period_start(utcnow(), DAYS)
        roles = ctx.roles
        blocks: list = []
        mine = figures(ctx.session, since, member_id=ctx.member.id)
        blocks.append(
            Section(
                title=tr.plural(
                    "You, over the last {days} day",
                    "You, over the last {days} days",
                    DAYS,
                    days=DAYS,
                ),
                text=tr.plural(
                    "{answered} lesson answer, {right:.0%} right;",
                    "{answered} lesson answers, {right:.0%} right;",
                    mine.lessons_answered,
                    answered=mine.lessons_answered,
                    right=mine.right_share,
                )
                + " "
                + tr.plural(
                    "{reports} mention reported.",
                    "{reports} mentions reported.",
                    mine.reports,
                    reports=mine.reports,
                ),
            )
        )
        if "coordinator" in roles:
            blocks.append(
                Section(
                    title=tr("The whole programme"), text=in_words(figures(ctx.session, since), tr)
                )
            )
        if "manager" in roles or "coordinator" in roles:
            managed = [
                d
                for d in ctx.config.departments
                if "coordinator" in roles or ctx.member.email in d.managers
            ]
            for department in managed:
                name = department.name.get(tr.lang) or department.id
                blocks.append(
                    Section(
                        title=name, text=in_words(figures(ctx.session, since, [department.id]), tr)
                    )
                )
        blocks.append(
            ContextLine(
                text=tr.plural(
                    "Figures for the last {days} day.",
                    "Figures for the last {days} days.",
                    DAYS,
                    days=DAYS,
                )
            )
        )
        ctx.reply(Message(text=tr("Participation figures"), blocks=blocks))
