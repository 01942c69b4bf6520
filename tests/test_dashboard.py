"""The dashboard in a real headless browser (Debian's chromium through Playwright): signing in
with a single-use link, filtering, exporting CSV, the maturity page, links refused when expired
or reused, a manager held to their departments, a phone-sized screen."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.clock import utcnow
from bot.members.models import Member
from bot.reporting import access
from bot.web import create_app
from tests.conftest import LoopbackServer

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CLAIRE = "claire.dubois@example.com"  # coordinator, reads French
JULIEN = "julien.roux@example.com"  # manager of Sales, HR, Legal


def cli(url: str, config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        list(args),
        env={"RELAIS_DATABASE_URL": url, "RELAIS_LANG": "en", "RELAIS_CONFIG": str(config)},
    )
    return result.exit_code, result.output


@pytest.fixture
def site(runtime_factory, programme_dir: Path, tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    """The demo programme seeded with `relais demo seed`, served on 127.0.0.1."""
    monkeypatch.delenv(access.SECRET_ENV, raising=False)  # the embedded default makes its own
    url = f"sqlite:///{tmp_path / 'relais.db'}"
    runtime = runtime_factory(url)
    code, output = cli(url, programme_dir / "app.yaml", "demo", "seed", "--weeks", "8")
    assert code == 0, output
    assert "invented participation events over 8 weeks" in output
    with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
        monkeypatch.setenv(access.PUBLIC_URL_ENV, server.url)
        yield runtime, server, url, programme_dir / "app.yaml"


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip(
            f"the dashboard's browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def link_for(runtime, email: str) -> str:  # type: ignore[no-untyped-def]
    """Type `dashboard` in the console as ``email``; the link Relais answers with.

    In a thread of its own: the console runs its own event loop, Playwright's is running here.
    """
    from concurrent.futures import ThreadPoolExecutor

    from adapters.console.chat import ConsoleChat

    def ask() -> str:
        shown = "\n".join(
            item.rendered.text for item in ConsoleChat(runtime, email).type("dashboard")
        )
        return next(word for word in shown.split() if "/dashboard/signin/" in word)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(ask).result()


def test_a_coordinator_signs_in_filters_exports_and_reads_the_maturity_page(
    site, browser, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    runtime, server, _, _ = site
    link = link_for(runtime, CLAIRE)
    assert link.startswith(server.url + "/dashboard/signin/")
    page = browser.new_page(accept_downloads=True)
    page.goto(link)
    assert page.url == server.url + "/dashboard"
    assert page.locator("h1").inner_text() == "Chiffres de participation"
    assert "L’ensemble du programme" in page.content()
    assert page.locator("text=Clics sur les liens de partage").first.is_visible()

    page.select_option("#period", "last-week")
    page.select_option("#department", "sales")
    page.click("button[type=submit]")
    assert "period=last-week" in page.url and "department=sales" in page.url
    assert page.locator("h2").first.inner_text() == "Ventes"
    chart = page.locator("img").first
    drawn = page.request.get(server.url + chart.get_attribute("src"))
    assert drawn.status == 200 and drawn.body().startswith(b"\x89PNG"), drawn.text()[:300]
    page.wait_for_function("document.images[0].complete && document.images[0].naturalWidth > 0")

    with page.expect_download() as waiting:
        page.click("a[href^='/dashboard/export/departments.csv']")
    download = waiting.value
    assert download.suggested_filename.startswith("relais-departments-2026-W")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0][0] == "Service" and [row[0] for row in rows[1:]] == ["Ventes"]

    assert page.locator("h2", has_text="Par branche").is_visible()
    with page.expect_download() as waiting:
        page.click("a[href^='/dashboard/export/business-units.csv']")
    rows = list(csv.reader(io.StringIO(Path(waiting.value.path()).read_text(encoding="utf-8"))))
    assert rows[0][:2] == ["Branche", "Services visibles"]
    assert [row[:2] for row in rows[1:]] == [["Entreprises", "1/3"]]  # Sales only, as filtered

    with page.expect_download() as waiting:
        page.click("a[href^='/dashboard/export/measures.csv']")
    rows = list(csv.reader(io.StringIO(Path(waiting.value.path()).read_text(encoding="utf-8"))))
    assert rows[0][0] == "Mesure" and len(rows) == 17

    page.click("header a[href='/dashboard/maturity']")
    assert page.locator("h1").inner_text() == "Maturité du programme"
    assert page.locator("h2").count() == 5  # four practices and the organisation model
    assert "/3" in page.locator("h2").first.inner_text()
    assert "Configuré" in page.content()

    page.click("header a[href='/dashboard/timeline']")
    assert "case opened" in page.content() or "Rien sur cette période" in page.content()

    # The same link a second time: refused.
    again = browser.new_page()
    response = again.goto(link)
    assert response is not None and response.status == 403
    assert "Ce lien ne fonctionne plus" in again.content()


def test_an_expired_link_is_refused_and_a_manager_sees_only_their_departments(
    site, browser
) -> None:  # type: ignore[no-untyped-def]
    runtime, server, url, config = site
    with Session(runtime.engine) as session:
        julien = session.exec(select(Member).where(Member.email == JULIEN)).one()
        expired = access.new_link(
            session, julien, now=utcnow() - access.LINK_LIFETIME - timedelta(seconds=1)
        )
        session.commit()
    page = browser.new_page()
    response = page.goto(expired)
    assert response is not None and response.status == 403

    code, output = cli(url, config, "dashboard", "link", JULIEN)
    assert code == 0, output
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(output.strip())
    shown = page.content()
    assert "Ventes" in shown and "Juridique" in shown and "Marketing" not in shown
    assert "L’ensemble du programme" not in shown
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # tables scroll inside their box; the page itself does not
    page.goto(server.url + "/dashboard?department=marketing")
    assert "Vous ne pouvez pas voir les chiffres de Marketing" in page.content()
    response = page.goto(server.url + "/dashboard/export/departments.csv?department=marketing")
    assert response is not None and response.status == 400


def test_without_a_session_nothing_is_shown(site) -> None:  # type: ignore[no-untyped-def]
    _, server, _, _ = site
    answer = httpx.get(server.url + "/dashboard/export/measures.csv")
    assert answer.status_code == 401 and "dashboard" in answer.text
    forged = httpx.get(server.url + "/dashboard", cookies={access.COOKIE: "1.9999999999.AAAA"})
    assert forged.status_code == 401


@pytest.mark.postgres
def test_on_postgresql_the_dashboard_needs_a_secret(
    runtime_factory, postgres_url: str, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(access.SECRET_ENV, raising=False)
    runtime = runtime_factory(postgres_url)
    with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
        answer = httpx.get(server.url + "/dashboard")
    assert answer.status_code == 503 and access.SECRET_ENV in answer.text
    monkeypatch.setenv(access.SECRET_ENV, "x" * 40)
    runtime = runtime_factory(postgres_url, members=False)
    with LoopbackServer(create_app(runtime, run_scheduler=False)) as server:
        assert httpx.get(server.url + "/dashboard").status_code == 401  # mounted: asks to sign in


def test_demo_seed_refuses_a_real_programme(
    runtime_factory, programme_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'real.db'}"
    runtime = runtime_factory(url)
    with Session(runtime.engine) as session:
        session.add(Member(email="jane@acme-real.com", name="Jane", language="en", time_zone="UTC"))
        session.commit()
    code, output = cli(url, programme_dir / "app.yaml", "demo", "seed")
    assert code == 1 and "outside example.com" in output


SOPHIE = "sophie.laurent@example.com"  # manages Communications and Marketing (Residential)


@contextmanager
def signed_in(site, email: str) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    """An HTTP client holding ``email``'s dashboard session, through `relais dashboard link`."""
    _, server, url, config = site
    code, output = cli(url, config, "dashboard", "link", email)
    assert code == 0, output
    with httpx.Client(base_url=server.url) as client:
        answer = client.get(output.strip().removeprefix(server.url))
        assert answer.status_code == 303 and access.COOKIE in answer.cookies
        yield client


