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
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select

from bot import permissions
from bot.clock import local, utcnow
from bot.i18n import N_, Tr
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


@dataclass(frozen=True)
class Figure:
    """A measure's figure in a table: written for people on the page, raw in the CSV."""

    key: str
    value: Any


Cell = str | Figure


@dataclass
class Grid:
    """A table, rendered as HTML for the page and as CSV for its export, from the same rows."""

    headers: list[str]
    rows: list[list[Cell]]
    # Per row, a sentence shown under the first cell on the page and as a last CSV column.
    notes: list[str] | None = None
    notes_header: str = ""
    # Per column, a sentence shown when the pointer rests on the header.
    hints: list[str] = field(default_factory=list)

    def html(self, tr: Tr) -> str:
        hints = self.hints + [""] * (len(self.headers) - len(self.hints))
        head = "".join(
            f'<th title="{escape(hint)}">{escape(h)}</th>' if hint else f"<th>{escape(h)}</th>"
            for h, hint in zip(self.headers, hints, strict=True)
        )
        body = []
        for index, row in enumerate(self.rows):
            cells = []
            for position, cell in enumerate(row):
                if isinstance(cell, Figure):
                    cells.append(
                        f'<td class="n">{escape(formatted(cell.key, cell.value, tr))}</td>'
                    )
                elif position == 0 and self.notes is not None:
                    cells.append(
                        f"<td><strong>{escape(cell)}</strong>"
                        f"<div class='def'>{escape(self.notes[index])}</div></td>"
                    )
                else:
                    cells.append(f"<td>{escape(cell)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        return (
            f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )

    def csv(self, name: str) -> Response:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.headers + ([self.notes_header] if self.notes is not None else []))
        for index, row in enumerate(self.rows):
            line = [_raw(cell.value) if isinstance(cell, Figure) else cell for cell in row]
            writer.writerow(line + ([self.notes[index]] if self.notes is not None else []))
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


