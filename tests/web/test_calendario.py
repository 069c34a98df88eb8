"""/admin/calendario: the administrator lists a year's days off, declares one by decree and takes one out;
bad input gets a Spanish message beside its field and writes nothing; nobody else gets in."""

from __future__ import annotations

from datetime import date

import pytest

from engine import calendar
from tests.web.conftest import html

PAGE = "/admin/calendario"
GOOD = {"fecha": "11/03/2026", "nombre": "Duelo nacional", "decreto": "Decreto Ejecutivo N.º 12 de 2026"}


def days_off(app, year: int = 2026) -> set[date]:
    with app.extensions["atiende"].store.read() as s:
        return {d.day for d in calendar.days_of(s, year)[0]}


def test_the_administrator_adds_a_decreed_day_and_takes_it_out(app, browser):
    admin = browser("admin")
    page = html(admin.get(f"{PAGE}?anio=2026"))
    assert "Días libres de 2026" in page and "01/01/2026" in page and "15/08/2026" in page
    response = admin.post(PAGE, GOOD)
    assert response.status_code == 302 and "anio=2026" in response.headers["Location"]
    page = html(admin.get(f"{PAGE}?anio=2026"))
    assert "11/03/2026" in page and "Decreto Ejecutivo N.º 12 de 2026" in page and "Duelo nacional" in page
    assert date(2026, 3, 11) in days_off(app)

    response = admin.post(f"{PAGE}/quitar", {"fecha": "11/03/2026"}, page=PAGE)
    assert response.status_code == 302
    assert date(2026, 3, 11) not in days_off(app)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"fecha": "31/02/2026"}, "fecha", "Escriba la fecha como dd/mm/aaaa."),
        ({"fecha": "mañana"}, "fecha", "Escriba la fecha como dd/mm/aaaa."),
        ({"fecha": "14/03/2026"}, "fecha", "sábado o domingo"),
        ({"fecha": "01/01/2026"}, "fecha", "Ese día ya es un día libre del calendario."),
        ({"nombre": ""}, "nombre", "Escriba el motivo del día libre"),
        ({"decreto": "   "}, "decreto", "Indique el decreto que lo declara"),
        ({"decreto": "D" * 300}, "decreto", "A lo sumo 200 caracteres."),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_written(app, browser, changes, field, words):
    admin = browser("admin")
    before = days_off(app)
    response = admin.post(PAGE, {**GOOD, **changes})
    assert response.status_code == 422
    page = html(response)
    assert f'id="{field}-error"' in page and words in page
    assert f'aria-describedby="{field}-ayuda {field}-error"' in page
    assert days_off(app) == before


def test_a_year_or_a_day_that_cannot_be_read_is_said_not_a_500(browser):
    admin = browser("admin")
    for year in ("abc", "99999", "0001", "2026-1"):
        response = admin.get(f"{PAGE}?anio={year}")
        assert response.status_code == 400 and "El año debe ser un número" in html(response)
    response = admin.post(f"{PAGE}/quitar", {"fecha": "32/13/2026"}, page=PAGE)
    assert response.status_code == 422 and "No se reconoció la fecha" in html(response)
    response = admin.post(f"{PAGE}/quitar", {"fecha": "11/03/2026"}, page=PAGE)
    assert response.status_code == 422 and "no es un día libre" in html(response)


def test_a_post_without_the_csrf_token_is_refused(app, browser):
    admin = browser("admin")
    response = admin.client.post(PAGE, data=GOOD)
    assert response.status_code == 400
    assert date(2026, 3, 11) not in days_off(app)


@pytest.mark.parametrize("username", ["operador", "coordinador", "enlace", "auditor", "analista"])
def test_nobody_but_the_administrator_gets_in(app, browser, username):
    person = browser(username)
    assert person.get(PAGE).status_code == 403
    # Posted with this person's own valid CSRF token (from a page they may see): refused by role, not by CSRF.
    assert person.post(PAGE, GOOD, page="/").status_code == 403
    assert person.post(f"{PAGE}/quitar", {"fecha": "01/01/2026"}, page="/").status_code == 403
    assert date(2026, 3, 11) not in days_off(app) and date(2026, 1, 1) in days_off(app)


def test_signed_out_the_page_asks_to_sign_in(browser):
    response = browser(None).get(PAGE)
    assert response.status_code == 302 and "/ingresar" in response.headers["Location"]
