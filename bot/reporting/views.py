"""The reporting dashboard on `relais serve`: server-rendered pages, no JavaScript to build.

`/dashboard` shows the measures of the reader's scope (the permission model's
``stats`` reach) for a period and the one before, each with its definition; a
table per department and per location; the trend as a PNG drawn on the server;
the cases and crisis timeline from participation events; CSV exports of every
table; the programme's maturity (`/dashboard/maturity`). Pages work on a phone
(one column, tables scroll sideways) and speak the reader's language.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from html import escape
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select

from bot import permissions
from bot.clock import local, utcnow
from bot.i18n import Tr
from bot.members.models import Member
from bot.participation.models import ParticipationEvent
from bot.reporting import access, maturity, measures, periods, service
from bot.reporting.chart import trend_png
from bot.reporting.measures import MEASURES, Report, formatted
from bot.reporting.periods import Period, PeriodError
from bot.runtime import Runtime

log = logging.getLogger("relais.dashboard")

STYLE = """
*{box-sizing:border-box}body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;
color:#1b2733;background:#f6f8fa}header{background:#1f4e79;color:#fff;padding:.8rem 1rem}
header a{color:#fff;margin-right:1rem}main{padding:1rem;max-width:70rem;margin:auto}
h1{font-size:1.3rem;margin:.2rem 0}h2{font-size:1.1rem;margin-top:1.6rem}
.scroll{overflow-x:auto;background:#fff;border:1px solid #d0d7de;border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{padding:.45rem .6rem;
border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}td.n{text-align:right;
white-space:nowrap}.def{color:#57606a;font-size:.82rem}form{display:flex;flex-wrap:wrap;gap:.5rem;
align-items:end;margin:.6rem 0}label{display:flex;flex-direction:column;font-size:.85rem}
select,button,input{font-size:1rem;padding:.35rem}.csv{font-size:.85rem}img{max-width:100%;
height:auto}.note{color:#57606a;font-size:.85rem}.score{font-size:1.4rem;font-weight:600}
"""


def _page(title: str, body: str, tr: Tr, status: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="{tr.lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} — Relais</title><style>{STYLE}</style></head><body>"
        f'<header><a href="/dashboard">{escape(tr("Overview"))}</a>'
        f'<a href="/dashboard/timeline">{escape(tr("Cases and crises"))}</a>'
        f'<a href="/dashboard/maturity">{escape(tr("Maturity"))}</a></header>'
        f"<main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status)


def _table(headers: list[str], rows: Iterable[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{cell}</td>' if index in numeric else f"<td>{cell}</td>"
            for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _csv(headers: list[str], rows: Iterable[list[Any]], name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(row)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class Reader:
    """The signed-in member, their language and what the permission model lets them see."""

    def __init__(self, runtime: Runtime, member: Member, lang: str | None) -> None:
        self.runtime = runtime
        self.member = member
        self.tr = Tr(lang if lang in ("fr", "en") else member.language)
        rules = runtime.relais.permissions
        actor = rules.actor(
            member.id, member.email, member.department, member.roles, member.opted_in
        )
        self.scope = service.scope_of(rules.reach(actor, permissions.STATS), runtime.config)

    @property
    def config(self) -> Any:
        return self.runtime.config


def mount(app: FastAPI, runtime: Runtime) -> None:
    """Add the dashboard's routes; without a signing secret, a page that says what to set."""
    try:
        secret = access.secret_for(runtime.engine)
    except access.NoSecret as exc:
        reason = str(exc)
        log.warning("%s", reason)

        @app.get("/dashboard{rest:path}")
        def dashboard_off(rest: str) -> Response:
            return Response(reason + "\n", status_code=503, media_type="text/plain; charset=utf-8")

        return

    def reader_of(request: Request) -> Reader | None:
        member_id = access.verify(secret, request.cookies.get(access.COOKIE))
        if member_id is None:
            return None
        with Session(runtime.engine) as session:
            member = session.get(Member, member_id)
            if member is None or member.left_at is not None:
                return None
            session.expunge(member)
        return Reader(runtime, member, request.query_params.get("lang"))

    def signed_out(request: Request) -> HTMLResponse:
        tr = Tr(request.query_params.get("lang") or runtime.config.languages.default)
        return _page(
            tr("Sign in"),
            "<p>"
            + escape(
                tr(
                    "Type “dashboard” to Relais in your chat: it sends you a sign-in link "
                    "that works once, for a few minutes."
                )
            )
            + "</p>",
            tr,
            status=401,
        )

    def choose(reader: Reader, request: Request) -> tuple[Period, service.Scope, str]:
        """The period and scope the filters ask for (a bad filter raises a translated ValueError)."""
        tr, config = reader.tr, reader.config
        text = request.query_params.get("period") or "week"
        period = periods.parse(text[:20], utcnow(), config.time.zone, tr)
        scope = reader.scope
        department = (request.query_params.get("department") or "")[:100]
        if department:
            scope = service.narrow(scope, config, department, tr)
        return period, scope, department

    def build(reader: Reader, period: Period, scope: service.Scope) -> Report:
        with Session(runtime.engine) as session:
            if scope.programme or scope.departments:
                return service.build(session, reader.config, runtime.relais.content, period, scope)
            return service.build(
                session, reader.config, runtime.relais.content, period, scope, reader.member.id
            )

    def filters(reader: Reader, period_text: str, department: str, action: str) -> str:
        tr = reader.tr
        choices = [
            ("week", tr("This week")),
            ("last-week", tr("Last week")),
            ("month", tr("This month")),
            ("last-month", tr("Last month")),
            ("quarter", tr("This quarter")),
            ("last-quarter", tr("Last quarter")),
        ]
        if period_text not in {value for value, _ in choices}:
            choices.append((period_text, period_text))
        options = "".join(
            f'<option value="{escape(v)}"{" selected" if v == period_text else ""}>{escape(label)}</option>'
            for v, label in choices
        )
        scope_options = ""
        if len(reader.scope.departments) > 1:
            scope_options = (
                f'<label>{escape(tr("Scope"))}<select name="department" id="department">'
                f'<option value="">{escape(tr("Everything you can see"))}</option>'
                + "".join(
                    f'<option value="{escape(d.id)}"{" selected" if d.id == department else ""}>'
                    f"{escape(service.name_of(d, tr))}</option>"
                    for d in reader.scope.departments
                )
                + "</select></label>"
            )
        return (
            f'<form method="get" action="{action}"><label>{escape(tr("Period"))}'
            f'<select name="period" id="period">{options}</select></label>{scope_options}'
            f'<button type="submit">{escape(tr("Show"))}</button></form>'
        )

    def export_links(names: list[tuple[str, str]], query: dict[str, str]) -> str:
        return (
            '<p class="csv">CSV: '
            + " · ".join(
                f'<a href="/dashboard/export/{table}.csv?{escape(urlencode(query))}">{escape(label)}</a>'
                for table, label in names
            )
            + "</p>"
        )

    def measure_rows(report: Report, tr: Tr, departments: list[str] | None) -> list[list[str]]:
        figures = report.figures(departments)
        rows = []
        for m in MEASURES:
            now, before = figures[m.key]
            rows.append(
                [
                    f"<strong>{escape(tr(m.label))}</strong><div class='def'>{escape(tr(m.definition))}</div>",
                    escape(formatted(m.key, now, tr)),
                    escape(formatted(m.key, before, tr)) if m.compared else "",
                ]
            )
        return rows

    def department_rows(report: Report, reader: Reader, scope: service.Scope) -> list[list[Any]]:
        tr = reader.tr
        keys = (
            "opted_in",
            "active",
            "active_share",
            "lessons_answered",
            "right_first_try",
            "share_clicks",
            "shares_declared",
            "charter_accepted",
            "cases_received",
            "ack_median",
        )
        rows = []
        for department in scope.departments:
            figures = report.figures([department.id])
            rows.append(
                [service.name_of(department, tr)]
                + [formatted(key, figures[key][0], tr) for key in keys]
            )
        return rows

    def department_headers(tr: Tr) -> list[str]:
        keys = (
            "opted_in",
            "active",
            "active_share",
            "lessons_answered",
            "right_first_try",
            "share_clicks",
            "shares_declared",
            "charter_accepted",
            "cases_received",
            "ack_median",
        )
        return [tr("Department")] + [tr(measures.BY_KEY[k].label) for k in keys]

    def location_rows(report: Report, tr: Tr, departments: list[str] | None) -> list[list[Any]]:
        rows = []
        for place in report.locations():
            figures = report.figures(departments, place)
            if not figures["opted_in"][0] and not figures["active"][0]:
                continue
            rows.append(
                [place]
                + [formatted(k, figures[k][0], tr) for k in ("opted_in", "active", "active_share")]
            )
        return rows

    @app.get("/dashboard/signin/{token}")
    def sign_in(token: str, request: Request) -> Response:
        member_id = access.redeem(runtime.engine, token)
        if member_id is None:
            tr = Tr(runtime.config.languages.default)
            return _page(
                tr("This link does not work any more"),
                "<p>"
                + escape(
                    tr(
                        "A sign-in link works once, for a few minutes. Type “dashboard” to "
                        "Relais in your chat for a new one."
                    )
                )
                + "</p>",
                tr,
                status=403,
            )
        response = RedirectResponse("/dashboard", status_code=303)
        response.set_cookie(
            access.COOKIE,
            access.sign(secret, member_id),
            max_age=int(access.SESSION_LIFETIME.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    @app.get("/dashboard")
    def overview(request: Request) -> Response:
        reader = reader_of(request)
        if reader is None:
            return signed_out(request)
        tr = reader.tr
        try:
            period, scope, department = choose(reader, request)
        except (PeriodError, ValueError) as exc:
            return _page(tr("Participation figures"), f"<p>{escape(str(exc))}</p>", tr, 400)
        report = build(reader, period, scope)
        query = {"period": request.query_params.get("period") or "week"}
        if department:
            query["department"] = department
        body = [filters(reader, query["period"], department, "/dashboard")]
        body.append(
            '<p class="note">'
            + escape(
                tr(
                    "{period}, compared with {previous}. Head counts are today's.",
                    period=period.label(tr),
                    previous=period.previous.label(tr),
                )
            )
            + "</p>"
        )
        ids = scope.department_ids
        title = (
            tr("The whole programme")
            if scope.programme and not department
            else ", ".join(service.name_of(d, tr) for d in scope.departments)
            if scope.departments
            else tr("Your own figures")
        )
        body.append(f"<h2>{escape(title)}</h2>")
        body.append(
            _table(
                [tr("Measure"), period.label(tr), period.previous.label(tr)],
                measure_rows(report, tr, ids if scope.departments else None),
                {1, 2},
            )
        )
        clicks = report.networks(ids if scope.departments else None)
        if clicks:
            body.append(f"<h2>{escape(tr('Share link clicks'))}</h2>")
            body.append(
                _table(
                    [tr("Network"), tr("Clicks")],
                    [[escape(n.capitalize()), str(c)] for n, c in sorted(clicks.items())],
                    {1},
                )
            )
        tables = [("measures", tr("Measures"))]
        if scope.departments:
            chart = f"/dashboard/chart.png?{escape(urlencode(query))}"
            body.append(f"<h2>{escape(tr('Trend'))}</h2>")
            body.append(
                f'<img src="{chart}" width="468" height="216" alt="{escape(tr("Active ambassadors per week"))}">'
            )
            body.append(f"<h2>{escape(tr('By department'))}</h2>")
            body.append(
                _table(
                    department_headers(tr),
                    [
                        [escape(str(c)) for c in row]
                        for row in department_rows(report, reader, scope)
                    ],
                    set(range(1, 11)),
                )
            )
            body.append(f"<h2>{escape(tr('By location'))}</h2>")
            body.append(
                _table(
                    [tr("Location")]
                    + [
                        tr(measures.BY_KEY[k].label) for k in ("opted_in", "active", "active_share")
                    ],
                    [[escape(str(c)) for c in row] for row in location_rows(report, tr, ids)],
                    {1, 2, 3},
                )
            )
            tables += [("departments", tr("By department")), ("locations", tr("By location"))]
        body.append(export_links(tables, query))
        return _page(tr("Participation figures"), "".join(body), tr)

    @app.get("/dashboard/chart.png")
    def chart(request: Request) -> Response:
        reader = reader_of(request)
        if reader is None:
            return Response(status_code=401)
        try:
            period, scope, _ = choose(reader, request)
        except (PeriodError, ValueError):
            return Response(status_code=400)
        if not (scope.programme or scope.departments):
            return Response(status_code=404)
        week = periods.current("week", period.end_utc, reader.config.time.zone).previous
        with Session(runtime.engine) as session:
            points = measures.trend(session, week, scope.department_ids)
            opted_in = (
                measures.build(session, reader.config, week, scope.department_ids)
                .total(scope.department_ids)
                .opted_in
            )
        tr = reader.tr
        png = trend_png(
            points, opted_in, tr, tr("Active ambassadors, last {weeks} weeks", weeks=len(points))
        )
        return Response(
            png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"}
        )

    @app.get("/dashboard/export/{table}.csv")
    def export(table: str, request: Request) -> Response:
        reader = reader_of(request)
        if reader is None:
            return signed_out(request)
        tr = reader.tr
        try:
            period, scope, _ = choose(reader, request)
        except (PeriodError, ValueError) as exc:
            return Response(str(exc), status_code=400, media_type="text/plain; charset=utf-8")
        name = f"relais-{table}-{period.code}.csv"
        if table == "timeline":
            return _csv(
                [tr("When"), tr("What"), tr("Department"), tr("Subject")],
                timeline_rows(reader, period, scope),
                name,
            )
        report = build(reader, period, scope)
        ids = scope.department_ids if scope.departments else None
        if table == "measures":
            figures = report.figures(ids)
            return _csv(
                [tr("Measure"), period.code, period.previous.code, tr("Definition")],
                [
                    [
                        tr(m.label),
                        _raw(figures[m.key][0]),
                        _raw(figures[m.key][1]) if m.compared else "",
                        tr(m.definition),
                    ]
                    for m in MEASURES
                ],
                name,
            )
        if table == "departments" and scope.departments:
            return _csv(department_headers(tr), department_rows(report, reader, scope), name)
        if table == "locations" and scope.departments:
            return _csv(
                [tr("Location")]
                + [tr(measures.BY_KEY[k].label) for k in ("opted_in", "active", "active_share")],
                location_rows(report, tr, ids),
                name,
            )
        return Response(
            tr("No such table."), status_code=404, media_type="text/plain; charset=utf-8"
        )

    def timeline_rows(reader: Reader, period: Period, scope: service.Scope) -> list[list[str]]:
        kinds = (*measures.RARE, "crisis_ended")
        wanted = None if scope.programme else {d.id for d in scope.departments}
        rows = []
        with Session(runtime.engine) as session:
            found = session.execute(
                select(
                    ParticipationEvent.occurred_at,
                    ParticipationEvent.kind,
                    ParticipationEvent.subject,
                    ParticipationEvent.data,
                    Member.department,
                )
                .outerjoin(Member, Member.id == ParticipationEvent.member_id)  # type: ignore[arg-type]
                .where(
                    ParticipationEvent.kind.in_(kinds),  # type: ignore[attr-defined]
                    ParticipationEvent.occurred_at >= period.start_utc,  # type: ignore[operator]
                    ParticipationEvent.occurred_at < period.end_utc,  # type: ignore[operator]
                )
                .order_by(ParticipationEvent.occurred_at)  # type: ignore[arg-type]
                .limit(2000)
            ).all()
        for occurred_at, kind, subject, data, department in found:
            place = (data or {}).get("department") or department or ""
            if kind.startswith("crisis_") and kind != "crisis_alert_acknowledged":
                place = place if wanted is None else ""
            elif wanted is not None and place not in wanted:
                continue
            if not (scope.programme or scope.departments):
                continue
            when = local(occurred_at, reader.config.time.zone).strftime("%Y-%m-%d %H:%M")
            rows.append([when, kind.replace("_", " "), place, subject or ""])
        return rows

    @app.get("/dashboard/timeline")
    def timeline(request: Request) -> Response:
        reader = reader_of(request)
        if reader is None:
            return signed_out(request)
        tr = reader.tr
        try:
            period, scope, department = choose(reader, request)
        except (PeriodError, ValueError) as exc:
            return _page(tr("Cases and crises"), f"<p>{escape(str(exc))}</p>", tr, 400)
        query = {"period": request.query_params.get("period") or "week"}
        if department:
            query["department"] = department
        rows = timeline_rows(reader, period, scope)
        body = filters(reader, query["period"], department, "/dashboard/timeline")
        if rows:
            body += _table(
                [tr("When"), tr("What"), tr("Department"), tr("Subject")],
                [[escape(c) for c in row] for row in rows],
            )
        else:
            body += "<p>" + escape(tr("Nothing in this period.")) + "</p>"
        body += export_links([("timeline", tr("Cases and crises"))], query)
        return _page(tr("Cases and crises"), body, tr)

    @app.get("/dashboard/maturity")
    def maturity_page(request: Request) -> Response:
        reader = reader_of(request)
        if reader is None:
            return signed_out(request)
        tr = reader.tr
        with Session(runtime.engine) as session:
            found = maturity.assess(session, reader.config, runtime.relais.content, utcnow())
        body = "".join(
            f"<h2>{escape(tr(p.title))} — <span class='score'>{p.score}/3</span></h2>"
            f"<p>{escape(p.evidence(tr))}</p><p><strong>{escape(tr('Next step:'))}</strong> "
            f"{escape(p.next_step(tr))}</p>"
            for p in found.practices
        )
        body += (
            f"<h2>{escape(tr('Organisation model'))}</h2><p>{escape(found.model_sentence(tr))}</p>"
        )
        return _page(tr("Programme maturity"), body, tr)


def _raw(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)
