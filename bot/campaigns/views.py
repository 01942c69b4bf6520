"""``GET /s/<token>``: a member's share link. The click is recorded, then the browser goes on.

Reachable without credentials: the token is checked by shape before the
database is asked, no body is read (a declared one is refused), the database
work runs in a thread (never on the event loop), and every answer is a small
page or a redirect, never a 500. Link-preview robots (Slack, Teams, the networks'
own crawlers) are redirected without a click being recorded: what is counted is
a person opening our link.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.campaigns import service
from bot.db import session_scope
from bot.i18n import N_, Tr

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("relais.campaigns")

MAX_BODY = 1024  # a GET carries no body; anything declared beyond this is refused
PREVIEWS = re.compile(
    r"bot|crawler|spider|preview|facebookexternalhit|slack|skypeuripreview|teams|whatsapp",
    re.IGNORECASE,
)
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the network never sees the token
    "X-Content-Type-Options": "nosniff",
}


def _page(
    status: int, title_en: str, text_en: str, title_fr: str, text_fr: str, first: str
) -> HTMLResponse:
    """A small page in both languages, the reader's first."""
    parts = [(title_en, text_en, "en"), (title_fr, text_fr, "fr")]
    if first == "fr":
        parts.reverse()
    body = "".join(
        f'<section lang="{lang}"><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></section>'
        for title, text, lang in parts
    )
    page = (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(parts[0][0])}</title></head><body>{body}</body></html>"
    )
    return HTMLResponse(page, status_code=status, headers=HEADERS)


PAGES = {
    "withdrawn": (
        N_("This post was withdrawn"),
        N_(
            "The programme team withdrew this post: please do not share it. "
            "If you already published it, you may delete your publication."
        ),
    ),
    "unknown": (
        N_("Unknown share link"),
        N_("This link is not (or no longer) a share link of the programme."),
    ),
    "later": (
        N_("Please try again in a moment"),
        N_("The share link cannot be opened right now."),
    ),
}


def _texts(key: str) -> tuple[str, str, str, str]:
    title, text = PAGES[key]
    en, fr = Tr("en"), Tr("fr")
    return en(title), en(text), fr(title), fr(text)


def mount(app: FastAPI, runtime: Runtime) -> None:
    default = runtime.config.languages.default

    def follow(token: str, count: bool) -> service.Click:
        with session_scope(runtime.engine) as session:
            return service.follow(session, token, count)

    @app.api_route("/s/{token:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def share_link(token: str, request: Request) -> Response:
        declared = request.headers.get("content-length", "").strip()
        if declared and (not declared.isdigit() or int(declared) > MAX_BODY):
            return Response(status_code=413, headers=HEADERS)
        if not service.TOKEN.match(token):
            return _page(404, *_texts("unknown"), first=default)
        count = request.method == "GET" and not PREVIEWS.search(
            request.headers.get("user-agent", "")
        )
        try:
            click = await asyncio.to_thread(follow, token, count)
        except Exception:
            log.exception("share link could not be read")
            return _page(503, *_texts("later"), first=default)
        if click.outcome == "redirect" and click.target:
            return RedirectResponse(click.target, status_code=303, headers=HEADERS)
        if click.outcome == "withdrawn":
            return _page(410, *_texts("withdrawn"), first=click.language or default)
        return _page(404, *_texts("unknown"), first=default)
