"""`crisis` (the statement, the board, declare, end, drill), "I have read it" and "Declare the crisis".

`crisis drill PLAYBOOK [--audience department:ID …]` runs the crisis flow as an exercise
(bot/crisis/drill.py); `crisis drill status`, `crisis drill end` and `crisis drill report [N]`
follow it. Who may declare a crisis may run a drill (the same permission).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from bot import audit, permissions
from bot.clock import utcnow
from bot.crisis import drill, service
from bot.crisis.models import Crisis
from bot.events import record_id
from bot.i18n import N_
from bot.messages import Actions, Button, Message, Section
from bot.registry import Context, Registry, UserError, as_user_error

DECLARE_WORDS = ("declare", "declarer", "déclarer")
END_WORDS = ("end", "fin", "terminer")
STATUS_WORDS = ("status", "etat", "état", "board", "tableau")
DRILL_WORDS = ("drill", "exercise", "exercice")
REPORT_WORDS = ("report", "rapport")
AUDIENCE_FLAGS = ("--audience", "--to", "--public")


T = TypeVar("T")


def _as_member(ctx: Context, act: Callable[..., T], **words: Any) -> T:
    """A crisis or drill step (declare, end, start, end the drill) by the member in this chat,
    through their platform, now; its refusal is the reply."""
    with as_user_error(service.CrisisRefused):
        done = act(
            ctx.session,
            ctx.config,
            ctx.content,
            ctx.tr,
            by=ctx.member,
            via=ctx.event.who.platform,
            now=utcnow(),
            **words,
        )
    return done


def _drill(ctx: Context, rest: str) -> None:
    """`crisis drill PLAYBOOK [--audience …]`, `… status`, `… end`, `… report [N]`."""
    tr = ctx.tr
    words = rest.split()
    first = words[0].lower() if words else ""
    if first in STATUS_WORDS:
        ctx.require(permissions.CRISIS_BOARD)
        found = drill.board(
            ctx.session,
            ctx.config,
            ctx.content,
            ctx.reach(permissions.CRISIS_BOARD),
            ctx.member.language,
        )
        if found is None:
            raise UserError(tr("No exercise is running."))
        ctx.reply(service.board_message(found, tr, ctx.member.time_zone))
        return
    ctx.require(permissions.CRISIS)
    if first in END_WORDS:
        ended, told = _as_member(ctx, drill.end)
        ctx.queued += told
        ctx.reply(
            service.exercise(
                tr,
                tr.plural(
                    "The exercise is over; {count} person is told. Its report:",
                    "The exercise is over; {count} people are told. Its report:",
                    told,
                    count=told,
                ),
            )
        )
        _report(ctx, ended)
        return
    if first in REPORT_WORDS:
        number = words[1].lstrip("#") if len(words) > 1 else ""
        found = drill.find(ctx.session, record_id(number) if number else None)
        if found is None or (number and record_id(number) is None):
            raise UserError(tr("No exercise has the number {id}.", id=number or "—"))
        _report(ctx, found)
        return
    if not first:
        raise UserError(
            tr(
                "Write: crisis drill PLAYBOOK [--audience department:ID …], then "
                "“crisis drill status” and “crisis drill end”. The playbooks: {ids}.",
                ids=", ".join(sorted(ctx.content.playbooks)) or "—",
            )
        )
    audience = []  # "--audience department:sales", "--audience=language:fr" or just the words
    for word in words[1:]:
        flag, _, value = word.partition("=")
        if flag.lower() in AUDIENCE_FLAGS:
            audience += [value] if value else []
            continue
        audience.append(word)
    started = _as_member(ctx, drill.start, playbook_id=first, audience=audience)
    count = started.cell + started.ambassadors
    ctx.queued += count
    ctx.reply(
        service.exercise(
            tr,
            tr.plural(
                "Exercise {id} started: {title}. Nothing is paused. The exercise alert is on "
                "its way to {count} person, the crisis cell first; follow it with “crisis drill "
                "status” and end it with “crisis drill end”.",
                "Exercise {id} started: {title}. Nothing is paused. The exercise alert is on "
                "its way to {count} people, the crisis cell first; follow it with “crisis drill "
                "status” and end it with “crisis drill end”.",
                count,
                id=started.crisis.id,
                title=service.title_of(ctx.content, started.crisis, ctx.member.language),
                count=count,
            ),
        )
    )


def _report(ctx: Context, found: Crisis) -> None:
    report = drill.report(ctx.session, ctx.config, ctx.content, found)
    title = service.title_of(ctx.content, found, ctx.member.language)
    ctx.reply(drill.report_message(report, ctx.config, ctx.tr, title))


def _declare(ctx: Context, playbook_id: str, note: str) -> None:
    ctx.require(permissions.CRISIS)
    tr = ctx.tr
    if not playbook_id:
        raise UserError(playbooks_message(ctx).text)
    declared = _as_member(ctx, service.declare, playbook_id=playbook_id, note=note)
    audit.in_context(ctx, "crisis.declared", declared.crisis.id, playbook=playbook_id)
    ctx.queued += declared.cell + declared.ambassadors
    ctx.reply(
        tr.plural(
            "Crisis declared: {title}. Promotional messages are paused. The statement is on its "
            "way to {count} person, the crisis cell's alerts first; type “crisis status” to see "
            "who has read it.",
            "Crisis declared: {title}. Promotional messages are paused. The statement is on its "
            "way to {count} people, the crisis cell's alerts first; type “crisis status” to see "
            "who has read it.",
            declared.cell + declared.ambassadors,
            title=service.title_of(ctx.content, declared.crisis, ctx.member.language),
            count=declared.cell + declared.ambassadors,
        )
    )


def playbooks_message(ctx: Context) -> Message:
    """The playbooks a crisis can be declared from, each with its button."""
    tr = ctx.tr
    lines, buttons = [], []
    for playbook_id in sorted(ctx.content.playbooks):
        playbook = ctx.content.playbook(playbook_id, ctx.member.language)
        if playbook is None:
            continue
        lines.append(f"• `{playbook_id}`: {playbook.title}")
        buttons.append(
            Button(
                label=tr("Declare: {title}", title=playbook.title)[:75],
                action_id=service.DECLARE_ACTION,
                value=playbook_id,
                style="danger",
            )
        )
    text = tr("To declare a crisis, type “crisis declare PLAYBOOK [note]”. The playbooks:")
    blocks: list = [Section(text=text + "\n" + "\n".join(lines))]
    if buttons:
        blocks.append(Actions(buttons=buttons[:5]))
    return Message(text=text, blocks=blocks)


def register(registry: Registry) -> None:
    @registry.command(
        "crisis",
        N_("the crisis in progress: the official statement and what to do"),
        usage="[status | declare PLAYBOOK [note] | end SUMMARY | drill PLAYBOOK | drill end]",
        aliases=("crise",),
        while_opted_out=True,  # the crisis cell's duty does not depend on the programme
    )
    def crisis(ctx: Context) -> None:
        tr = ctx.tr
        word, _, rest = getattr(ctx.event, "args", "").strip().partition(" ")
        word = word.lower()
        if word in DRILL_WORDS:
            _drill(ctx, rest)
            return
        if word in DECLARE_WORDS:
            playbook_id, _, note = rest.strip().partition(" ")
            _declare(ctx, playbook_id.strip().lower(), note)
            return
        if word in END_WORDS:
            ctx.require(permissions.CRISIS)
            ended, told = _as_member(ctx, service.end, summary=rest)
            audit.in_context(ctx, "crisis.ended", ended.id, told=told)
            ctx.queued += told
            ctx.reply(
                tr.plural(
                    "The crisis is over: {title}. Promotional messages resume; {count} person "
                    "is told. Export the timeline with: relais crisis export {id}",
                    "The crisis is over: {title}. Promotional messages resume; {count} people "
                    "are told. Export the timeline with: relais crisis export {id}",
                    told,
                    title=service.title_of(ctx.content, ended, ctx.member.language),
                    count=told,
                    id=ended.id,
                )
            )
            return
        if word and word not in STATUS_WORDS:
            raise UserError(
                tr(
                    "“crisis {word}” is not something I know. Type “crisis”, “crisis status”, "
                    "“crisis declare PLAYBOOK [note]”, “crisis end SUMMARY” or "
                    "“crisis drill PLAYBOOK”.",
                    word=word,
                )
            )
        current = service.active(ctx.session)
        if word in STATUS_WORDS:
            ctx.require(permissions.CRISIS_BOARD)
        if current is None:
            ctx.reply(tr("No crisis is in progress."))
            if ctx.can(permissions.CRISIS):
                ctx.reply(playbooks_message(ctx))
            return
        if word in STATUS_WORDS or ctx.can(permissions.CRISIS_BOARD):
            reach = ctx.reach(permissions.CRISIS_BOARD)
            found = service.board(
                ctx.session, ctx.config, ctx.content, current, reach, ctx.member.language
            )
            ctx.reply(service.board_message(found, tr, ctx.member.time_zone))
            return
        playbook = service.playbook_of(ctx.content, current.playbook, ctx.member.language)
        if playbook is None:
            raise UserError(tr("A crisis is in progress: follow the crisis cell's instructions."))
        declarer = ctx.session.get(type(ctx.member), current.declared_by_id or 0)
        ctx.reply(
            service.alert_message(
                current,
                playbook,
                tr,
                ctx.member.time_zone,
                None,
                declarer.name if declarer else tr("the programme's operator"),
            )
        )

    @registry.action(service.DECLARE_ACTION, permission=permissions.CRISIS)
    def declare_button(ctx: Context) -> None:
        """The button under a proposal (critical cases piling up) or the playbook list."""
        _declare(ctx, getattr(ctx.event, "value", "").strip().lower(), "")

    @registry.action(service.ACK_ACTION)
    def acknowledge(ctx: Context) -> None:
        crisis_id = record_id(getattr(ctx.event, "value", ""))
        if crisis_id is None:
            raise UserError(ctx.tr("That button is no longer in use."))
        with as_user_error(service.CrisisRefused):
            ctx.reply(
                service.acknowledge(
                    ctx.session, ctx.member, crisis_id, ctx.event.who.platform, ctx.tr, utcnow()
                )
            )
