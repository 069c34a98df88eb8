"""In a real browser: a step fails for the operador (the message and the incident number over the form kept),
the analyst sees it on «Incidencias», fixes the diagram (uploads it into the draft and deploys), migrates
the case and retries: the case moves on and the incident is resolved."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.db.models import HumanTask, Incident
from tests.fixtures import live
from tests.fixtures.diagrams import NOTE_FORM, one_task

pytestmark = pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING)

ARTIFACTS = live.ARTIFACTS
MISSING = "urgencia == 'alta'"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"incidencias_{name}.png"), full_page=True)


def test_an_incident_appears_is_fixed_by_a_deploy_and_retried(served, tmp_path):
    app, url = served
    atiende = app.extensions["atiende"]
    atiende.deploy({"prueba.bpmn": one_task(condition=MISSING)}, {"nota": NOTE_FORM}, "analista")
    fixed = tmp_path / "prueba.bpmn"
    fixed.write_text(one_task(condition="prioridad == 'alta'"), encoding="utf-8")

    with live.browser_page(timeout_ms=20_000) as page:
        live.sign_in(page, url, "operador")
        page.goto(f"{url}/casos/nuevo?procedimiento=prueba")
        page.click("button:has-text('Registrar')")
        page.wait_for_url(re.compile(r"/casos/\d+$"))
        case_id = int(page.url.rsplit("/", 1)[1])
        with atiende.store.read() as s:
            task_id = s.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id))
        page.goto(f"{url}/tareas/{task_id}")
        page.check("input[name='prioridad'][value='alta']")
        page.click("button.boton:has-text('Completar tarea')")
        alert = page.inner_text("#incidencia")
        assert 'El paso "gw" del procedimiento no pudo completarse' in alert
        assert 'usa la variable "urgencia", que el caso no tiene' in alert and "Se registró la incidencia 1." in alert
        assert page.is_checked("input[name='prioridad'][value='alta']")  # the choice is kept
        shot(page, "1_operador")
        page.click("button:has-text('Salir')")

        live.sign_in(page, url, "analista")
        page.click("nav.navegacion a:has-text('Incidencias')")
        row = page.inner_text("#incidencia-1")
        assert "usa la variable" in row and "Tarea" in row
        shot(page, "2_lista")

        page.goto(f"{url}/procedimientos/prueba/editor")
        page.set_input_files("#bpmn", str(fixed))
        page.click("button:has-text('Cargar en el borrador')")
        assert "Se cargó «prueba.bpmn» en el borrador" in page.inner_text(".avisos")
        page.fill("#nota", "La condición usa «prioridad»")
        page.click("#desplegar")
        page.wait_for_url(re.compile(r"/procedimientos/prueba/$"))
        assert "versión 2" in page.inner_text(".avisos")

        page.goto(f"{url}/procedimientos/prueba/migracion")
        page.click("button:has-text('Migrar todos los que se pueda')")
        page.wait_for_selector(".avisos")

        page.click("nav.navegacion a:has-text('Incidencias')")
        page.click("#incidencia-1 button:has-text('Reintentar')")
        notice = page.inner_text(".avisos")
        assert "Incidencia 1: el paso se completó y la incidencia quedó resuelta." in notice
        assert "No hay incidencias abiertas." in page.inner_text("main")
        shot(page, "3_resuelta")

    with atiende.store.read() as s:
        assert s.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id)) is None
        [incident] = s.scalars(select(Incident))
        assert (incident.state, incident.resolved_by, incident.attempts) == ("resuelta", "analista", 2)
