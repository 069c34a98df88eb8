"""The case page as one view of the case: the conversation (messages in and out, internal notes),
the current task's form inline when it is the reader's, and the final answer previewed as the
citizen will receive it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.cases import expediente, notes
from engine.db.models import OutboxMessage
from engine.intake import items
from engine.intake.emails import ParsedMail
from tests.fixtures.desk import OPERADOR, Desk
from tests.web.conftest import CAPTURA, TOKEN, html, start_case, task_id

ANSWER = "Se reparó la acera frente a la escuela el 15/03/2026 & quedó señalizada."
FINAL_TASK = "Registrar respuesta final al ciudadano"


def outbox(store, case_id: int) -> list[OutboxMessage]:
    with store.read() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id).order_by(OutboxMessage.id)))


def conversation(page: str) -> str:
    """The conversation section of the case page, alone."""
    found = re.search(r'<section[^>]*id="conversacion".*?</section>', page, re.S)
    assert found, "no conversation on the case page"
    return found.group(0)


@pytest.fixture
def desk(app, frozen_clock) -> Desk:
    return Desk(app.extensions["atiende"], frozen_clock)


def at_final_answer(browser, desk: Desk, **changes) -> int:
    """A case registered by the operador, worked through to the final answer's task."""
    case_id = start_case(browser("operador"), **changes)
    desk.to_follow_up(case_id)
    return case_id


def test_the_conversation_shows_messages_in_and_out_and_notes_in_time_order(app, browser, frozen_clock):
    engine = app.extensions["atiende"]
    first = ParsedMail(
        "<m1@example.com>", "rosa.batista@example.com", "Rosa Batista", "Acera rota", "ORIGINAL: la acera."
    )
    taken = items.take_mail(engine, first)
    frozen_clock.advance(minutes=30)
    values = {**items.start_form_values(items_get(engine, taken.intake_item_id)), **CAPTURA}
    case_id = items.convert(engine, taken.intake_item_id, values, OPERADOR).case_id
    ticket = engine_ticket(engine, case_id)
    frozen_clock.advance(hours=2)
    notes.add(engine, case_id, "NOTA: llamé a la ciudadana.", OPERADOR)
    frozen_clock.advance(days=1)
    reply = ParsedMail("<m2@example.com>", "rosa.batista@example.com", "Rosa", f"Re: {ticket}", "SEGUNDO: sigue rota.")
    assert items.take_mail(engine, reply).outcome == "unido"
    registered = next(m for m in outbox(engine.store, case_id) if m.kind == "ticket_ciudadano")
    with engine.store.unit_of_work() as s:
        row = s.get(OutboxMessage, registered.id)
        row.state, row.last_error = "fallido", "550 Buzón inexistente"

    page = html(browser("operador").get(f"/casos/{case_id}"))
    shown = conversation(page)
    order = [
        "ORIGINAL: la acera.",  # in: the e-mail that opened the case
        "Recibimos su mensaje: Acera rota",  # out: its acknowledgement, before any ticket
        f"Su caso fue registrado con el ticket {ticket}",  # out: the ticket, failed
        "NOTA: llamé a la ciudadana.",  # internal note
        "SEGUNDO: sigue rota.",  # in: the reply the mailbox joined to the case
        f"Recibimos su mensaje sobre el caso {ticket}",  # out: its acknowledgement
    ]
    positions = [shown.find(text) for text in order]
    assert -1 not in positions, dict(zip(order, positions, strict=True))
    assert positions == sorted(positions)
    assert shown.count("Entrante") == 2 and shown.count("Nota interna") == 1 and shown.count("Saliente") == 3
    assert "Fallido" in shown and "550 Buzón inexistente" in shown
    assert "Pendiente de envío" in shown  # the others wait in the outbox (no SMTP server in tests)


def items_get(engine, item_id):
    with engine.store.read() as s:
        return items.get(s, item_id)


def engine_ticket(engine, case_id: int) -> str:
    with engine.store.read() as s:
        return engine.case_for(s, case_id, OPERADOR).ticket


def test_a_case_typed_in_by_staff_shows_the_citizens_words_as_the_first_message(browser):
    operador = browser("operador")
    case_id = start_case(operador)
    shown = conversation(html(operador.get(f"/casos/{case_id}")))
    assert CAPTURA["descripcion"] in shown and "Entrante" in shown


def test_the_current_task_is_worked_inline_only_by_whom_it_is_for(store, browser, desk):
    case_id = at_final_answer(browser, desk)
    tid = task_id(store, case_id, FINAL_TASK)
    operador = browser("operador")
    page = html(operador.get(f"/casos/{case_id}"))
    assert f'action="/tareas/{tid}"' in page and 'name="respuesta_final"' in page
    for other in ("coordinador", "auditor", "enlace"):
        theirs = html(browser(other).get(f"/casos/{case_id}"))
        assert f'action="/tareas/{tid}"' not in theirs and 'name="respuesta_final"' not in theirs, other

    done = operador.post(
        f"/tareas/{tid}",
        {"respuesta_final": ANSWER, "medio_respuesta": "correo_electronico", "fecha_respuesta": "20/03/2026"},
        page=f"/casos/{case_id}",
    )
    assert done.status_code == 302
    assert desk.case(case_id).status == "cerrado" and desk.ready(case_id) == []
    assert 'name="respuesta_final"' not in html(operador.get(f"/casos/{case_id}"))


