"""In Chromium: the heatmap on the common tramitación's diagram marks the slowest step in colour and
in words over the drawing (a screenshot kept in test-artifacts/), and axe-core finds no WCAG 2.1 AA
violation on the page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fixtures import axe, live
from tests.fixtures.desk import Desk
from web.vendor import bpmn_js_installed

pytestmark = [
    pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING),
    pytest.mark.skipif(not axe.installed(), reason=axe.AXE_MISSING),
    pytest.mark.skipif(not bpmn_js_installed(), reason="bpmn-js is not installed in web/assets (make install)"),
]
JUNE = "?desde=01/06/2026&hasta=30/06/2026"  # only this test's completions fall in June


def test_the_slowest_step_stands_out_on_the_diagram_and_the_page_passes_axe(served, frozen_clock):
    app, url = served
    desk = Desk(app.extensions["atiende"], frozen_clock)
    frozen_clock.set(datetime(2026, 6, 1, 14, tzinfo=UTC))
    case_id = desk.start()
    frozen_clock.advance(hours=1)
    desk.do(case_id, "Task_plantilla_queja_reclamo")
    frozen_clock.advance(days=5)  # the hoja waited five days: the slowest step of June
    desk.do(case_id, "Task_confeccionar_hoja")

    with live.browser() as chromium:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        axe.prepare(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        live.sign_in(page, url, "coordinador")
        page.goto(f"{url}/indicadores/mapa/tramitacion_comun{JUNE}")
        page.wait_for_selector("#mapa-calor[data-listo='1']")
        slowest = page.locator(".nota-calor[data-paso='Task_confeccionar_hoja']")
        assert slowest.is_visible()
        assert "calor-3" in (slowest.get_attribute("class") or "")
        assert "Más lento" in slowest.inner_text() and "mediana 5–6 días" in slowest.inner_text()
        assert "calor-3" in (
            page.locator("g.djs-element[data-element-id='Task_confeccionar_hoja']").get_attribute("class") or ""
        )
        faster = page.locator(".nota-calor[data-paso='Task_plantilla_queja_reclamo']").inner_text()
        assert "mediana 1–2 h" in faster and "Más lento" not in faster
        waiting = page.locator(".nota-calor[data-paso='Task_aprobar_hoja']").inner_text()
        assert "en espera" in waiting
        row = page.locator("#tabla-pasos tr", has_text="Confeccionar hoja de trámite").inner_text()
        assert "5–6 días" in row and "Más lento" in row
        live.ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(live.ARTIFACTS / "mapa_calor.png"), full_page=True)
        found = axe.violations(page)
        assert found == [], axe.describe("/indicadores/mapa/tramitacion_comun", found)
        page.goto(f"{url}/indicadores/mapa/")
        found = axe.violations(page)
        assert found == [], axe.describe("/indicadores/mapa/", found)
        page.click("a:has-text('Tramitación común')")
        page.wait_for_selector("#mapa-calor[data-listo='1']")
        found = axe.violations(page)
        assert found == [], axe.describe("a map without a period", found)
