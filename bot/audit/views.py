"""`/dashboard/audit`: the audit log on the dashboard, for those the permission model lets read it.

Sign-in is the dashboard's (single-use link, signed session cookie); without
a signing secret the dashboard's own page says what to set.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlmodel import Session

from bot import permissions
from bot.audit import service
from bot.clock import local
from bot.i18n import Tr
from bot.members.models import Member
from bot.reporting import access
from bot.runtime import Runtime

SHOWN = 200


def mount(app: FastAPI, runtime: Runtime) -> None:
    try:
        secret = access.secret_for(runtime.engine)
    except access.NoSecret:
        return  # the dashboard answers 503 with what to set

    @app.get("/dashboard/audit")
    def audit_page(request: Request) -> Response:
        from bot.reporting.views import Figure, Grid, _page

        lang = (request.query_params.get("lang") or "")[:8]
        member_id = access.verify(secret, request.cookies.get(access.COOKIE))
        with Session(runtime.engine) as session:
            member = session.get(Member, member_id) if member_id is not None else None
            if member is None or member.left_at is not None:
                tr = Tr(lang if lang in ("fr", "en") else runtime.config.languages.default)
                return _page(
                    tr("Sign in"),
                    "<p>"
                    + escape(
                        tr(
                            "Type “dashboard” to Relais in your chat: it sends you a sign-in link that works once, for a few minutes."
                        )
                    )
                    + "</p>",
                    tr,
                    status=401,
                )
            tr = Tr(lang if lang in ("fr", "en") else member.language)
            rules = runtime.relais.permissions
            actor = rules.actor(
                member.id, member.email, member.department, member.roles, member.opted_in
            )
            if not rules.allows(actor, permissions.AUDIT):
                return _page(
                    tr("Audit log"),
                    "<p>"
                    + escape(tr("Only the programme's coordinators read the audit log."))
                    + "</p>",
                    tr,
                    status=403,
                )
            entries = service.latest(session, SHOWN)
            zone = member.time_zone
        rows: list[list[str | Figure]] = [
            [
                local(entry.at, zone).strftime("%Y-%m-%d %H:%M:%S"),
                entry.actor,
                tr(service.ACTIONS.get(entry.action, entry.action)),
                entry.target,
                entry.platform,
                ", ".join(f"{k}: {v}" for k, v in sorted(entry.details.items())),
            ]
            for entry in entries
        ]
        body = (
            "<p class=note>"
            + escape(
                tr(
                    "The {count} latest lines, newest first, times in {zone}. The whole log: "
                    "relais audit export.",
                    count=SHOWN,
                    zone=zone,
                )
            )
            + "</p>"
            + Grid(
                [tr("When"), tr("Who"), tr("What"), tr("On"), tr("From"), tr("Details")], rows
            ).html(tr)
        )
        return _page(tr("Audit log"), body, tr)
