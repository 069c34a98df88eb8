"""Working a task: the form, Spanish errors beside fields, the next task, who may open what."""

import re

from sqlalchemy import select

from engine.access.accounts import create_user
from engine.clock import DATE_ERROR
from engine.db.models import AuditEvent, Case, HumanTask
from tests.web.conftest import CAPTURA, PLANTILLA_QUEJA, html, start_case, task_id, to_approval
from tests.web.conftest import HOJA as HOJA_DATA

PLANTILLA = "Llenar plantilla de queja o reclamo"
HOJA = "Confeccionar hoja de trámite"
APROBAR = "Aprobar hoja de trámite"


def error_beside(page: str, field: str) -> str:
    """The error message rendered next to a field, which the input also points at."""
    match = re.search(rf'<p class="error" id="campo-{field}-error"><span class="sr">Error:</span> ([^<]+)</p>', page)
    assert match, f"no error beside {field}"
    assert re.search(rf'id="campo-{field}"[^>]*aria-describedby="[^"]*campo-{field}-error', page)
    return match.group(1)


def test_the_operator_creates_a_case_then_works_its_template_and_gets_the_hoja(store, browser):
    operador = browser("operador")
    response = operador.post("/casos/nuevo", CAPTURA)
    assert response.status_code == 302
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    case_page = html(operador.get(response.headers["Location"]))
    assert "Caso registrado con el ticket AC-2026-000004." in case_page

    bandeja = html(operador.get("/"))
    assert "AC-2026-000004" in bandeja and PLANTILLA in bandeja
    tid = task_id(store, case_id, PLANTILLA)
    assert f"/tareas/{tid}" in bandeja

    page = html(operador.get(f"/tareas/{tid}"))
    assert "Con el contenido del ticket, llene la plantilla aprobada de queja o reclamo" in page  # instructions
    assert "Rosa Batista" in page and "Acera rota" in page  # case summary
    assert (
        'type="text" id="campo-fecha_hechos" name="fecha_hechos" value="" inputmode="numeric" placeholder="dd/mm/aaaa"'
        in page
    )
    assert "Fecha de los hechos (dd/mm/aaaa)" in page

    invalid = operador.post(
        f"/tareas/{tid}",
        {"hechos": "  ", "fecha_hechos": "31/02/2026", "dependencia_o_funcionario": "Dirección de Obras"},
    )
    assert invalid.status_code == 422
    page = html(invalid)
    assert error_beside(page, "hechos") == "Este campo es obligatorio."
    assert error_beside(page, "pretension") == "Este campo es obligatorio."
    assert error_beside(page, "fecha_hechos") == DATE_ERROR
    assert 'value="Dirección de Obras"' in page and 'value="31/02/2026"' in page  # what was typed is kept
    with store.read() as s:
        assert s.get(HumanTask, tid) is not None
        assert "dependencia_o_funcionario" not in s.get(Case, case_id).data
        assert s.scalar(select(AuditEvent).where(AuditEvent.task_id == tid)) is None

    valid = operador.post(f"/tareas/{tid}", {**PLANTILLA_QUEJA, "fecha_hechos": "15/02/2026"})
    assert valid.status_code == 302
    hoja_id = task_id(store, case_id, HOJA)
    assert valid.headers["Location"] == f"/tareas/{hoja_id}"
    page = html(operador.get(valid.headers["Location"]))
    assert "Tarea completada (caso AC-2026-000004)." in page and f"<h1>{HOJA}</h1>" in page
    with store.read() as s:
        assert s.get(HumanTask, tid) is None
        assert s.get(Case, case_id).data["fecha_hechos"] == "2026-02-15"


def test_with_no_next_task_of_mine_completion_returns_to_the_bandeja(store, browser):
    operador = browser("operador")
    case_id = start_case(operador)
    assert operador.post(f"/tareas/{task_id(store, case_id, PLANTILLA)}", PLANTILLA_QUEJA).status_code == 302
    response = operador.post(f"/tareas/{task_id(store, case_id, HOJA)}", HOJA_DATA)  # next: the coordinator's
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Tarea completada (caso AC-2026-000004)." in html(operador.get("/"))


