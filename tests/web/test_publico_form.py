"""The public form and the capture screens validate on the server, in Spanish, beside each field;
the browser's own bubbles (in the browser's language, one at a time) never come first (issue 18)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.db.models import Case
from engine.forms import cedula
from tests.web.conftest import html
from tests.web.test_captura import CALL, COUNTER
from tests.web.test_publico import REPORTE, submit


def forms_of(page: str) -> list[str]:
    return re.findall(r"<form\b[^>]*>", page)


def beside(page: str, field: str, message: str) -> bool:
    """The message is the field's own error, and the field points to it (what a screen reader reads)."""
    error = f'id="campo-{field}-error"><span class="sr">Error:</span> {message}'
    described = re.search(rf'id="campo-{field}(?:-1)?"[^>]*aria-describedby="[^"]*campo-{field}-error"', page)
    fieldset = re.search(rf'<fieldset aria-describedby="[^"]*campo-{field}-error"', page)
    return error in page and bool(described or fieldset)


def last_case(app) -> Case:
    with app.extensions["atiende"].store.read() as s:
        return s.scalars(select(Case).order_by(Case.id.desc()).limit(1)).one()


@pytest.mark.parametrize(("who", "url"), [(None, "/reporte"), ("operador", "/captura/llamada")])
def test_the_forms_leave_validation_to_the_server(browser, who, url):
    [form] = [f for f in forms_of(html(browser(who).get(url))) if 'method="post"' in f and "salir" not in f]
    assert "novalidate" in form


def test_every_problem_of_a_report_is_said_in_spanish_beside_its_field(browser):
    citizen = browser(None)
    wrong = {**REPORTE, "tipo_caso": "", "ciudadano_email": "no es un correo", "ciudadano_cedula": "ocho"}
    del wrong["consentimiento"]
    response = submit(citizen, wrong)
    assert response.status_code == 422
    page = html(response)
    assert beside(page, "tipo_caso", "Este campo es obligatorio.")
    assert beside(page, "ciudadano_cedula", cedula.ERROR)
    assert re.search(r'id="campo-ciudadano_email-error"><span class="sr">Error:</span> [A-ZÁÉÍÓÚ][^<]+', page)
    assert (
        'id="consentimiento-error"' in page and 'aria-describedby="consentimiento-texto consentimiento-error"' in page
    )
    assert "Please" not in page


@pytest.mark.parametrize("written", ["8 123 4567", "8–123–4567", "8-123-4567", "08.0123.04567"])
def test_a_report_keeps_the_cedula_in_its_canonical_form(app, browser, written):
    response = submit(browser(None), {**REPORTE, "ciudadano_cedula": written})
    assert response.status_code == 302, html(response)
    assert last_case(app).citizen_cedula == "8-123-4567"


def test_the_counter_keeps_a_cedula_written_with_dashes_and_spaces_canonical(app, browser):
    response = browser("operador").post("/captura/presencial", {**COUNTER, "ciudadano_cedula": "pe 12 – 345"})
    assert response.status_code == 302, html(response)
    assert last_case(app).citizen_cedula == "PE-12-345"


def test_a_quick_capture_says_its_problems_beside_each_field(browser):
    response = browser("operador").post("/captura/llamada", {**CALL, "tipo_caso": "", "asunto": ""})
    assert response.status_code == 422
    page = html(response)
    assert beside(page, "tipo_caso", "Este campo es obligatorio.")
    assert beside(page, "asunto", "Este campo es obligatorio.")
