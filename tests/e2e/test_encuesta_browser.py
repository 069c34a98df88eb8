"""In a real browser, with axe-core: the administrator's calendar page (and its errors beside the fields),
and the citizen's survey from the mailed link to the thanks, then the page of a link already used."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.db.models import OutboxMessage
from tests.fixtures import axe, live
from tests.fixtures.desk import Desk

pytestmark = [
    pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING),
    pytest.mark.skipif(not axe.installed(), reason=axe.AXE_MISSING),
]
MAILED = re.compile(r"https?://[^\s/]+(/encuesta/[A-Za-z0-9_-]{20,})")


def checked(page, where: str, name: str) -> None:
    """No WCAG 2.1 AA violation axe finds on the page now; a screenshot kept."""
    found = axe.violations(page)
    assert not found, axe.describe(where, found)
    live.ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(live.ARTIFACTS / f"encuesta_{name}.png"), full_page=True)


def test_the_calendar_and_the_survey_pages_pass_axe(served, frozen_clock):
    app, url = served
    desk = Desk(app.extensions["atiende"], frozen_clock)
    case_id = desk.start()
    desk.to_follow_up(case_id)
    desk.do(case_id, "Task_respuesta_final", respuesta_final="Se recogió la basura.", fecha_respuesta="2026-03-05")
    with app.extensions["atiende"].store.read() as s:
        body = s.scalar(
            select(OutboxMessage.body).where(
                OutboxMessage.case_id == case_id, OutboxMessage.kind == "respuesta_ciudadano"
            )
        )
    found = MAILED.search(body or "")
    assert found, body
    link = found.group(1)

    with live.browser() as chromium:
        admin = chromium.new_context()
        axe.prepare(admin)
        page = admin.new_page()
        live.sign_in(page, url, "admin")
        page.goto(f"{url}/admin/calendario?anio=2026")
        checked(page, "/admin/calendario", "1_calendario")
        page.fill("#fecha", "14/03/2026")
        page.fill("#nombre", "Duelo nacional")
        page.fill("#decreto", "Decreto Ejecutivo N.º 12 de 2026")
        page.click("button:has-text('Agregar día libre')")
        assert "sábado o domingo" in page.inner_text("#fecha-error")
        checked(page, "/admin/calendario (error)", "2_calendario_error")
        admin.close()

        citizen = chromium.new_context()
        axe.prepare(citizen)
        page = citizen.new_page()
        page.goto(f"{url}{link}")
        checked(page, "/encuesta", "3_formulario")
        page.check("#satisfaccion-4")
        page.check("#a_tiempo-1")
        page.fill("#comentario", "Respondieron rápido.")
        page.click("button:has-text('Enviar respuestas')")
        assert "Gracias por responder" in page.inner_text("h1")
        checked(page, "/encuesta (gracias)", "4_gracias")
        page.goto(f"{url}{link}")
        assert "ya fue respondida" in page.inner_text("h1")
        checked(page, "/encuesta (respondida)", "5_respondida")
        citizen.close()

        coordinator = chromium.new_context()
        axe.prepare(coordinator)
        page = coordinator.new_page()
        live.sign_in(page, url, "coordinador")
        page.goto(f"{url}/encuestas/comentarios?desde=01/03/2026&hasta=31/03/2026")
        assert "Respondieron rápido." in page.inner_text("table")
        checked(page, "/encuestas/comentarios", "6_comentarios")
        coordinator.close()
