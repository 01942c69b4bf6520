"""`privacy`: a member receives, as a JSON file, everything Relais holds about them."""

from __future__ import annotations

from bot import audit, permissions
from bot.i18n import N_
from bot.messages import Attachment, ContextLine, Message, Section
from bot.privacy import service
from bot.registry import Context, Registry
from bot.reporting import access

# The file travels in the message (base64 in the outbox): past this, the chat says whom to ask.
MOST_BYTES = 280_000


def register(registry: Registry) -> None:
    @registry.command(
        "privacy",
        N_("receive a file of everything Relais holds about you"),
        action=permissions.PRIVACY,
        aliases=("confidentialite", "confidentialité", "mydata"),
        while_opted_out=True,
        suggest=False,  # found in help; Teams' ten suggestions are for everyday commands
    )
    def privacy(ctx: Context) -> None:
        tr = ctx.tr
        document = service.export(ctx.session, ctx.member, ctx.config)
        content = service.as_json(document).encode("utf-8")
        title = tr("Your personal data")
        explained = tr(
            "The file holds everything Relais keeps about you: your member record from the HR "
            "file, where it reaches you, what you did and received in the programme, and "
            "what you wrote. Sent messages are kept {days} days at most, raw activity {raw} "
            "days; figures keep only counts. To have your data erased, ask your data "
            "protection officer.",
            days=ctx.config.delivery.retention_days,
            raw=ctx.config.privacy.raw_events_days,
        )
        audit.in_context(ctx, "member.exported", ctx.member.email, size=len(content))
        if len(content) > MOST_BYTES:
            ctx.reply(
                Message(
                    text=title,
                    blocks=[
                        Section(title=title, text=explained),
                        ContextLine(
                            text=tr(
                                "Your file is too large to send in chat ({size} kB): type "
                                "“dashboard”, sign in, then open {url} to download it.",
                                size=len(content) // 1000,
                                url=f"{access.public_url()}/dashboard/my-data.json",
                            )
                        ),
                    ],
                )
            )
            return
        day = document["exported_at"][:10]
        ctx.reply(
            Message(
                text=title,
                blocks=[
                    Section(title=title, text=explained),
                    Attachment.json_file(
                        f"relais-my-data-{day}.json", content, tr("Your data held by Relais")
                    ),
                ],
            )
        )
