"""In Chromium: the indicators' charts are drawn (a screenshot kept in test-artifacts/), every chart has
its table, and axe-core finds no WCAG 2.1 AA violation on the indicators, a drill-down and /transparencia."""

from __future__ import annotations

import re

import pytest

from tests.fixtures import axe, live
from tests.fixtures.desk import Desk

pytestmark = [
    pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING),
    pytest.mark.skipif(not axe.installed(), reason=axe.AXE_MISSING),
]


def shot(page, name: str) -> None:
    live.ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(live.ARTIFACTS / f"indicadores_{name}.png"), full_page=True)


def answered_cases(app, clock) -> None:
    """Cases answered on time and late, and some open: something to draw in every chart."""
    desk = Desk(app.extensions["atiende"], clock)
    for wait_days in (3, 45):
        case_id = desk.start()
        desk.to_follow_up(case_id)
        clock.advance(days=wait_days)
        desk.do(case_id, "Task_respuesta_final")
    desk.start()


def test_the_charts_render_and_pass_axe(served, frozen_clock):
    app, url = served
    answered_cases(app, frozen_clock)
    context_pages = []
    with live.browser() as chromium:
        context = chromium.new_context()
        axe.prepare(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        live.sign_in(page, url, "coordinador")
        page.click("nav.navegacion a:has-text('Indicadores')")
        page.wait_for_url(f"{url}/indicadores/")
        charts = page.locator("svg.grafico[role='img']")
        assert charts.count() >= 4
        for index in range(charts.count()):
            box = charts.nth(index).bounding_box()
            assert box and box["width"] > 200 and box["height"] > 80
        assert page.locator("svg.grafico rect, svg.grafico polyline, svg.grafico circle").count() > 10
        assert page.locator("table.tabla caption").count() >= 7
        shot(page, "pagina")
        context_pages.append(("/indicadores/", axe.violations(page)))

        page.locator("#tabla-direcciones a").first.click()
        page.wait_for_url(re.compile(r"/indicadores/casos\?"))
        assert page.locator("#tabla-casos tbody tr").count() >= 1
        context_pages.append(("/indicadores/casos", axe.violations(page)))

        page.goto(f"{url}/indicadores/?desde=31/02/2026")
        assert page.locator("#filtro-desde-error").is_visible()
        context_pages.append(("/indicadores/ (error)", axe.violations(page)))

        public = chromium.new_context()
        axe.prepare(public)
        anonymous = public.new_page()
        anonymous.goto(f"{url}/transparencia")
        assert anonymous.locator("svg.grafico[role='img']").count() == 1
        shot(anonymous, "transparencia")
        context_pages.append(("/transparencia", axe.violations(anonymous)))
    found = "\n".join(axe.describe(where, violations) for where, violations in context_pages if violations)
    assert not found, found