def test_the_preview_is_the_message_the_outbox_gets(store, browser, desk):
    case_id = at_final_answer(browser, desk)
    tid = task_id(store, case_id, FINAL_TASK)
    operador = browser("operador")
    page = f"/casos/{case_id}"
    assert "Vista previa" in html(operador.get(page))
    preview = operador.client.post(
        f"/casos/tareas/{tid}/vista-previa",
        data={"respuesta_final": ANSWER, "csrf_token": operador.token(page)},
        headers={"Accept": "application/json"},
    )
    assert preview.status_code == 200
    shown = preview.get_json()
    assert ANSWER in shown["cuerpo"] and shown["para"] == "rosa.batista@example.com"

    without_script = operador.post(f"/casos/tareas/{tid}/vista-previa", {"respuesta_final": ANSWER}, page=page)
    assert without_script.status_code == 200
    assert "Se reparó la acera frente a la escuela el 15/03/2026 &amp; quedó señalizada." in html(without_script)
    assert ANSWER in html(without_script).replace("&amp;", "&")  # the typed text is kept in the form too

    operador.post(
        f"/tareas/{tid}",
        {"respuesta_final": ANSWER, "medio_respuesta": "correo_electronico", "fecha_respuesta": "20/03/2026"},
        page=page,
    )
    [sent] = [m for m in outbox(store, case_id) if m.kind == "respuesta_ciudadano"]
    # The survey's one-use link is made when the step writes the message; the preview names it (issue 19).
    assert "/encuesta/(enlace de un solo uso)" in shown["cuerpo"]
    real_link = re.compile(r"/encuesta/[A-Za-z0-9_-]{20,}")
    assert real_link.search(sent.body)
    body = real_link.sub("/encuesta/(enlace de un solo uso)", sent.body)
    assert (sent.subject, body, sent.recipients) == (shown["asunto"], shown["cuerpo"], [shown["para"]])


def test_the_preview_says_when_no_mail_will_go(store, browser, desk):
    case_id = desk.start("atencion_directa")  # in person: answered in person, not by e-mail
    desk.to_follow_up(case_id)
    tid = task_id(store, case_id, FINAL_TASK)
    operador = browser("operador")
    response = operador.client.post(
        f"/casos/tareas/{tid}/vista-previa",
        data={"respuesta_final": ANSWER, "csrf_token": operador.token(f"/casos/{case_id}")},
        headers={"Accept": "application/json"},
    )
    shown = response.get_json()
    assert shown["cuerpo"] is None and "canal" in shown["aviso"]
    assert "no se envía por correo" in html(operador.get(f"/casos/{case_id}"))


def test_only_who_may_work_the_task_previews_it(store, browser, desk):
    case_id = at_final_answer(browser, desk)
    tid = task_id(store, case_id, FINAL_TASK)
    for other in ("coordinador", "auditor"):
        who = browser(other)
        refused = who.client.post(
            f"/casos/tareas/{tid}/vista-previa",
            data={"respuesta_final": ANSWER, "csrf_token": who.token(f"/casos/{case_id}")},
            headers={"Accept": "application/json"},
        )
        assert refused.status_code == 403, other
    missing = browser("operador").post("/casos/tareas/no-existe/vista-previa", {"respuesta_final": "x"}, page="/")
    assert missing.status_code == 404


def test_a_task_completed_while_the_page_is_read_keeps_the_form_the_file_read(store, browser, desk, monkeypatch):
    """The case page shows the file as its one read gave it (engine.cases.expediente): a task someone
    else completes meanwhile keeps its form on the page, and posting it then says it was done."""
    case_id = at_final_answer(browser, desk)
    tid = task_id(store, case_id, FINAL_TASK)
    read = expediente.read

    def listed_then_completed(*args):
        found = read(*args)  # its open tasks listed
        desk.do(case_id, "Task_respuesta_final")  # another person, in a transaction of their own
        return found

    monkeypatch.setattr(expediente, "read", listed_then_completed)
    operador = browser("operador")
    answer = operador.get(f"/casos/{case_id}")
    assert answer.status_code == 200
    assert desk.case(case_id).status == "cerrado"
    page = html(answer)
    assert f'action="/tareas/{tid}"' in page
    token = TOKEN.search(page).group(1)
    late = operador.client.post(f"/tareas/{tid}", data={"csrf_token": token})
    assert late.status_code == 409 and "La tarea ya fue completada" in html(late)
