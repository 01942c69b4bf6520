"""Commands every member has: help, lang, optin/optout, charter, share."""

from __future__ import annotations

from bot import permissions
from bot.charter import service as charter_service
from bot.clock import local, utcnow
from bot.i18n import N_, SUPPORTED, language_name
from bot.messages import (
    COMMAND_ACTION,
    Actions,
    Divider,
    Image,
    Link,
    Message,
    Section,
    command_button,
)
from bot.participation.models import record
from bot.posts import service as posts_service
from bot.programme.home import home_message
from bot.registry import Context, Registry, UserError


def help_message(ctx: Context, intro: str | None = None) -> Message:
    """The list of commands this member may use, in their language."""
    tr = ctx.tr
    lines = []
    for spec in ctx.relais.registry.visible_to(ctx.actor, ctx.relais.permissions):
        usage = f" {spec.usage}" if spec.usage else ""
        lines.append(f"• `{spec.name}{usage}` — {tr(spec.summary)}")
    blocks: list = []
    if intro:
        blocks.append(Section(text=intro))
    blocks.append(Section(title=tr("What I can do for you"), text="\n".join(lines)))
    blocks.append(
        Actions(
            buttons=[
                command_button(tr("Next lesson"), "lesson", style="primary"),
                command_button(tr("My progress"), "progress"),
                command_button(tr("Charter"), "charter"),
            ]
        )
    )
    return Message(text=intro or tr("What I can do for you"), blocks=blocks)


def register(registry: Registry) -> None:
    registry.help = help_message
    registry.home = home_message

    @registry.command(
        "help", N_("list what you can ask me"), aliases=("aide", "?"), while_opted_out=True
    )
    def help_(ctx: Context) -> None:
        ctx.reply(help_message(ctx))

    @registry.action(COMMAND_ACTION)
    def run_command_button(ctx: Context) -> None:
        """A button that runs a command, e.g. the help card's shortcuts."""
        from bot.events import CommandEvent

        value = getattr(ctx.event, "value", "")
        spec = registry.find_command(value)
        if spec is None:
            raise UserError(ctx.tr("That button is no longer in use."))
        ctx.relais.run_command(
            ctx, CommandEvent(ctx.event.who, ctx.event.idempotency_key, value, "")
        )

    @registry.command(
        "lang",
        N_("choose your language: lang fr or lang en"),
        usage="fr|en",
        aliases=("langue",),
        while_opted_out=True,
    )
    def lang(ctx: Context) -> None:
        event = ctx.event
        wanted = getattr(event, "args", "").strip().lower()
        available = [code for code in ctx.config.languages.available if code in SUPPORTED]
        if wanted not in available:
            raise UserError(
                ctx.tr(
                    "Choose one of: {languages}. For example: lang fr",
                    languages=", ".join(available),
                )
            )
        ctx.member.language = wanted
        ctx.member.updated_at = utcnow()
        ctx.tr = type(ctx.tr)(wanted)
        record(ctx.session, "language_changed", ctx.member.id, wanted)
        ctx.reply(
            ctx.tr(
                "From now on I will write to you in {language}.",
                language=language_name(wanted, wanted),
            )
        )

    @registry.command(
        "optout",
        N_("leave the programme (you can come back any time)"),
        aliases=("desinscrire",),
        while_opted_out=True,
    )
    def optout(ctx: Context) -> None:
        if not ctx.member.opted_in:
            ctx.reply(ctx.tr("You have already left the programme. Type “optin” to come back."))
            return
        ctx.member.opted_in = False
        ctx.member.opted_changed_at = utcnow()
        record(ctx.session, "opted_out", ctx.member.id)
        ctx.reply(
            ctx.tr(
                "You have left the programme: I will not send you lessons or posts any more. "
                "Type “optin” whenever you want to come back."
            )
        )

    @registry.command(
        "optin", N_("join the programme again"), aliases=("inscrire",), while_opted_out=True
    )
    def optin(ctx: Context) -> None:
        if ctx.member.opted_in:
            ctx.reply(
                ctx.tr("You are already in the programme. Type “lesson” for your next lesson.")
            )
            return
        ctx.member.opted_in = True
        ctx.member.opted_changed_at = utcnow()
        record(ctx.session, "opted_in", ctx.member.id)
        ctx.reply(
            ctx.tr(
                "Welcome back to {programme}! Type “lesson” for your next lesson.",
                programme=ctx.config.programme.name,
            )
        )

    @registry.command(
        "share",
        N_("see the approved posts you can share now"),
        action=permissions.SHARE,
        aliases=("partager",),
    )
    def share(ctx: Context) -> None:
        tr = ctx.tr
        if not charter_service.has_accepted_current(
            ctx.session, ctx.member.id or 0, ctx.content, ctx.member.language
        ):
            charter = charter_service.current(ctx.content, ctx.member.language)
            assert charter is not None
            ctx.reply(
                Message(
                    text=tr("Accept the charter first"),
                    blocks=[
                        Section(
                            text=tr(
                                "Sharing comes with the programme's charter: read it and accept it first, "
                                "it takes two minutes."
                            )
                        ),
                        Actions(buttons=[command_button(tr("Read the charter"), "charter")]),
                        charter_service.accept_button(charter, tr),
                    ],
                )
            )
            return
        today = local(utcnow(), ctx.member.time_zone).date()  # expiry is the reader's date
        default = ctx.config.languages.default
        blocks: list = []
        shown = 0
        for live in posts_service.shareable_for(ctx.session, ctx.member, ctx.config, today):
            post = live.content(ctx.member.language, default)
            if shown:
                blocks.append(Divider())
            shown += 1
            blocks.append(Section(title=post.title, text=post.body or post.title))
            if post.image:
                blocks.append(Image(url=post.image, alt=post.image_alt or post.title))
            for network, variants in post.networks.items():
                label = {"linkedin": "LinkedIn", "x": "X", "facebook": "Facebook"}.get(
                    network, network
                )
                text = variants[(ctx.member.id or 0) % len(variants)]
                blocks.append(
                    Section(
                        title=tr("Suggested text for {network}", network=label),
                        text=posts_service.with_hashtags(text, post.hashtags),
                    )
                )
            blocks.append(Link(url=post.link, label=tr("Open the page to share")))
            if shown >= 5:
                break
        if not shown:
            raise UserError(
                tr("There is nothing to share right now. Approved posts will appear here.")
            )
        record(
            ctx.session,
            "share_list_viewed",
            ctx.member.id,
            None,
            ctx.event.who.platform,
            posts=shown,
        )
        ctx.reply(Message(text=tr("Approved posts you can share"), blocks=blocks))
