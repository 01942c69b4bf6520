"""`crisis` (the statement, the board, declare, end), "I have read it" and "Declare the crisis"."""

from __future__ import annotations

from bot import permissions
from bot.clock import utcnow
from bot.crisis import service
from bot.events import record_id
from bot.i18n import N_
from bot.messages import Actions, Button, Message, Section
from bot.registry import Context, Registry, UserError

DECLARE_WORDS = ("declare", "declarer", "déclarer")
END_WORDS = ("end", "fin", "terminer")
STATUS_WORDS = ("status", "etat", "état", "board", "tableau")


def _declare(ctx: Context, playbook_id: str, note: str) -> None:
    ctx.require(permissions.CRISIS)
    tr = ctx.tr
    if not playbook_id:
        raise UserError(playbooks_message(ctx).text)
    try:
        declared = service.declare(
            ctx.session,
            ctx.config,
            ctx.content,
            tr,
            playbook_id=playbook_id,
            note=note,
            by=ctx.member,
            via=ctx.event.who.platform,
            now=utcnow(),
        )
    except service.CrisisRefused as refused:
        raise UserError(str(refused)) from None
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
        usage="[status | declare PLAYBOOK [note] | end SUMMARY]",
        aliases=("crise",),
        while_opted_out=True,  # the crisis cell's duty does not depend on the programme
    )
    def crisis(ctx: Context) -> None:
        tr = ctx.tr
        word, _, rest = getattr(ctx.event, "args", "").strip().partition(" ")
        word = word.lower()
        if word in DECLARE_WORDS:
            playbook_id, _, note = rest.strip().partition(" ")
            _declare(ctx, playbook_id.strip().lower(), note)
            return
        if word in END_WORDS:
            ctx.require(permissions.CRISIS)
            try:
                ended, told = service.end(
                    ctx.session,
                    ctx.config,
                    ctx.content,
                    tr,
                    summary=rest,
                    by=ctx.member,
                    via=ctx.event.who.platform,
                    now=utcnow(),
                )
            except service.CrisisRefused as refused:
                raise UserError(str(refused)) from None
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
                    "“crisis declare PLAYBOOK [note]” or “crisis end SUMMARY”.",
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
        try:
            ctx.reply(
                service.acknowledge(
                    ctx.session, ctx.member, crisis_id, ctx.event.who.platform, ctx.tr, utcnow()
                )
            )
        except service.CrisisRefused as refused:
            raise UserError(str(refused)) from None
