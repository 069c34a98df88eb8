"""/transparencia: anyone, signed in or not, sees the % answered within the term per dirección and month
and the median time to answer; aggregates only, never a citizen's name, cédula or words."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.db.models import Case, User
from tests.fixtures.desk import Desk
from tests.web.conftest import html


def closed_cases(app, frozen_clock) -> Desk:
    """Two cases of Planificación Urbana answered the same day, one within its term and one 52 days after
    it was received (past its term), and one still open."""
    desk = Desk(app.extensions["atiende"], frozen_clock)
    answered = []
    for wait_days in (50, 2):
        case_id = desk.start(ciudadano_nombre="Eusebia Quintero Arosemena", ciudadano_cedula="4-717-2020")
        desk.to_follow_up(case_id)
        answered.append(case_id)
        frozen_clock.advance(days=wait_days)
    for case_id in answered:
        desk.do(case_id, "Task_respuesta_final", respuesta_final="Se reparó la acera de Eusebia.")
    desk.start(ciudadano_nombre="Bartolomé Sánchez Pitti", ciudadano_cedula="8-999-1234")
    return desk


def test_anyone_sees_it_without_signing_in(app, browser, frozen_clock):
    closed_cases(app, frozen_clock)
    response = browser(None).get("/transparencia")
    assert response.status_code == 200
    page = html(response)
    assert "Planificación Urbana" in page  # the dirección by its label
    assert re.search(r"\b50(\.0)?\s?%", page), "one of two answered within the term"
    assert "<table" in page and 'scope="col"' in page


def test_it_holds_no_name_no_cedula_no_ticket_no_words_of_a_citizen(app, browser, frozen_clock, store):
    closed_cases(app, frozen_clock)
    page = html(browser(None).get("/transparencia")).lower()
    with store.read() as s:
        people = s.execute(select(Case.citizen_name, Case.citizen_cedula, Case.subject, Case.ticket)).all()
        staff = list(s.scalars(select(User.full_name)))
    assert len(people) >= 3 and staff
    seen = [value for row in people for value in (*row, *staff) if value and value.lower() in page]
    assert seen == []
    assert "eusebia" not in page  # nor the answer's text


def test_it_is_cacheable_for_a_few_minutes_when_nobody_is_signed_in(app, browser, frozen_clock):
    anonymous = browser(None).get("/transparencia")
    assert "public" in anonymous.headers["Cache-Control"] and "max-age=300" in anonymous.headers["Cache-Control"]
    signed_in = browser("operador").get("/transparencia")  # the page names them in its header
    assert signed_in.status_code == 200 and signed_in.headers["Cache-Control"] == "no-store"
