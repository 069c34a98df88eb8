"""Capture by hand: the phone's quick capture, the counter (atención directa) and Defensa del Usuario."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.cases import queries
from engine.db.models import Case
from tests.web.conftest import html

CALL = {
    "tipo_caso": "reporte",
    "ciudadano_nombre": "Pedro Castillo",
    "ciudadano_telefono": "6123-4567",
    "lugar_notificaciones": "Llamar al 6123-4567",
    "corregimiento": "pueblo_nuevo",
    "asunto": "Fuga de agua",
    "descripcion": "Fuga de agua en la vía principal de Pueblo Nuevo.",
}
COUNTER = {
    **CALL,
    "tipo_caso": "queja_reclamo",
    "asunto": "Mala atención en ventanilla",
    "descripcion": "No lo atendieron en la ventanilla de permisos.",
}
DEFENSA = {
    **CALL,
    "canal": "plataforma_311",
    "tipo_caso": "denuncia",
    "asunto": "Construcción sin permiso",
    "descripcion": "Construyen de noche sin permiso en la calle 7.",
}


def case_of(app, ticket) -> tuple[Case, str]:
    """The case with this ticket and the procedure it runs."""
    with app.extensions["atiende"].store.read() as s:
        case = s.scalar(select(Case).where(Case.ticket == ticket))
        return case, case.version.process_id


def last_ticket(page: str) -> str:
    return re.search(r'class="ticket">([A-Z]{2}-\d{4}-\d{6})<', page).group(1)


def test_the_phone_capture_shows_only_what_the_form_requires_on_single_lines(browser):
    page = html(browser("operador").get("/captura/llamada"))
    for required in (
        "tipo_caso",
        "ciudadano_nombre",
        "ciudadano_telefono",
        "lugar_notificaciones",
        "asunto",
        "descripcion",
        "corregimiento",
    ):
        assert f'name="{required}"' in page
    assert 'name="ciudadano_cedula"' not in page and 'name="domicilio"' not in page  # the back office completes
    assert '<input type="text" id="campo-lugar_notificaciones"' in page  # Enter registers from it
    assert '<textarea id="campo-descripcion"' in page
    assert "captura.js" in page and "data-primer-campo" in page


def test_a_call_becomes_a_ticket_for_the_back_office_and_the_form_is_empty_again(app, browser):
    operador = browser("operador")
    response = operador.post("/captura/llamada", CALL)
    assert response.status_code == 302 and response.headers["Location"].endswith("/captura/llamada")
    page = html(operador.get("/captura/llamada"))
    ticket = last_ticket(page)
    assert "Pedro Castillo" not in page  # an empty form for the next call
    case, process_id = case_of(app, ticket)
    assert process_id == "atencion_llamadas" and case.created_by == "operador"
    with app.extensions["atiende"].store.read() as s:
        assert [t.lane for t in queries.open_tasks(s, case.id)] == ["operador_back_office"]
    assert 'class="ticket"' not in html(operador.get("/captura/llamada"))  # shown once


def test_a_missing_phone_is_refused_beside_the_field(app, browser):
    response = browser("operador").post("/captura/llamada", {**CALL, "ciudadano_telefono": ""})
    assert response.status_code == 422
    assert 'id="campo-ciudadano_telefono-error"' in html(response)
    assert "Pedro Castillo" in html(response)


def test_the_counter_capture_registers_a_case_of_atencion_directa(app, browser):
    operador = browser("operador")
    assert 'name="ciudadano_cedula"' in html(operador.get("/captura/presencial"))  # the whole start form
    response = operador.post("/captura/presencial", COUNTER)
    assert response.status_code == 302, html(response)
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.extensions["atiende"].store.read() as s:
        case = s.get(Case, case_id)
        assert case.version.process_id == "atencion_directa"
        assert case.case_type == "queja_reclamo"


def test_defensa_del_usuario_registers_a_311_case_with_its_own_ticket_prefix(app, browser):
    defensa = browser("defensa")
    response = defensa.post("/captura/311", DEFENSA)
    assert response.status_code == 302, html(response)
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.extensions["atiende"].store.read() as s:
        case = s.get(Case, case_id)
        assert case.version.process_id == "defensa_usuario_311" and case.ticket.startswith("DU-")
    assert case.channel == "plataforma_311"


@pytest.mark.parametrize(
    "who, slug",
    [
        ("coordinador", "llamada"),
        ("enlace", "presencial"),
        ("auditor", "311"),
        ("defensa", "llamada"),
        ("operador", "311"),
    ],
)
def test_each_capture_is_for_its_roles_only(app, browser, who, slug):
    person = browser(who)
    assert person.get(f"/captura/{slug}").status_code == 403
    data = {"llamada": CALL, "presencial": COUNTER, "311": DEFENSA}[slug]
    assert person.post(f"/captura/{slug}", data, page="/").status_code == 403


def test_the_capture_list_shows_what_the_role_may_use(browser):
    assert "Defensa del Usuario – 311" in html(browser("defensa").get("/captura/"))
    assert "Llamada telefónica" not in html(browser("defensa").get("/captura/"))
    assert "Llamada telefónica" in html(browser("operador").get("/captura/"))
    assert browser("coordinador").get("/captura/").status_code == 403
    assert browser("operador").get("/captura/no-existe").status_code == 404


def test_a_capture_whose_first_step_fails_stays_filled_in_and_names_the_incident(app, browser, monkeypatch):
    def failing_step(*args, **kwargs):
        raise ValueError("falla de prueba")

    store = app.extensions["atiende"].store
    with store.read() as s:
        before = len(s.scalars(select(Case)).all())
    monkeypatch.setattr("engine.cases.runs.open_case", failing_step)
    response = browser("operador").post("/captura/llamada", CALL)
    page = html(response)
    assert response.status_code == 422
    assert "no pudo completarse" in page and "Se registró la incidencia 1" in page
    assert CALL["descripcion"] in page
    with store.read() as s:
        assert len(s.scalars(select(Case)).all()) == before