def test_the_coordinator_cannot_work_the_operators_task_nor_the_operator_open_the_coordinators(store, browser):
    operador, coordinador = browser("operador"), browser("coordinador")
    case_id = start_case(operador)
    plantilla = task_id(store, case_id, PLANTILLA)
    response = coordinador.get(f"/tareas/{plantilla}")  # read only, to hand it over: no form, no «Tomar»
    assert response.status_code == 200 and "Completar tarea" not in html(response)
    assert "Tomar tarea" not in html(response)
    refused = coordinador.post(f"/tareas/{plantilla}", PLANTILLA_QUEJA, page="/")
    assert refused.status_code == 403
    with store.read() as s:
        assert s.get(HumanTask, plantilla) is not None

    to_approval(store, operador, case_id)
    aprobar = task_id(store, case_id, APROBAR)
    assert operador.get(f"/tareas/{aprobar}").status_code == 403
    assert coordinador.get(f"/tareas/{aprobar}").status_code == 200


def test_an_enlace_works_only_the_tasks_of_their_own_direccion(store, browser):
    operador, coordinador = browser("operador"), browser("coordinador")
    case_id = start_case(operador)
    to_approval(store, operador, case_id)
    aprobar = task_id(store, case_id, APROBAR)
    assert coordinador.post(f"/tareas/{aprobar}", {"decision_hoja": "aprobar"}).status_code == 302
    acuse = task_id(store, case_id, "Confirmar acuse de recibo")
    assert browser("enlace_ambiental").get(f"/tareas/{acuse}").status_code == 403
    assert browser("enlace").get(f"/tareas/{acuse}").status_code == 200


def test_completing_a_task_someone_else_completed_says_who_and_when(store, browser, app):
    with store.unit_of_work() as s:
        create_user(s, "operador2", "Olga Operadora", "otra-clave-2026", ["operador"])
    operador = browser("operador")
    case_id = start_case(operador)
    tid = task_id(store, case_id, PLANTILLA)
    form_token = operador.token(f"/tareas/{tid}")  # the operator opened the task ...

    olga = browser()
    olga.login("operador2", "otra-clave-2026")
    assert olga.post(f"/tareas/{tid}", PLANTILLA_QUEJA).status_code == 302  # ... and Olga finished it first

    late = operador.client.post(f"/tareas/{tid}", data={**PLANTILLA_QUEJA, "csrf_token": form_token})
    assert late.status_code == 409
    assert "La tarea ya fue completada por operador2 el 02/03/2026 09:00." in html(late)
    assert "ya fue completada por operador2" in html(operador.get(f"/tareas/{tid}"))


def test_the_bandeja_shows_due_dates_day_first_and_marks_overdue_tasks(store, browser, frozen_clock):
    operador = browser("operador")
    page = html(operador.get("/"))
    assert "03/03/2026" in page  # created 02/03/2026 09:00 with a one-day plazo
    assert 'class="etiqueta-vencida">Vencida</span>' not in page
    frozen_clock.advance(days=2)
    page = html(operador.get("/"))
    assert page.count('class="etiqueta-vencida">Vencida</span>') == 3  # the three demo cases' templates


def test_an_unknown_task_is_a_spanish_404(browser):
    response = browser("operador").get("/tareas/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert "La tarea no existe o ya no está pendiente." in html(response)


def test_a_post_to_a_task_without_csrf_token_changes_nothing(store, browser):
    operador = browser("operador")
    case_id = start_case(operador)
    tid = task_id(store, case_id, PLANTILLA)
    assert operador.client.post(f"/tareas/{tid}", data=PLANTILLA_QUEJA).status_code == 400
    with store.read() as s:
        assert s.get(HumanTask, tid) is not None