# The columns of the tables that break the figures down (by department, unit, location).
BREAKDOWN = (
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


def _breakdown(tr: Tr, first: list[str], rows: list[tuple[list[str], dict[str, Any]]]) -> Grid:
    """A row per part of the scope: its name (and what else ``first`` heads), then its figures."""
    measures_shown = [measures.BY_KEY[key] for key in BREAKDOWN]
    return Grid(
        first + [tr(m.label) for m in measures_shown],
        [names + [Figure(key, figures[key][0]) for key in BREAKDOWN] for names, figures in rows],
        hints=[""] * len(first) + [tr(m.definition) for m in measures_shown],
    )


@dataclass
class View:
    """One request's reader, period, scope and report: what every table is built from."""

    reader: Reader
    period: Period
    scope: service.Scope
    report: Report

    @property
    def tr(self) -> Tr:
        return self.reader.tr

    @property
    def ids(self) -> list[str] | None:
        """The departments the figures are summed over; None for the whole programme or oneself."""
        return self.scope.department_ids if self.scope.departments else None

    def measures(self) -> Grid:
        tr, figures = self.tr, self.report.figures(self.ids)
        return Grid(
            [tr("Measure"), self.period.label(tr), self.period.previous.label(tr)],
            [
                [
                    tr(m.label),
                    Figure(m.key, figures[m.key][0]),
                    Figure(m.key, figures[m.key][1]) if m.compared else "",
                ]
                for m in MEASURES
            ],
            notes=[tr(m.definition) for m in MEASURES],
            notes_header=tr("Definition"),
        )

    def networks(self) -> Grid:
        tr = self.tr
        clicks = self.report.networks(self.ids)
        return Grid(
            [tr("Network"), tr("Clicks")],
            [[n.capitalize(), Figure("share_clicks", c)] for n, c in sorted(clicks.items())],
            hints=["", tr(measures.BY_KEY["share_clicks"].definition)],
        )

    def departments(self) -> Grid:
        tr = self.tr
        return _breakdown(
            tr,
            [tr("Department")],
            [
                ([service.name_of(d, tr)], self.report.figures([d.id]))
                for d in self.scope.departments
            ],
        )

    def business_units(self) -> Grid:
        """Each business unit, summed over the departments of it the reader may see (only those)."""
        tr, config = self.tr, self.reader.config
        seen = {d.id for d in self.scope.departments}
        rows = []
        for unit in [*config.business_units, None]:
            inside = [
                d.id for d in config.departments if d.business_unit == (unit.id if unit else None)
            ]
            mine = [d for d in inside if d in seen]
            if not mine or (unit is None and not rows):
                continue
            name = (unit.name.get(tr.lang) or unit.id) if unit else tr("No business unit")
            rows.append(([name, f"{len(mine)}/{len(inside)}"], self.report.figures(mine)))
        return _breakdown(tr, [tr("Business unit"), tr("Departments seen")], rows)

    def locations(self) -> Grid:
        rows = []
        for place in self.report.locations():
            figures = self.report.figures(self.ids, place)
            if figures["opted_in"][0] or figures["active"][0]:
                rows.append(([place], figures))
        return _breakdown(self.tr, [self.tr("Location")], rows)


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

    @dataclass
    class Asked:
        """What a request asks for, once its reader is known and its filters read."""

        reader: Reader
        period: Period
        scope: service.Scope
        department: str
        query: dict[str, str]

        def view(self) -> View:
            return View(
                self.reader, self.period, self.scope, build(self.reader, self.period, self.scope)
            )

    def asked(request: Request, refused: Callable[[Tr, str], Response]) -> Asked | Response:
        """The reader and their filters; the sign-in page, or ``refused``'s answer to a bad filter."""
        reader = reader_of(request)
        if reader is None:
            return signed_out(request)
        try:
            period, scope, department = choose(reader, request)
        except (PeriodError, ValueError) as exc:
            return refused(reader.tr, str(exc))
        query = {"period": request.query_params.get("period") or "week"}
        if department:
            query["department"] = department
        return Asked(reader, period, scope, department, query)

    def refused_page(title: str) -> Callable[[Tr, str], Response]:
        return lambda tr, reason: _page(tr(title), f"<p>{escape(reason)}</p>", tr, 400)

    def refused_text(tr: Tr, reason: str) -> Response:
        return Response(reason, status_code=400, media_type="text/plain; charset=utf-8")

    def tables(view: View) -> list[tuple[str, str, Callable[[], Grid]]]:
        """The overview's tables, each exportable: (name in the URL, title, how to build it)."""
        tr = view.tr
        found = [("measures", tr("Measures"), view.measures)]
        if view.report.networks(view.ids):
            found.append(("networks", tr("Share link clicks"), view.networks))
        if view.scope.departments:
            found.append(("departments", tr("By department"), view.departments))
            if view.reader.config.business_units:
                found.append(("business-units", tr("By business unit"), view.business_units))
            found.append(("locations", tr("By location"), view.locations))
        return found

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
        found = asked(request, refused_page(N_("Participation figures")))
        if isinstance(found, Response):
            return found
        view = found.view()
        tr, period, scope = view.tr, view.period, view.scope
        body = [filters(found.reader, found.query["period"], found.department, "/dashboard")]
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
        scope_title = (
            tr("The whole programme")
            if scope.programme and not found.department
            else ", ".join(service.name_of(d, tr) for d in scope.departments)
            if scope.departments
            else tr("Your own figures")
        )
        shown = tables(view)
        for name, title, grid in shown:
            if name == "departments":
                chart = f"/dashboard/chart.png?{escape(urlencode(found.query))}"
                body.append(f"<h2>{escape(tr('Trend'))}</h2>")
                body.append(
                    f'<img src="{chart}" width="468" height="216" '
                    f'alt="{escape(tr("Active ambassadors per week"))}">'
                )
            body.append(f"<h2>{escape(scope_title if name == 'measures' else title)}</h2>")
            body.append(grid().html(tr))
        body.append(export_links([(name, title) for name, title, _ in shown], found.query))
        return _page(tr("Participation figures"), "".join(body), tr)

    @app.get("/dashboard/chart.png")
    def chart(request: Request) -> Response:
        found = asked(request, lambda tr, reason: Response(status_code=400))
        if isinstance(found, Response):
            return found
        scope, config, tr = found.scope, found.reader.config, found.reader.tr
        if not (scope.programme or scope.departments):
            return Response(status_code=404)
        week = periods.current("week", found.period.end_utc, config.time.zone).previous
        with Session(runtime.engine) as session:
            points = measures.trend(session, week, scope.department_ids)
            opted_in = (
                measures.build(session, config, week, scope.department_ids)
                .total(scope.department_ids)
                .opted_in
            )
        png = trend_png(
            points, opted_in, tr, tr("Active ambassadors, last {weeks} weeks", weeks=len(points))
        )
        return Response(
            png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"}
        )

    @app.get("/dashboard/export/{table}.csv")
    def export(table: str, request: Request) -> Response:
        found = asked(request, refused_text)
        if isinstance(found, Response):
            return found
        tr, period = found.reader.tr, found.period
        name = f"relais-{table}-{period.code}.csv"
        if table == "timeline":
            return timeline_grid(found).csv(name)
        for known, _, grid in tables(found.view()):
            if known == table:
                return grid().csv(name)
        return Response(
            tr("No such table."), status_code=404, media_type="text/plain; charset=utf-8"
        )

    def timeline_grid(found: Asked) -> Grid:
        """Cases and crises of the period, in the reader's scope, oldest first."""
        tr, scope, period = found.reader.tr, found.scope, found.period
        kinds = (*measures.RARE, "crisis_ended")
        wanted = None if scope.programme else {d.id for d in scope.departments}
        rows: list[list[Cell]] = []
        if not (scope.programme or scope.departments):
            found_rows = []
        else:
            with Session(runtime.engine) as session:
                found_rows = session.execute(
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
        for occurred_at, kind, subject, data, department in found_rows:
            place = (data or {}).get("department") or department or ""
            if kind.startswith("crisis_") and kind != "crisis_alert_acknowledged":
                place = place if wanted is None else ""
            elif wanted is not None and place not in wanted:
                continue
            when = local(occurred_at, found.reader.config.time.zone).strftime("%Y-%m-%d %H:%M")
            rows.append([when, kind.replace("_", " "), place, subject or ""])
        return Grid([tr("When"), tr("What"), tr("Department"), tr("Subject")], rows)

    @app.get("/dashboard/timeline")
    def timeline(request: Request) -> Response:
        found = asked(request, refused_page(N_("Cases and crises")))
        if isinstance(found, Response):
            return found
        tr = found.reader.tr
        grid = timeline_grid(found)
        body = filters(found.reader, found.query["period"], found.department, "/dashboard/timeline")
        if grid.rows:
            body += grid.html(tr)
        else:
            body += "<p>" + escape(tr("Nothing in this period.")) + "</p>"
        body += export_links([("timeline", tr("Cases and crises"))], found.query)
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
