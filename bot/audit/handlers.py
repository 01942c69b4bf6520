"""`audit [n]`: the latest lines of the audit log, for the programme's coordinators."""

from __future__ import annotations

from bot import permissions
from bot.audit import service
from bot.audit.models import AuditEntry
from bot.clock import local
from bot.i18n import N_, Tr
from bot.messages import ContextLine, Message, Section
from bot.registry import Context, Registry, UserError

SHOWN = 10
MOST = 50


def line(entry: AuditEntry, tr: Tr, zone: str) -> str:
    """``2026-11-23 09:12 · ana@example.com · started a campaign 12 (slack)``."""
    when = local(entry.at, zone).strftime("%Y-%m-%d %H:%M")
    what = tr(service.ACTIONS[entry.action]) if entry.action in service.ACTIONS else entry.action
    target = f" {entry.target}" if entry.target else ""
    return f"{when} · {entry.actor} · {what}{target} ({entry.platform})"


def register(registry: Registry) -> None:
    @registry.command(
        "audit",
        N_("the audit log: who broadcast, approved, declared, exported… and when"),
        usage="[how many, up to 50]",
        action=permissions.AUDIT,
        aliases=("journal",),
    )
    def audit(ctx: Context) -> None:
        tr = ctx.tr
        args = getattr(ctx.event, "args", "").strip()
        if args and not (args.isascii() and args.isdigit() and 0 < int(args) <= MOST):
            raise UserError(tr("Write “audit” or “audit N” with N from 1 to {most}.", most=MOST))
        count = int(args) if args else SHOWN
        entries = service.latest(ctx.session, count)
        title = tr("Audit log")
        if not entries:
            ctx.reply(Message(text=title, blocks=[Section(title=title, text=tr("Nothing yet."))]))
            return
        zone = ctx.member.time_zone
        text = "\n".join(f"• {line(entry, tr, zone)}" for entry in entries)
        ctx.reply(
            Message(
                text=title,
                blocks=[
                    Section(title=title, text=text, plain=True),  # e-mails, ids: as written
                    ContextLine(
                        text=tr(
                            "Newest first, times in {zone}. The whole log: relais audit export.",
                            zone=zone,
                        )
                    ),
                ],
            )
        )