def csv_rows(client: httpx.Client, table: str, query: str = "period=last-week") -> list[list[str]]:
    answer = client.get(f"/dashboard/export/{table}.csv?{query}&lang=en")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(answer.text)))


def test_business_units_sum_only_the_departments_the_reader_may_see(site) -> None:  # type: ignore[no-untyped-def]
    with signed_in(site, SOPHIE) as sophie:
        page = sophie.get("/dashboard?period=last-week&lang=en").text
        assert "By business unit" in page and "By department" in page and "By location" in page
        assert "Residential" in page and "Business</td>" not in page and "Sales" not in page
        units = csv_rows(sophie, "business-units")
        departments = csv_rows(sophie, "departments")
        locations = csv_rows(sophie, "locations")
    assert units[0][:3] == ["Business unit", "Departments seen", "Ambassadors opted in"]
    # Residential holds three departments; Sophie manages two: only those two are summed.
    assert [row[:2] for row in units[1:]] == [["Residential", "2/3"]]
    assert [row[0] for row in departments[1:]] == ["Communications", "Marketing"]
    for column in (2, 3, 5, 7):  # opted in, active, lessons answered, share clicks
        assert int(units[1][column]) == sum(int(row[column - 1]) for row in departments[1:])
    assert int(units[1][2]) == 5  # Claire, Hugo, Sophie, Inès, Chloé
    # Lyon and Montréal are Customer service's and HR's: not hers.
    assert {row[0] for row in locations[1:]} <= {"Paris", "Nantes", "Toulouse"}

    with signed_in(site, JULIEN) as julien:
        units = csv_rows(julien, "business-units")
        assert [row[:2] for row in units[1:]] == [["Business", "3/3"]]
        narrowed = csv_rows(julien, "business-units", "period=last-week&department=hr")
        assert [row[:2] for row in narrowed[1:]] == [["Business", "1/3"]]
        refused = julien.get("/dashboard/export/business-units.csv?department=marketing")
        assert refused.status_code == 400 and "Marketing" in refused.text
        assert julien.get("/dashboard/export/nothing.csv").status_code == 404

    with signed_in(site, CLAIRE) as claire:  # a coordinator: every unit, in full
        units = csv_rows(claire, "business-units")
        assert [row[:2] for row in units[1:]] == [["Residential", "3/3"], ["Business", "3/3"]]
        measures_csv = csv_rows(claire, "measures")
        everyone = {row[0]: row[1] for row in measures_csv[1:]}
        assert int(everyone["Ambassadors opted in"]) == sum(int(row[2]) for row in units[1:])
