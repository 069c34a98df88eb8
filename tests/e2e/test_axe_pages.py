"""Every page a person reaches has no WCAG 2.1 A/AA violation that axe-core finds.

The pages are not listed here: for each demo user (README) the test signs in and follows, from the
main menu, the links a person would (same-origin GETs, two clicks deep from the menu), one page of
each kind: one per endpoint, and per task name for task pages (every form renders differently).
So a new page, a new menu entry or a new task form is checked the day it appears. The search for a
ticket and the case pages (the staff's and the auditor's) are tried for every person too, as a
person opens them from a ticket: the links to them depend on what the bandeja and the audit log
hold that day. The public pages (Reporte Ciudadano, the case-status page with a case found,
sign-in) are checked without a session. One browser for the module, one context per person: the
crawl only reads.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
from flask import url_for
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import func, select

from engine.clock import FrozenClock
from engine.db.models import Case
from engine.demo.seed import DEMO_USERS
from tests.conftest import START
from tests.fixtures import axe, live
from web import create_app

pytestmark = [
    pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING),
    pytest.mark.skipif(not axe.installed(), reason=axe.AXE_MISSING),
]
DEPTH = 2  # clicks from the menu
MOST_PAGES = 40  # per person: a bound on the crawl, far above what a role reaches today
# Files, not pages: what a link downloads (the attachment, PDFs, XLSX, CSV, the diagram's XML).
DOWNLOAD = re.compile(r"(\.(pdf|xlsx|csv|xml|json|bpmn)$|/adjuntos/)")
TICKET = "(from a ticket)"  # the text of the links the test follows as a person who knows a ticket
NOT_CRAWLED = {"auth.ingresar", "static", "vendor.static"}  # signing in again; the assets themselves


@pytest.fixture(scope="module")
def desk(tmp_path_factory, sqlite_templates):
    """(app, base URL): the demo data served for the whole module (the crawl writes nothing)."""
    directory = tmp_path_factory.mktemp("axe")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "clave-de-prueba",
            "DATABASE_URL": sqlite_templates.copy("demo", directory / "atiende.sqlite3"),
            "ATIENDE_CLOCK": FrozenClock(START),
        }
    )
    with live.serving(app) as url:
        yield app, url
    app.extensions["atiende"].store.dispose()


@pytest.fixture(scope="module")
def browser():
    with live.browser() as chromium:
        yield chromium


@pytest.fixture
def page(browser):
    """A page in a fresh context (its own cookies) that carries axe-core."""
    context = browser.new_context()
    axe.prepare(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def kind_of(app, base: str, href: str, text: str) -> str | None:
    """What page ``href`` shows, to visit one of each: its endpoint (and, for a task, its name);
    None for what is not a page of this application to check."""
    url = urlsplit(urljoin(base + "/", href))
    if f"{url.scheme}://{url.netloc}" != base or DOWNLOAD.search(url.path) or "descargar" in url.query:
        return None
    try:
        endpoint, _args = app.url_map.bind("127.0.0.1").match(url.path, method="GET")
    except Exception:  # noqa: BLE001 - a redirect, a 404 or a POST-only route: not a page to crawl
        return None
    if endpoint in NOT_CRAWLED or endpoint.startswith("open311."):
        return None
    return f"{endpoint} {' '.join(text.split())}" if endpoint.startswith("tasks.") else endpoint


def case_pages(app) -> list[str]:
    """The search for, and the staff's and the auditor's page of, the first case of each dirección
    (and of none): an enlace reads only their own dirección's, and a few tries must find one
    whatever the demo holds."""
    with app.extensions["atiende"].store.read() as s:
        firsts = select(func.min(Case.id)).group_by(Case.direccion)
        cases = s.execute(select(Case.id, Case.ticket).where(Case.id.in_(firsts)).order_by(Case.id)).all()
    with app.test_request_context():
        return [
            page
            for case_id, ticket in cases
            for page in (
                url_for("search.buscar", q=ticket),
                url_for("cases.caso", case_id=case_id),
                url_for("auditoria.caso", case_id=case_id),
            )
        ]


def links(page, selector: str) -> list[tuple[str, str]]:
    return page.eval_on_selector_all(
        selector, "els => els.map(a => [a.getAttribute('href'), a.textContent]).filter(l => l[0])"
    )


def check(page, where: str) -> list[str]:
    """The axe violations of the page now, as lines naming the page."""
    found = axe.violations(page)
    return [axe.describe(where, found)] if found else []


@pytest.mark.parametrize("username", [user[0] for user in DEMO_USERS])
def test_every_page_a_person_reaches_has_no_wcag_violation(desk, page, username):
    app, base = desk
    live.sign_in(page, base, username)
    queue = [(href, text, 0) for href, text in links(page, "nav.navegacion a")]
    queue += [(href, TICKET, DEPTH) for href in case_pages(app)]
    seen: set[str] = set()
    visited, problems = [], []
    while queue and len(visited) < MOST_PAGES:
        href, text, depth = queue.pop(0)
        url = urljoin(base + "/", href)
        kind = kind_of(app, base, href, text)
        if kind is None or url in visited:
            continue
        # A page opened from a ticket is checked once per kind too, apart from the menu's: the
        # search with its results is not the empty search of the menu.
        key = f"{kind} {TICKET}" if text == TICKET else kind
        if key in seen:
            continue
        try:
            response = page.goto(url)
        except PlaywrightError as error:
            if "Download is starting" in str(error):
                continue  # a file the name did not give away
            raise
        assert response is not None
        if text == TICKET and response.status in (403, 404):
            continue  # a case page this person may not open: another case may still be theirs
        seen |= {key, kind}
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        assert response.status < 400, f"{username}: the link «{text.strip()}» → {url} answers {response.status}"
        visited.append(url)
        problems += check(page, f"{username} {urlsplit(url).path}")
        if depth < DEPTH:
            queue += [(h, t, depth + 1) for h, t in links(page, "main a[href], nav.navegacion a")]
    print(f"\n{username}: {len(visited)} pages", *visited, sep="\n  ")
    assert len(visited) > 1, f"{username} reaches no page from the menu"
    assert not problems, "\n".join(problems)


def test_the_public_pages_have_no_wcag_violation(desk, page):
    """Reporte Ciudadano, the case-status page (empty, and with a case found) and sign-in."""
    app, base = desk
    with app.extensions["atiende"].store.read() as s:
        case = s.scalars(select(Case).where(Case.citizen_email.is_not(None)).order_by(Case.id).limit(1)).one()
        ticket, email = case.ticket, case.citizen_email
    problems = []
    for path in ("/reporte", "/consulta", "/ingresar"):
        page.goto(base + path)
        problems += check(page, path)
    page.goto(base + "/consulta")
    page.fill("#ticket", ticket)
    page.fill("#contacto", email)
    page.click("button:has-text('Consultar')")
    page.wait_for_selector(f"h2:has-text('{ticket}')")
    problems += check(page, f"/consulta ({ticket})")
    assert not problems, "\n".join(problems)
