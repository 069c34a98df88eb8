"""Carry-over declared in the forms (issue 18): a task form starts from what the case already holds
(``x-desde`` in forms/*.json), a draft wins, a returned hoja comes back with its values, every field
refused when empty is marked, and the coordinator decides with one click."""

from __future__ import annotations

import re
from html import unescape

import pytest

from engine.errors import DiagramError
from tests.fixtures.diagrams import one_task
from tests.web.conftest import CAPTURA, HOJA, PLANTILLA_QUEJA, html, start_case, task_id, to_approval

PLANTILLA = "Llenar plantilla de queja o reclamo"
CONFECCIONAR = "Confeccionar hoja de trámite"
APROBAR = "Aprobar hoja de trámite"
ACUSE = "Confirmar acuse de recibo"
RESPUESTA = "Registrar respuesta final al ciudadano"
TODAY = "02/03/2026"  # tests/conftest.py START, in Panamá


def textarea(page: str, name: str) -> str:
    match = re.search(rf'<textarea id="campo-{name}" name="{name}"[^>]*>([^<]*)</textarea>', page)
    assert match, f"no textarea {name}"
    return unescape(match.group(1))


def text_value(page: str, name: str) -> str:
    match = re.search(rf'<input type="text" id="campo-{name}" name="{name}" value="([^"]*)"', page)
    assert match, f"no input {name}"
    return unescape(match.group(1))


def chosen(page: str, name: str) -> list[str]:
    """The checked radios and selected options of field ``name``."""
    radios = re.findall(rf'name="{name}" value="([^"]*)"\s*checked', page)
    select = re.search(rf'<select id="campo-{name}" name="{name}".*?</select>', page, re.S)
    options = re.findall(r'<option value="([^"]*)" selected>', select.group(0)) if select else []
    return radios + options


def test_the_plantilla_starts_from_the_citizens_description(store, browser):
    operador = browser("operador")
    case_id = start_case(operador)
    page = html(operador.get(f"/tareas/{task_id(store, case_id, PLANTILLA)}"))
    assert textarea(page, "hechos") == CAPTURA["descripcion"]
    assert textarea(page, "pretension") == ""  # nothing declares where it comes from


def test_the_hoja_is_prefilled_from_the_plantilla_and_the_capture(store, browser):
    operador = browser("operador")
    case_id = start_case(operador)
    plantilla = task_id(store, case_id, PLANTILLA)
    assert operador.post(f"/tareas/{plantilla}", {**PLANTILLA_QUEJA, "fecha_hechos": "15/02/2026"}).status_code == 302
    page = html(operador.get(f"/tareas/{task_id(store, case_id, CONFECCIONAR)}"))
    resumen = textarea(page, "resumen")
    assert f"Asunto: {CAPTURA['asunto']}" in resumen
    assert f"Hechos: {PLANTILLA_QUEJA['hechos']}" in resumen and "Fecha de los hechos: 15/02/2026" in resumen
    assert f"Lo que solicita el ciudadano: {PLANTILLA_QUEJA['pretension']}" in resumen
    datos = textarea(page, "informacion_ciudadano_relevante")
    assert "Rosa Batista" in datos and "8-765-4321" in datos and "rosa.batista@example.com" in datos
    assert "Corregimiento: Bella Vista" in datos  # the catalogue's label, not the code
    assert chosen(page, "prioridad") == ["normal"] and chosen(page, "direccion") == []  # no dirección known yet


def test_a_draft_wins_over_the_declared_defaults(store, browser):
    operador = browser("operador")
    case_id = start_case(operador)
    plantilla = task_id(store, case_id, PLANTILLA)
    saved = operador.post(f"/tareas/{plantilla}", {"hechos": "Lo que escribí yo", "accion": "borrador"})
    assert saved.status_code == 302
    page = html(operador.get(f"/tareas/{plantilla}"))
    assert textarea(page, "hechos") == "Lo que escribí yo"
    assert CAPTURA["descripcion"] not in textarea(page, "hechos")


def test_a_returned_hoja_comes_back_with_every_value_of_the_previous_one(store, browser):
    operador, coordinador = browser("operador"), browser("coordinador")
    case_id = start_case(operador)
    to_approval(store, operador, case_id)  # the hoja of tests/web/conftest.py: then made «alta» below
    aprobar = task_id(store, case_id, APROBAR)
    returned = coordinador.post(
        f"/tareas/{aprobar}", {"decision_hoja": "devolver", "comentarios_aprobacion": "Falta la referencia."}
    )
    assert returned.status_code == 302
    again = task_id(store, case_id, CONFECCIONAR)
    assert operador.post(f"/tareas/{again}", {**HOJA, "prioridad": "alta"}).status_code == 302
    returned = coordinador.post(
        f"/tareas/{task_id(store, case_id, APROBAR)}",
        {"decision_hoja": "devolver", "comentarios_aprobacion": "Otra vez."},
    )
    assert returned.status_code == 302
    page = html(operador.get(f"/tareas/{task_id(store, case_id, CONFECCIONAR)}"))
    assert textarea(page, "resumen") == HOJA["resumen"]
    assert textarea(page, "informacion_ciudadano_relevante") == HOJA["informacion_ciudadano_relevante"]
    assert chosen(page, "direccion") == [HOJA["direccion"]] and chosen(page, "prioridad") == ["alta"]


