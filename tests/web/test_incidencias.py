"""A step that fails shows its incident over the form kept, never a 500; «Incidencias» lists, retries, resolves."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.db.models import Case, HumanTask, Incident
from engine.procedures import case_migration
from tests.fixtures.diagrams import NOTE_FORM, one_task
from tests.web.conftest import html

MISSING = "urgencia == 'alta'"
START_FORM = (
    '<bpmn:startEvent id="start"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="formulario" value="nota"/></spiffworkflow:properties></bpmn:extensionElements>'
)


def deploy(app, xml: str) -> int:
    [version] = app.extensions["atiende"].deploy({"prueba.bpmn": xml}, {"nota": NOTE_FORM}, "analista")
    return version.id


def incidents_rows(store) -> list[Incident]:
    with store.read() as s:
        return list(s.scalars(select(Incident).order_by(Incident.id)))


def checked(page: str, value: str) -> bool:
    return re.search(rf'name="prioridad" value="{value}"\s*checked', page) is not None


@pytest.fixture
def stuck(app, store, browser):
    """A case of «prueba» at «Revisar», whose gateway's condition names a variable no case has; the
    operador's completion failed once. Returns (operador's browser, case id, task id, the 422 page)."""
    deploy(app, one_task(condition=MISSING))
    operador = browser("operador")
    created = operador.post("/casos/nuevo?procedimiento=prueba", {})
    assert created.status_code == 302, html(created)
    case_id = int(created.headers["Location"].rsplit("/", 1)[1])
    with store.read() as s:
        task_id = s.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id))
    failed = operador.post(f"/tareas/{task_id}", {"prioridad": "alta"})
    return operador, case_id, task_id, failed


def test_a_failing_completion_shows_the_incident_over_the_form_kept(store, stuck):
    operador, _case_id, task_id, failed = stuck

    assert failed.status_code == 422
    page = html(failed)
    [incident] = incidents_rows(store)
    assert (
        f'El paso "gw" del procedimiento no pudo completarse: la condición «{MISSING}» usa la variable '
        f'"urgencia", que el caso no tiene. Se registró la incidencia {incident.id}.'
    ) in page.replace("&#34;", '"').replace("&#39;", "'")
    assert checked(page, "alta")  # what the person chose is still there
    with store.read() as s:
        assert s.get(HumanTask, task_id) is not None  # nothing was completed

    again = operador.post(f"/tareas/{task_id}", {"prioridad": "normal"})

    assert again.status_code == 422 and checked(html(again), "normal")
    assert [(i.id, i.attempts) for i in incidents_rows(store)] == [(incident.id, 2)]


def test_a_failing_start_keeps_the_new_case_form_and_creates_no_case(app, store, browser):
    deploy(app, one_task(script="total = 1 / 0").replace('<bpmn:startEvent id="start">', START_FORM))
    cases_before = len(_all(store, Case))

    response = browser("operador").post("/casos/nuevo?procedimiento=prueba", {"prioridad": "alta"})

    assert response.status_code == 422
    page = html(response)
    assert 'El paso "Marcar" del procedimiento no pudo completarse: el script divide entre cero (línea 1).' in (
        page.replace("&#34;", '"')
    )
    assert checked(page, "alta")
    assert len(_all(store, Case)) == cases_before
    [incident] = incidents_rows(store)
    assert (incident.kind, incident.case_id) == ("inicio", None)


def test_incidencias_lists_open_incidents_by_procedure_and_element_for_whom_may_read_them(store, browser, stuck):
    _operador, case_id, _task_id, _failed = stuck
    [incident] = incidents_rows(store)

    page = html(browser("coordinador").get("/incidencias/"))
    assert "Prueba · gw" in page and f'id="incidencia-{incident.id}"' in page
    assert f'href="/casos/{case_id}"' in page  # the coordinator reads cases
    assert "usa la variable" in page and "NameError" in page  # the reason and, beside it, the original
    assert ">Reintentar</button>" in page and ">Marcar resuelta</button>" in page

    analyst = html(browser("analista").get("/incidencias/"))
    assert ">Reintentar</button>" in analyst and f'href="/casos/{case_id}"' not in analyst  # reads no case

    auditor = browser("auditor")
    read_only = html(auditor.get("/incidencias/"))
    assert f'id="incidencia-{incident.id}"' in read_only and "Reintentar" not in read_only
    token = auditor.token("/incidencias/")
    for action in ("reintentar", "resolver"):
        post = auditor.client.post(f"/incidencias/{incident.id}/{action}", data={"csrf_token": token})
        assert post.status_code == 403
    assert incidents_rows(store)[0].attempts == 1

    assert browser("operador").get("/incidencias/").status_code == 403
    assert 'href="/incidencias/"' not in html(browser("operador").get("/"))
    assert 'href="/incidencias/"' in html(browser("auditor").get("/"))


def test_the_case_page_shows_its_open_incident_and_a_retry_after_the_fix_moves_the_case_on(app, store, browser, stuck):
    _operador, case_id, _task_id, _failed = stuck
    [incident] = incidents_rows(store)
    coordinador = browser("coordinador")
    case_page = html(coordinador.get(f"/casos/{case_id}"))
    assert f"Este caso tiene una incidencia abierta (N.º {incident.id})" in case_page
    assert "Incidencia registrada" in case_page  # in the timeline too

    analista = browser("analista")
    failed_again = analista.post(f"/incidencias/{incident.id}/reintentar", {}, page="/incidencias/")
    assert failed_again.status_code == 302
    assert incidents_rows(store)[0].attempts == 2

    fixed = deploy(app, one_task(condition="prioridad == 'alta'"))
    [outcome] = case_migration.migrate(app.extensions["atiende"], [case_id], fixed, "analista")
    assert outcome.migrated
    retried = analista.post(f"/incidencias/{incident.id}/reintentar", {}, page="/incidencias/")

    assert retried.status_code == 302
    listing = html(analista.get("/incidencias/"))
    assert f"Incidencia {incident.id}: el paso se completó y la incidencia quedó resuelta." in listing
    assert "No hay incidencias abiertas." in listing
    with store.read() as s:
        assert s.scalars(select(HumanTask).where(HumanTask.case_id == case_id)).first() is None
    assert "incidencia abierta" not in html(coordinador.get(f"/casos/{case_id}"))


def test_a_retry_that_fails_again_says_why_and_a_start_is_only_marked_resolved(app, store, browser, stuck):
    _operador, _case_id, _task_id, _failed = stuck
    [incident] = incidents_rows(store)
    analista = browser("analista")

    response = analista.post(f"/incidencias/{incident.id}/reintentar", {}, page="/incidencias/")
    listing = html(analista.client.get(response.headers["Location"]))

    assert f"Se registró la incidencia {incident.id}." in listing.replace("&#34;", '"')
    resolved = analista.post(f"/incidencias/{incident.id}/resolver", {}, page="/incidencias/")
    assert resolved.status_code == 302
    assert f"Incidencia {incident.id} marcada como resuelta." in html(analista.get("/incidencias/"))
    again = analista.post(f"/incidencias/{incident.id}/resolver", {}, page="/incidencias/")
    assert "ya está resuelta" in html(analista.client.get(again.headers["Location"]))
    assert analista.post("/incidencias/999999/reintentar", {}, page="/incidencias/").status_code == 404


def _all(store, model) -> list:
    with store.read() as s:
        return list(s.scalars(select(model)))
