"""/consulta shows the citizen the final answer once it was sent, and before that only the status;
never an internal note or a staff name."""

from __future__ import annotations

import re

import pytest

from engine.cases import notes
from engine.mail import smtp as sending
from engine.settings import MailSettings
from tests.fixtures.desk import OPERADOR, Desk
from tests.fixtures.smtp import Inbox, SmtpServer
from tests.web.conftest import CAPTURA, html, start_case

ANSWER = "La Dirección de Planificación Urbana reparó la acera el 15/03/2026."
NOTE = "NOTA INTERNA: la ciudadana llamó molesta."


@pytest.fixture
def smtp():
    server = SmtpServer(Inbox())
    server.start()
    yield server
    server.stop()


def lookup(browser, ticket: str, contact: str = CAPTURA["ciudadano_email"]) -> str:
    response = browser(None).post("/consulta", {"ticket": ticket, "contacto": contact})
    assert response.status_code == 200
    return html(response)


def answer(page: str) -> str:
    """The answer's section of the public page, or "" when it has none."""
    found = re.search(r'<section[^>]*id="respuesta".*?</section>', page, re.S)
    return found.group(0) if found else ""


def test_the_citizen_sees_the_answer_once_it_was_sent_and_never_a_note(app, browser, frozen_clock, smtp):
    engine = app.extensions["atiende"]
    desk = Desk(engine, frozen_clock)
    case_id = start_case(browser("operador"))
    ticket = desk.case(case_id).ticket
    notes.add(engine, case_id, NOTE, OPERADOR)
    desk.to_follow_up(case_id)
    before = lookup(browser, ticket)
    assert answer(before) == "" and ANSWER not in before

    frozen_clock.advance(days=3)
    desk.do(case_id, "Task_respuesta_final", respuesta_final=ANSWER, fecha_respuesta="2026-03-05")
    waiting = lookup(browser, ticket)  # written in the outbox, not sent yet: the status only
    assert "Cerrado" in waiting and answer(waiting) == "" and ANSWER not in waiting

    worker = sending.MailWorker(
        engine.store, MailSettings(host="127.0.0.1", port=smtp.port, security="none", timeout=5), frozen_clock
    )
    frozen_clock.advance(days=1)
    assert worker.run_once().sent >= 1
    page = lookup(browser, ticket)
    assert ANSWER in answer(page) and "06/03/2026" in answer(page)  # sent a day after it was written
    assert NOTE not in page and "Ana Operadora" not in page


def test_an_answer_given_in_person_shows_once_the_case_is_closed(app, browser, frozen_clock):
    engine = app.extensions["atiende"]
    desk = Desk(engine, frozen_clock)
    case_id = desk.start("atencion_directa")  # no e-mail: answered in person
    ticket, cedula = desk.case(case_id).ticket, desk.case(case_id).citizen_cedula
    desk.to_follow_up(case_id)
    assert ANSWER not in lookup(browser, ticket, cedula)
    desk.do(
        case_id,
        "Task_respuesta_final",
        respuesta_final=ANSWER,
        medio_respuesta="presencial",
        fecha_respuesta="2026-03-04",
    )
    page = lookup(browser, ticket, cedula)
    assert ANSWER in answer(page) and "04/03/2026" in answer(page)
