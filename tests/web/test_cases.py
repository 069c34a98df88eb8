"""Registering a case and reading it: labels from the forms, dates day-first, history in Spanish."""

from sqlalchemy import func, select

from engine.db.models import Case
from engine.forms import cedula
from tests.web.conftest import CAPTURA, html, start_case, task_id, to_approval


def test_only_who_starts_a_procedure_may_register_a_case(browser):
    for username in ("coordinador", "enlace", "auditor"):
        b = browser(username)
        assert b.get("/casos/nuevo").status_code == 403
        response = b.post("/casos/nuevo", CAPTURA, page="/")
        assert response.status_code == 403
        assert "Su rol no inicia ningún procedimiento a mano." in html(response)
    assert "Nuevo caso" not in html(browser("coordinador").get("/"))


def test_an_invalid_new_case_shows_spanish_errors_and_registers_nothing(store, browser):
    operador = browser("operador")
    with store.read() as s:
        before = s.scalar(select(func.count(Case.id)))
    response = operador.post("/casos/nuevo", {**CAPTURA, "ciudadano_email": "", "ciudadano_cedula": "12345"})
    assert response.status_code == 422
    page = html(response)
    assert "Revise el formulario" in page
    assert 'id="campo-ciudadano_email-error"><span class="sr">Error:</span> Este campo es obligatorio.' in page
    assert f'id="campo-ciudadano_cedula-error"><span class="sr">Error:</span> {cedula.ERROR}' in page
    assert 'value="Rosa Batista"' in page and 'value="correo_electronico" checked' in page
    assert 'name="respuesta_inmediata_enviada" value="on" checked' in page
    with store.read() as s:
        assert s.scalar(select(func.count(Case.id))) == before


def test_the_case_page_shows_the_record_with_form_titles_dates_and_history(store, browser):
    operador = browser("operador")
    case_id = start_case(operador)
    to_approval(store, operador, case_id)
    page = html(operador.get(f"/casos/{case_id}"))
    assert "<h1>Caso AC-2026-000004</h1>" in page
    # summary: status, labels of catalogue codes, dates dd/mm/aaaa in Panamá time
    for text in (
        "Abierto",
        "Queja o reclamo",
        "Dirección de Planificación Urbana",
        "Bella Vista",
        "02/03/2026 09:00",
        "01/04/2026",
    ):
        assert text in page, text
    # record: titles from the schemas, choice titles instead of codes, booleans in words
    for title, value in (
        ("Nombre completo del ciudadano", "Rosa Batista"),
        ("Canal de recepción", "Correo electrónico"),
        ("Se respondió de inmediato por el mismo medio", "Sí"),
        ("Prioridad", "Normal"),
        ("Dirección destinataria", "Dirección de Planificación Urbana"),
    ):
        assert f"<dt>{title}</dt>" in page and f">{value}</dd>" in page, title
    # open tasks: the coordinator's, not a link for the operator
    assert "Aprobar hoja de trámite" in page and "Coordinador" in page
    assert f"/tareas/{task_id(store, case_id, 'Aprobar hoja de trámite')}" not in page
    # history: who, when, what, in Spanish words
    for text in (
        "Caso creado",
        "Plazo fijado",
        "Tarea completada",
        "Ana Operadora (operador)",
        "Sistema",
        "Ticket AC-2026-000004",
        "Fecha límite: 01/04/2026",
        "Confeccionar hoja de trámite",
    ):
        assert text in page, text


def test_an_enlace_sees_only_cases_of_their_own_direccion(store, browser):
    operador = browser("operador")
    case_id = start_case(operador)
    assert browser("enlace").get(f"/casos/{case_id}").status_code == 403  # no dirección assigned yet
    to_approval(store, operador, case_id)  # the hoja sends it to Planificación Urbana
    refused = browser("enlace_ambiental").get(f"/casos/{case_id}")
    assert refused.status_code == 403 and "El caso no pertenece a su dirección." in html(refused)
    assert browser("enlace").get(f"/casos/{case_id}").status_code == 200
    assert browser("coordinador").get(f"/casos/{case_id}").status_code == 200


def test_an_unknown_case_is_a_spanish_404(browser):
    response = browser("operador").get("/casos/999")
    assert response.status_code == 404 and "El caso no existe." in html(response)
