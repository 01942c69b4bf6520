"""Figures in plain words, for people with no time to decode metrics.

Shared by `stats`, the weekly digest and the dashboard's summaries: a few
sentences per scope, each figure compared with the period before, and what
needs attention said as such.
"""

from __future__ import annotations

from typing import Any

from bot.i18n import Tr
from bot.reporting.measures import MEASURES, Report, duration


def trend_share(now: float | None, before: float | None, tr: Tr) -> str:
    """', up from 22 %' (to follow a share in brackets); empty without a comparison."""
    if now is None or before is None:
        return ""
    if round(now, 2) > round(before, 2):
        return ", " + tr("up from {before:.0%}", before=before)
    if round(now, 2) < round(before, 2):
        return ", " + tr("down from {before:.0%}", before=before)
    return ", " + tr("as before")


def trend_count(now: int, before: int | None, tr: Tr) -> str:
    if before is None:
        return ""
    if now > before:
        return " " + tr("(up from {before})", before=before)
    if now < before:
        return " " + tr("(down from {before})", before=before)
    return " " + tr("(as before)")


def networks(clicks: dict[str, int]) -> str:
    return ", ".join(
        f"{name.capitalize()} {n}"
        for name, n in sorted(clicks.items(), key=lambda i: (-i[1], i[0]))
    )


def sentences(
    report: Report,
    tr: Tr,
    departments: list[str] | None = None,
    target_minutes: int | None = None,
) -> list[str]:
    """What happened in the scope, then what needs attention; every line a full sentence."""
    figures: dict[str, tuple[Any, Any]] = report.figures(departments)
    tally = report.total(departments)
    lines: list[str] = []
    active = figures["active"][0]
    share, share_before = figures["active_share"]
    if tally.opted_in:
        lines.append(
            tr.plural(
                "{active} of {opted_in} ambassador active ({share:.0%}{trend}).",
                "{active} of {opted_in} ambassadors active ({share:.0%}{trend}).",
                tally.opted_in,
                active=active,
                opted_in=tally.opted_in,
                share=share or 0.0,
                trend=trend_share(share, share_before, tr),
            )
        )
    else:
        lines.append(tr("Nobody has opted in to the programme yet."))
    answered, answered_before = figures["lessons_answered"]
    right = figures["right_first_try"][0]
    if answered:
        lines.append(
            tr.plural(
                "{answered} lesson answer{trend};",
                "{answered} lesson answers{trend};",
                answered,
                answered=answered,
                trend=trend_count(answered, answered_before, tr),
            )
            + " "
            + (
                tr("{right:.0%} right at first try.", right=right)
                if right is not None
                else tr("no first answer in the period.")
            )
        )
    else:
        lines.append(tr("Nobody answered a lesson in the period."))
    posts = figures["posts_delivered"][0]
    clicks = figures["share_clicks"][0]
    declared = figures["shares_declared"][0]
    if posts or clicks or declared:
        text = tr.plural(
            "{posts} post delivered, {clicks} share link click",
            "{posts} posts delivered, {clicks} share link clicks",
            clicks,
            posts=posts,
            clicks=clicks,
        )
        if clicks:
            text += f" ({networks(tally.clicks)})"
        text += ", " + tr.plural(
            "{declared} share declared by ambassadors.",
            "{declared} shares declared by ambassadors.",
            declared,
            declared=declared,
        )
        lines.append(text)
    mentions = figures["mentions_reported"][0]
    if mentions:
        lines.append(
            tr.plural(
                "{n} worrying mention reported.",
                "{n} worrying mentions reported.",
                mentions,
                n=mentions,
            )
        )
    cases = figures["cases_received"][0]
    median = figures["ack_median"][0]
    if cases or median is not None:
        text = tr.plural("{n} case received", "{n} cases received", cases, n=cases)
        if median is not None:
            text += "; " + tr("median time to acknowledge: {time}", time=duration(median, tr))
        resolved, escalated = figures["cases_resolved"][0], figures["cases_escalated"][0]
        text += (
            "; "
            + tr.plural("{n} resolved", "{n} resolved", resolved, n=resolved)
            + ", "
            + tr.plural("{n} escalated.", "{n} escalated.", escalated, n=escalated)
        )
        lines.append(text)
    crisis = figures["crisis_ack_rate"][0]
    if crisis is not None:
        lines.append(
            tr.plural(
                "Crisis alert: {read} of the {alerted} person alerted said they had read it "
                "({share:.0%}).",
                "Crisis alert: {read} of the {alerted} people alerted said they had read it "
                "({share:.0%}).",
                tally.crisis_alerted,
                read=tally.crisis_acks,
                alerted=tally.crisis_alerted,
                share=crisis,
            )
        )
    # What needs attention.
    if report.charter_version is not None and tally.opted_in:
        missing = max(0, tally.opted_in - tally.charter_accepted)
        if missing:
            lines.append(
                tr.plural(
                    "{n} has not accepted the current charter (version {version}).",
                    "{n} have not accepted the current charter (version {version}).",
                    missing,
                    n=missing,
                    version=report.charter_version,
                )
            )
        else:
            lines.append(tr("Everyone has accepted the current charter."))
    if target_minutes and tally.ack_late:
        slowest = max(tally.ack_minutes)
        lines.append(
            tr.plural(
                "{n} case took longer than the target to acknowledge (the slowest {time}; the target is {target}).",
                "{n} cases took longer than the target to acknowledge (the slowest {time}; the target is {target}).",
                tally.ack_late,
                n=tally.ack_late,
                time=duration(slowest, tr),
                target=duration(target_minutes, tr),
            )
        )
    return lines


def headline(report: Report, tr: Tr, departments: list[str] | None) -> str:
    """One line for a scope: active ambassadors, answers right at first try, charter."""
    figures = report.figures(departments)
    tally = report.total(departments)
    share, before = figures["active_share"]
    text = tr(
        "{active} of {opted_in} active ({share:.0%}{trend})",
        active=tally.active,
        opted_in=tally.opted_in,
        share=share or 0.0,
        trend=trend_share(share, before, tr),
    )
    right = figures["right_first_try"][0]
    if right is not None:
        text += "; " + tr("{right:.0%} right at first try", right=right)
    charter = figures["charter_accepted"][0]
    if charter is not None and report.charter_version is not None:
        text += "; " + tr("charter accepted by {share:.0%}", share=charter)
    return text + "."


def definitions(tr: Tr) -> list[str]:
    """Every measure with its one-sentence definition."""
    return [f"*{tr(m.label)}*: {tr(m.definition)}" for m in MEASURES]
