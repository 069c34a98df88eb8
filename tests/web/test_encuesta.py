"""The survey's public pages: /consulta offers the link once the case is closed (and not judged yet); the
form is answered once, without signing in, with its CSRF token; a link used twice, expired or unknown gets a
Spanish page saying so, never a 500 and never anything of the case."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.db.models import OutboxMessage
from tests.fixtures.desk import Desk
from tests.web.conftest import CAPTURA, html, start_case

LINK = re.compile(r'href="https?://[^/"]+(/encuesta/[A-Za-z0-9_-]{20,})"')
MAILED = re.compile(r"https?://[^\s/]+(/encuesta/[A-Za-z0-9_-]{20,})")
GOOD = {"satisfaccion": "5", "a_tiempo": "si", "comentario": "Muy amables."}


def lookup(browser, ticket: str) -> str:
    response = browser(None).post("/consulta", {"ticket": ticket, "contacto": CAPTURA["ciudadano_email"]})
    assert response.status_code == 200
    return html(response)


def closed_case(app, browser, frozen_clock) -> tuple[int, str]:
    desk = Desk(app.extensions["atiende"], frozen_clock)
    case_id = start_case(browser("operador"))
    desk.to_follow_up(case_id)
    return case_id, desk.case(case_id).ticket


def answer(desk_case: int, app, frozen_clock) -> None:
    Desk(app.extensions["atiende"], frozen_clock).do(
        desk_case, "Task_respuesta_final", respuesta_final="Se reparó la acera.", fecha_respuesta="2026-03-05"
    )


def mailed_link(app, case_id: int) -> str:
    with app.extensions["atiende"].store.read() as s:
        body = s.scalar(
            select(OutboxMessage.body).where(
                OutboxMessage.case_id == case_id, OutboxMessage.kind == "respuesta_ciudadano"
            )
        )
    found = MAILED.search(body or "")
    assert found, body
    return found.group(1)


def test_consulta_offers_the_survey_once_the_case_is_closed_and_not_after_it_is_answered(app, browser, frozen_clock):
    case_id, ticket = closed_case(app, browser, frozen_clock)
    assert "/encuesta/" not in lookup(browser, ticket)  # open: no survey yet
    answer(case_id, app, frozen_clock)
    page = lookup(browser, ticket)
    found = LINK.search(page)
    assert found and "¿Cómo lo atendimos?" in page
    citizen = browser(None)
    form = citizen.get(found.group(1))
    assert form.status_code == 200 and 'name="csrf_token"' in html(form)
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert ticket not in html(form) and CAPTURA["ciudadano_nombre"] not in html(form)
    assert citizen.post(found.group(1), GOOD).status_code == 200
    assert "/encuesta/" not in lookup(browser, ticket)


def test_the_mailed_link_answers_once_then_says_it_was_answered(app, browser, frozen_clock):
    case_id, _ticket = closed_case(app, browser, frozen_clock)
    answer(case_id, app, frozen_clock)
    link = mailed_link(app, case_id)
    citizen = browser(None)
    form = {**GOOD, "csrf_token": citizen.token(link)}
    thanks = citizen.client.post(link, data=form)
    assert thanks.status_code == 200 and "Gracias por responder" in html(thanks)
    again = citizen.client.post(link, data=form)  # the same form, sent again
    assert again.status_code == 409 and "Esta encuesta ya fue respondida" in html(again)
    opened = citizen.get(link)
    assert opened.status_code == 409 and "ya fue respondida" in html(opened)


def test_an_expired_link_says_so(app, browser, frozen_clock):
    case_id, _ticket = closed_case(app, browser, frozen_clock)
    answer(case_id, app, frozen_clock)
    link = mailed_link(app, case_id)
    frozen_clock.advance(days=61)
    citizen = browser(None)
    page = citizen.get(link)
    assert page.status_code == 410 and "El enlace de la encuesta venció" in html(page)


@pytest.mark.parametrize("token", ["x", "A" * 43, "A" * 3000, "%C3%B1and%20more"])
def test_an_unknown_link_is_a_spanish_404(browser, token):
    page = browser(None).get(f"/encuesta/{token}")
    assert page.status_code == 404 and "Enlace no válido" in html(page)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"satisfaccion": ""}, "Elija su satisfacción"),
        ({"satisfaccion": "9"}, "Elija su satisfacción"),
        ({"a_tiempo": ""}, "Responda sí o no."),
        ({"comentario": "x" * 1001}, "El comentario admite hasta 1000 caracteres"),
    ],
)
def test_bad_answers_are_said_beside_their_field_and_the_link_stays_usable(app, browser, frozen_clock, changes, words):
    case_id, _ticket = closed_case(app, browser, frozen_clock)
    answer(case_id, app, frozen_clock)
    link = mailed_link(app, case_id)
    citizen = browser(None)
    refused = citizen.post(link, {**GOOD, **changes})
    assert refused.status_code == 422 and words in html(refused) and 'aria-invalid="true"' in html(refused)
    assert citizen.post(link, GOOD).status_code == 200


def test_the_form_needs_its_csrf_token(app, browser, frozen_clock):
    case_id, _ticket = closed_case(app, browser, frozen_clock)
    answer(case_id, app, frozen_clock)
    link = mailed_link(app, case_id)
    citizen = browser(None)
    assert citizen.client.post(link, data=GOOD).status_code == 400
    assert citizen.get(link).status_code == 200  # still open


def test_coordinators_read_the_comments_without_the_case_and_nobody_else_does(app, browser, frozen_clock):
    case_id, ticket = closed_case(app, browser, frozen_clock)
    answer(case_id, app, frozen_clock)
    assert browser(None).post(mailed_link(app, case_id), GOOD).status_code == 200
    page = html(browser("coordinador").get("/encuestas/comentarios?desde=01/03/2026&hasta=31/03/2026"))
    assert GOOD["comentario"] in page and "03/2026" in page and "5: Muy satisfecho" in page
    assert ticket not in page and CAPTURA["ciudadano_nombre"] not in page and "/casos/" not in page
    earlier = browser("coordinador").get("/encuestas/comentarios?desde=01/01/2026&hasta=28/02/2026")
    assert earlier.status_code == 200 and GOOD["comentario"] not in html(earlier)
    for username in ("operador", "enlace", "admin", "auditor"):
        assert browser(username).get("/encuestas/comentarios").status_code == 403


def test_a_bad_period_on_the_comments_page_is_said_in_spanish(browser):
    response = browser("coordinador").get("/encuestas/comentarios?desde=31/02/2026")
    assert response.status_code == 400 and 'id="desde-error"' in html(response)
