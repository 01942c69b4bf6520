"""`/dashboard/my-data.json`: a signed-in member downloads what Relais holds about them.

The same file as the `privacy` chat command, for a platform that cannot carry
a file in chat, or a file too large for it. Sign-in is the dashboard's.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bot import audit
from bot.db import session_scope
from bot.members.models import Member
from bot.privacy import service
from bot.reporting import access
from bot.runtime import Runtime


def mount(app: FastAPI, runtime: Runtime) -> None:
    try:
        secret = access.secret_for(runtime.engine)
    except access.NoSecret:
        return  # the dashboard answers 503 with what to set

    @app.get("/dashboard/my-data.json")
    def my_data(request: Request) -> Response:
        member_id = access.verify(secret, request.cookies.get(access.COOKIE))
        with session_scope(runtime.engine) as session:
            member = session.get(Member, member_id) if member_id is not None else None
            if member is None or member.left_at is not None:
                return JSONResponse({"error": "sign in first: type “dashboard” in chat"}, 401)
            text = service.as_json(service.export(session, member, runtime.config))
            audit.record(
                session, member, "member.exported", member.email, {"size": len(text)}, "web"
            )
        return Response(
            text,
            media_type="application/json; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="relais-my-data.json"',
                "Cache-Control": "no-store",
            },
        )