def test_the_back_office_sees_what_the_front_captured_and_the_required_corregimiento_is_marked(store, browser):
    from tests.web.test_captura import CALL, case_of, last_ticket

    operador = browser("operador")
    assert operador.post("/captura/llamada", CALL).status_code == 302
    case, _process = case_of(operador.client.application, last_ticket(html(operador.get("/captura/llamada"))))
    page = html(operador.get(f"/tareas/{task_id(store, case.id, 'Revisar ticket creado por el front')}"))
    assert chosen(page, "tipo_caso") == ["reporte"] and chosen(page, "corregimiento") == ["pueblo_nuevo"]
    # A reporte is refused without a corregimiento (the form's if/then): the field says so.
    assert re.search(r'<label for="campo-corregimiento">Corregimiento <span class="obligatorio"', page)
    assert re.search(r'<select id="campo-corregimiento" name="corregimiento" required', page)
    refused = operador.post(
        f"/tareas/{task_id(store, case.id, 'Revisar ticket creado por el front')}",
        {"tipo_caso": "reporte", "corregimiento": ""},
    )
    assert refused.status_code == 422
    assert re.search(r'<label for="campo-corregimiento">Corregimiento <span class="obligatorio"', html(refused))


def test_the_coordinator_decides_with_one_button_per_option(store, browser):
    operador, coordinador = browser("operador"), browser("coordinador")
    case_id = start_case(operador)
    to_approval(store, operador, case_id)
    aprobar = task_id(store, case_id, APROBAR)
    page = html(coordinador.get(f"/tareas/{aprobar}"))
    buttons = re.findall(r'<button type="submit" name="decision_hoja" value="([^"]+)"[^>]*>([^<]+)</button>', page)
    assert buttons == [("aprobar", "Aprobar y remitir a la dirección"), ("devolver", "Devolver para corrección")]
    assert page.index('id="campo-comentarios_aprobacion"') < page.index('name="decision_hoja"')  # comment above
    assert 'type="radio"' not in page  # the decision is the click, not a radio and a second button
    assert re.search(r'<fieldset class="decision" id="campo-decision_hoja"[^>]*>\s*<legend>Decisión', page)

    # «Devolver» still needs the comment: the server says so beside it, nothing done.
    refused = coordinador.post(f"/tareas/{aprobar}", {"decision_hoja": "devolver"})
    assert refused.status_code == 422
    assert re.search(
        r'id="campo-comentarios_aprobacion-error"><span class="sr">Error:</span> Este campo es', html(refused)
    )
    # Enter in a field presses the hidden default button: no decision, so the server asks for one.
    assert coordinador.post(f"/tareas/{aprobar}", {"accion": "completar"}).status_code == 422

    approved = coordinador.post(f"/tareas/{aprobar}", {"decision_hoja": "aprobar"})  # one POST
    assert approved.status_code == 302
    assert task_id(store, case_id, ACUSE)


def test_the_acuse_starts_with_today_and_the_enlaces_name_and_the_answer_with_channel_and_today(store, browser):
    operador, coordinador, enlace = browser("operador"), browser("coordinador"), browser("enlace")
    case_id = start_case(operador)
    to_approval(store, operador, case_id)
    assert (
        coordinador.post(f"/tareas/{task_id(store, case_id, APROBAR)}", {"decision_hoja": "aprobar"}).status_code == 302
    )
    acuse = task_id(store, case_id, ACUSE)
    page = html(enlace.get(f"/tareas/{acuse}"))
    assert text_value(page, "recibido_por") == "Elena Enlace (Planificación Urbana)"
    assert text_value(page, "fecha_recibo") == TODAY
    assert enlace.post(f"/tareas/{acuse}", {"recibido_por": "Elena Enlace", "fecha_recibo": TODAY}).status_code == 302
    page = html(operador.get(f"/tareas/{task_id(store, case_id, RESPUESTA)}"))
    assert chosen(page, "medio_respuesta") == ["correo_electronico"]  # the case came by e-mail
    assert text_value(page, "fecha_respuesta") == TODAY


@pytest.mark.parametrize(
    ("declared", "said"),
    [
        ("no_existe", "«no_existe» no es un dato que escriba ningún formulario"),
        ({"plantilla": "{{ nota.__class__ }}"}, "acceso a atributos"),
    ],
)
def test_a_bad_x_desde_is_refused_at_deploy_in_spanish(app, declared, said):
    nota = {"type": "object", "properties": {"nota": {"type": "string", "x-desde": declared}}}
    with pytest.raises(DiagramError) as refused:
        app.extensions["atiende"].deploy({"prueba.bpmn": one_task(form="nota")}, {"nota": nota}, "analista")
    assert any(said in p.message and "campo «nota»" in p.message for p in refused.value.problems)
