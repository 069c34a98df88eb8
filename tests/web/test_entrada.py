"""The operator's inbox of the institutional mailbox: register each message as a case, or discard it."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import select

from engine.cases import attachments
from engine.db.models import Case, IntakeItem
from engine.intake import emails, items
from tests.web.conftest import html


def arrive(
    app,
    subject="Árbol caído en la acera",
    sender="luisa.gomez@example.com",
    message_id="<e1@example.com>",
    attachment: tuple[bytes, str] | None = None,
) -> int:
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = f"Luisa Gómez <{sender}>", subject, message_id
    msg.set_content("Un árbol cayó sobre la acera de la calle 3 y no se puede pasar.")
    if attachment:
        msg.add_attachment(attachment[0], maintype="image", subtype="png", filename=attachment[1])
    engine = app.extensions["atiende"]
    return items.take_mail(engine, emails.parse(bytes(msg))).intake_item_id


def item(app, item_id) -> IntakeItem:
    with app.extensions["atiende"].store.read() as s:
        return s.get(IntakeItem, item_id)


REST = {"tipo_caso": "reporte", "lugar_notificaciones": "luisa.gomez@example.com", "corregimiento": "calidonia"}


def test_the_inbox_lists_pending_messages_for_operators_only(app, browser):
    arrive(app)
    page = browser("operador").get("/entrada/")
    assert page.status_code == 200 and "Árbol caído en la acera" in html(page)
    assert browser("coordinador").get("/entrada/").status_code == 403
    assert browser(None).get("/entrada/").status_code == 302  # to the sign-in page


def test_the_message_page_prefills_the_start_form(app, browser):
    item_id = arrive(app)
    page = html(browser("operador").get(f"/entrada/{item_id}"))
    assert "Un árbol cayó sobre la acera" in page
    assert 'value="luisa.gomez@example.com"' in page and 'value="Luisa Gómez"' in page
    assert 'value="Árbol caído en la acera"' in page


def test_registering_makes_the_case_and_closes_the_item(app, browser):
    item_id = arrive(app, attachment=(b"\x89PNG\r\n\x1a\nfoto", "arbol.png"))
    operador = browser("operador")
    form = {**items.start_form_values(item(app, item_id)), **REST, "respuesta_inmediata_enviada": "on"}
    response = operador.post(f"/entrada/{item_id}", form)
    assert response.status_code == 302, html(response)
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    done = item(app, item_id)
    assert (done.status, done.case_id, done.handled_by) == ("convertido", case_id, "operador")
    with app.extensions["atiende"].store.read() as s:
        case = s.get(Case, case_id)
    assert (case.channel, case.case_type, case.citizen_email) == (
        "correo_electronico",
        "reporte",
        "luisa.gomez@example.com",
    )
    case_page = html(operador.get(f"/casos/{case_id}"))
    assert "arbol.png" in case_page  # the mail's file joined the case
    again = operador.post(f"/entrada/{item_id}", form, page=f"/casos/{case_id}")
    assert again.status_code == 302
    assert "ya fue convertido en caso" in html(operador.get(again.headers["Location"]))


def test_a_missing_field_is_shown_beside_it_and_nothing_is_registered(app, browser):
    item_id = arrive(app)
    form = {**items.start_form_values(item(app, item_id)), "lugar_notificaciones": "calle 3"}
    response = browser("operador").post(f"/entrada/{item_id}", form)
    assert response.status_code == 422 and "Este campo es obligatorio." in html(response)
    assert item(app, item_id).status == "pendiente"


def test_discarding_needs_a_reason(app, browser):
    item_id = arrive(app, subject="Gane un premio")
    operador = browser("operador")
    refused = operador.post(f"/entrada/{item_id}/descartar", {"motivo": " "}, page=f"/entrada/{item_id}")
    assert refused.status_code == 302 and item(app, item_id).status == "pendiente"
    operador.post(f"/entrada/{item_id}/descartar", {"motivo": "Correo no deseado"}, page=f"/entrada/{item_id}")
    done = item(app, item_id)
    assert (done.status, done.discard_reason) == ("descartado", "Correo no deseado")
    assert "Gane un premio" not in html(operador.get("/entrada/"))


def test_a_message_file_is_served_only_through_its_own_message(app, browser):
    first = arrive(app, attachment=(b"\x89PNG\r\n\x1a\nuno", "uno.png"))
    second = arrive(app, message_id="<e2@example.com>")
    file_id = item(app, first).attachments[0]["id"]
    operador = browser("operador")
    response = operador.get(f"/entrada/{first}/adjuntos/{file_id}")
    assert response.status_code == 200 and response.data == b"\x89PNG\r\n\x1a\nuno"
    assert "attachment" in response.headers["Content-Disposition"]
    assert operador.get(f"/entrada/{second}/adjuntos/{file_id}").status_code == 404
    assert browser("coordinador").get(f"/entrada/{first}/adjuntos/{file_id}").status_code == 403


@pytest.mark.parametrize("who", ["coordinador", "enlace", "auditor"])
def test_only_operators_register_or_discard(app, browser, who):
    item_id = arrive(app)
    person = browser(who)
    token_page = "/"
    assert person.post(f"/entrada/{item_id}", {**REST}, page=token_page).status_code == 403
    assert person.post(f"/entrada/{item_id}/descartar", {"motivo": "x"}, page=token_page).status_code == 403
    with app.extensions["atiende"].store.read() as s:
        assert s.scalar(select(IntakeItem.status).where(IntakeItem.id == item_id)) == "pendiente"


def test_a_message_file_whose_bytes_are_gone_is_a_404(app, browser, monkeypatch):
    first = arrive(app, attachment=(b"\x89PNG\r\n\x1a\nuno", "uno.png"))
    file_id = item(app, first).attachments[0]["id"]
    monkeypatch.setattr(attachments, "content", lambda _session, _attachment: None)  # purged meanwhile
    response = browser("operador").get(f"/entrada/{first}/adjuntos/{file_id}")
    assert response.status_code == 404 and "El archivo ya no está disponible." in html(response)
