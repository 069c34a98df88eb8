"""«Simular con casos reales» on the draft page: the analyst replays real cases on the saved draft."""

import re

import pytest
from sqlalchemy import func, select

from engine.db.models import Base, Case
from engine.procedures import drafts
from tests.web.conftest import html

PROCESS = "atencion_correo_web"
EDITOR = f"/procedimientos/{PROCESS}/editor"
SIMULATE = f"/procedimientos/{PROCESS}/simulacion"
TERM = "sumar_dias(fecha_inicio, 30"


def row_counts(store) -> dict[str, int]:
    with store.read() as s:
        return {table.name: s.scalar(select(func.count()).select_from(table)) for table in Base.metadata.sorted_tables}


def save_term(analista, app, days: int) -> None:
    """Save a draft whose legal term is ``days`` days, as the editor posts it."""
    page = html(analista.get(EDITOR))
    assert 'action="/procedimientos/atencion_correo_web/simulacion"' in page and 'name="casos" value="200"' in page
    with app.extensions["atiende"].store.read() as s:
        [(name, xml)] = [(n, x) for n, x in drafts.current(s, PROCESS).bpmn.items() if TERM in x]
    response = analista.post(
        f"/procedimientos/{PROCESS}/borrador",
        {"accion": "guardar", "archivo": name, "xml": xml.replace(TERM, f"sumar_dias(fecha_inicio, {days}")},
        page=EDITOR,
    )
    assert response.status_code == 302


def test_the_analyst_sees_which_real_cases_a_draft_changes_and_nothing_is_written(browser, app):
    analista = browser("analista")
    save_term(analista, app, 45)
    store = app.extensions["atiende"].store
    before = row_counts(store)
    response = analista.post(SIMULATE, {"casos": "200"}, page=EDITOR)
    assert row_counts(store) == before
    assert response.status_code == 200
    page = html(response)
    with store.read() as s:
        cases = s.scalars(select(Case).where(Case.due_at.is_not(None))).all()
    assert cases
    summary = page[page.index('id="resumen"') :]
    assert re.search(r"Plazo distinto</th><td[^>]*>\d+<", summary)
    for case in cases:
        row = re.search(rf'<tr id="caso-{case.id}">(.*?)</tr>', page, re.S)
        assert row, f"{case.ticket} is missing from the table"
        assert f'href="/casos/{case.id}">{case.ticket}</a>' in row.group(1)
        assert "Plazo distinto" in row.group(1) or "Camino distinto" in row.group(1)


def test_an_unchanged_draft_changes_no_case(browser):
    page = html(browser("analista").post(SIMULATE, {"casos": "5"}, page=EDITOR))
    assert "Ningún caso cambiaría con el borrador." in page
    assert re.search(r"Igual</th><td[^>]*>[1-5]<", page)


@pytest.mark.parametrize("typed", ["", "0", "abc", "1001", "-3"])
def test_a_number_of_cases_out_of_range_is_shown_beside_the_field(browser, typed):
    response = browser("analista").post(SIMULATE, {"casos": typed}, page=EDITOR)
    assert response.status_code == 422
    page = html(response)
    assert 'id="casos-error"' in page and "Indique un número de casos entre 1 y 1000." in page


@pytest.mark.parametrize("username", ["auditor", "operador"])
def test_only_analysts_simulate(browser, username):
    someone = browser(username)
    assert someone.client.post(SIMULATE, data={"casos": "5", "csrf_token": someone.token("/")}).status_code == 403


def test_the_form_needs_its_csrf_token(browser):
    assert browser("analista").client.post(SIMULATE, data={"casos": "5"}).status_code == 400
