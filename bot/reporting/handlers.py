"""`stats`: your own figures; a manager's departments; the whole programme for coordinators."""

from __future__ import annotations

from bot import permissions
from bot.clock import utcnow
from bot.i18n import N_
from bot.messages import ContextLine, Message, Section
from bot.registry import Context, Registry
from bot.reporting.stats import figures, in_words, period_start

DAYS = 7


def register(registry: Registry) -> None:
    @registry.command(
        "stats",
        N_("participation figures for the last 7 days"),
        action=permissions.STATS,
        aliases=("statistiques",),
    )
    def stats(ctx: Context) -> None:
        tr = ctx.tr
        since = period_start(utcnow(), DAYS)
        reach = ctx.reach(permissions.STATS)
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
        if reach.programme:
            blocks.append(
                Section(
                    title=tr("The whole programme"), text=in_words(figures(ctx.session, since), tr)
                )
            )
        for department in permissions.departments_in(reach, ctx.config):
            name = department.name.get(tr.lang) or department.id
            blocks.append(
                Section(title=name, text=in_words(figures(ctx.session, since, [department.id]), tr))
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
