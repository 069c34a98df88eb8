"""The citizen's public pages: Reporte Ciudadano and the status lookup, with no sign-in."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from engine.audit import trail as audit
from engine.cases import notes, queries
from engine.db.models import Attachment, Case, OutboxMessage, StoredFile
from engine.intake import photos, web_report
from engine.intake.public_status import PER_ADDRESS
from tests.fixtures.desk import OPERADOR
from tests.web.conftest import html

REPORTE = {
    "tipo_caso": "reporte",
    "ciudadano_nombre": "José Rodríguez",
    "ciudadano_cedula": "8-111-2222",
    "ciudadano_email": "jose.r@example.com",
    "lugar_notificaciones": "jose.r@example.com",
    "corregimiento": "san_francisco",
    "domicilio": "Vía Porras, frente al parque",
    "asunto": "Luminaria apagada",
    "descripcion": "La luminaria frente al parque está apagada desde hace un mes.",
    "consentimiento": "on",
}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100


def cases(store) -> list[Case]:
    with store.read() as s:
        return list(s.scalars(select(Case).order_by(Case.id)))


def submit(browser, data=None, files=None):
    payload = {**(REPORTE if data is None else data)}
    for name, (content, filename) in (files or {}).items():
        payload[name] = (io.BytesIO(content), filename)
    return browser.post("/reporte", payload)


@pytest.fixture
def citizen(browser):
    return browser(None)


def test_the_report_page_is_public_and_carries_the_consent_and_a_hidden_honeypot(citizen):
    page = citizen.get("/reporte")
    assert page.status_code == 200
    text = html(page)
    assert "Ley 81 de 2019" in text and 'name="consentimiento"' in text
    assert 'name="sitio_web"' in text and 'class="trampa" aria-hidden="true"' in text
    assert 'enctype="multipart/form-data"' in text
    assert 'name="canal"' not in text and 'name="respuesta_inmediata_enviada"' not in text  # set by the page
    assert "Le enviaremos aquí su número de ticket" in text  # help for the citizen, not for the operator
    assert "Obligatorio si el caso llegó por correo electrónico" not in text


def test_a_report_starts_a_web_case_as_the_citizen_with_its_photo_and_sends_the_ticket(app, citizen):
    store = app.extensions["atiende"].store
    before = len(cases(store))
    response = submit(citizen, files={"fotos": (JPEG, "luminaria.jpg")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/reporte/recibido")

    case = cases(store)[-1]
    assert len(cases(store)) == before + 1
    assert (case.channel, case.case_type, case.created_by, case.corregimiento) == (
        "pagina_web",
        "reporte",
        "ciudadano (web)",
        "san_francisco",
    )
    page = html(citizen.get("/reporte/recibido"))
    assert case.ticket in page
    with store.read() as s:
        [photo] = s.scalars(select(Attachment).where(Attachment.case_id == case.id))
        assert (photo.filename, photo.content_type) == ("luminaria.jpg", "image/jpeg")
        [ticket_mail] = s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id))
        kinds = [e.kind for e in audit.case_history(s, case.id)]
    assert ticket_mail.recipients == ["jose.r@example.com"] and case.ticket in ticket_mail.subject
    assert "consentimiento_datos" in kinds


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"consentimiento": None}, "consentimiento", web_report.CONSENT_MISSING),
        ({"ciudadano_email": ""}, "ciudadano_email", "Este campo es obligatorio."),
        ({"lugar_notificaciones": ""}, "lugar_notificaciones", "Este campo es obligatorio."),
        ({"corregimiento": "no_existe"}, "corregimiento", "Elija una opción válida de la lista."),
    ],
)
def test_an_incomplete_report_is_refused_beside_its_field(app, citizen, change, field, message):
    store = app.extensions["atiende"].store
    before = len(cases(store))
    data = {k: v for k, v in {**REPORTE, **change}.items() if v is not None}
    response = submit(citizen, data)
    assert response.status_code == 422
    assert message in html(response)
    assert f'id="campo-{field}-error"' in html(response) or f'id="{field}-error"' in html(response)
    assert len(cases(store)) == before
    assert "Luminaria apagada" in html(response)  # what was typed is kept


@pytest.mark.parametrize("address", ["a@b", "a@b.comBcc: x@evil.example", "jose@example.com\r\nBcc: x@evil.example"])
def test_a_wrong_email_address_is_refused_beside_its_field(app, citizen, address):
    store = app.extensions["atiende"].store
    before = len(cases(store))
    response = submit(citizen, {**REPORTE, "ciudadano_email": address})
    assert response.status_code == 422
    assert "La dirección de correo no es válida: " in html(response)
    assert 'id="campo-ciudadano_email-error"' in html(response)
    assert len(cases(store)) == before


def test_a_file_that_is_not_a_photo_is_refused_by_its_content(app, citizen):
    store = app.extensions["atiende"].store
    before = len(cases(store))
    response = submit(citizen, {**REPORTE, "asunto": ""}, files={"fotos": (b"#!/bin/sh\necho hola\n", "foto.jpg")})
    assert response.status_code == 422 and "no es una foto" in html(response)
    assert 'id="campo-asunto-error"' in html(response)  # said together, not one round after the other
    assert len(cases(store)) == before


def test_a_refused_report_keeps_none_of_its_photos(app, citizen):
    store = app.extensions["atiende"].store
    photos_sent = [(io.BytesIO(JPEG + bytes([i])), f"foto{i}.jpg") for i in range(3)]
    response = citizen.post("/reporte", {**REPORTE, "corregimiento": "no_existe", "fotos": photos_sent})
    assert response.status_code == 422
    with store.read() as s:
        assert s.scalars(select(Attachment)).all() == [] and s.scalars(select(StoredFile)).all() == []


GIF = b"GIF89a" + b"\x00" * 64


def test_a_gif_is_refused_as_the_page_says(app, citizen):
    store = app.extensions["atiende"].store
    before = len(cases(store))
    response = submit(citizen, files={"fotos": (GIF, "animada.gif")})
    assert response.status_code == 422
    assert f"«animada.gif» no es una foto en formato {photos.NAMES}." in html(response)
    assert len(cases(store)) == before


def test_the_page_names_exactly_the_photo_formats_the_check_accepts(citizen):
    page = html(citizen.get("/reporte"))
    assert f"fotos {photos.NAMES} de hasta" in page and f'accept="{photos.ACCEPT}"' in page
    assert photos.NAMES == "JPG, PNG o WebP" and ".gif" not in photos.ACCEPT
    samples = {
        "image/jpeg": JPEG,
        "image/png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 8,
        "image/webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    }
    for kind in photos.KINDS:  # every kind the page names passes the check
        assert photos.check([(f"foto{kind.extensions[0]}", samples[kind.content_type])])


def test_the_honeypot_stops_a_bot(app, citizen):
    store = app.extensions["atiende"].store
    before = len(cases(store))
    assert submit(citizen, {**REPORTE, "sitio_web": "http://spam.example"}).status_code == 400
    assert len(cases(store)) == before


def test_the_public_form_needs_its_csrf_token(citizen):
    assert citizen.client.post("/reporte", data=REPORTE).status_code == 400


def test_reports_are_limited_per_address(app, citizen):
    def someone(n):
        email = f"ciudadano{n}@example.com"
        return {**REPORTE, "ciudadano_email": email, "lugar_notificaciones": email, "ciudadano_cedula": f"8-{n}-1"}

    for n in range(web_report.PER_ADDRESS[0].hits):
        assert submit(citizen, someone(n)).status_code == 302
    response = submit(citizen, someone(99))
    assert response.status_code == 429 and "demasiados reportes" in html(response).lower()
    assert response.headers["Retry-After"] == str(int(web_report.PER_ADDRESS[0].window.total_seconds()))
    other = app.test_client()  # another address is not held back
    other_page = other.get("/reporte", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', html(other_page)).group(1)
    assert (
        other.post(
            "/reporte", data={**REPORTE, "csrf_token": token}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
        ).status_code
        == 302
    )


# -- the status lookup ----------------------------------------------------------------------------


@pytest.fixture
def filed(app, citizen):
    assert submit(citizen).status_code == 302
    return cases(app.extensions["atiende"].store)[-1]


def lookup(browser, ticket, contact):
    return browser.post("/consulta", {"ticket": ticket, "contacto": contact})


def test_the_citizen_sees_status_and_public_timeline_with_email_or_cedula(browser, filed):
    for contact in ("JOSE.R@example.com", "8-111-2222"):
        response = lookup(browser(None), filed.ticket.lower(), contact)
        assert response.status_code == 200
        page = html(response)
        assert f"Caso {filed.ticket}" in page and "Abierto" in page and "Caso registrado" in page


def test_the_timeline_never_shows_staff_notes_or_task_data(app, browser, filed):
    engine = app.extensions["atiende"]
    notes.add(engine, filed.id, "NOTA INTERNA: el ciudadano llamó molesto", OPERADOR)
    with engine.store.read() as s:
        template = next(t for t in queries.open_tasks(s, filed.id) if (t.form or "").startswith("plantilla_"))
    engine.complete_task(
        template.id,
        {
            "tipo_reporte": "alumbrado",
            "detalle_reporte": "DATO INTERNO DE TAREA",
            "referencia_ubicacion": "Parque",
            "fecha_observado": "2026-02-20",
        },
        OPERADOR,
    )
    page = html(lookup(browser(None), filed.ticket, "jose.r@example.com"))
    assert "Caso registrado" in page
    assert "NOTA INTERNA" not in page and "DATO INTERNO DE TAREA" not in page
    assert "Ana Operadora" not in page and "Tarea completada" not in page
    assert "José Rodríguez" not in page  # not even the citizen's own record is echoed back


def test_no_such_ticket_and_wrong_email_get_the_same_answer(browser, filed):
    wrong_email = lookup(browser(None), filed.ticket, "otra@example.com")
    no_ticket = lookup(browser(None), "AC-2026-999999", "jose.r@example.com")
    assert wrong_email.status_code == no_ticket.status_code == 404

    def without_inputs(response):  # the echoed inputs differ, nothing else may
        return re.sub(r'value="[^"]*"', "", html(response))

    assert without_inputs(wrong_email) == without_inputs(no_ticket)


def test_wrong_guesses_are_rate_limited(app, browser, filed):
    guesser = browser(None)
    for n in range(PER_ADDRESS.hits):
        assert lookup(guesser, filed.ticket, f"intento{n}@example.com").status_code == 404
    blocked = lookup(guesser, filed.ticket, "jose.r@example.com")  # even the right answer now waits
    assert blocked.status_code == 429 and "Demasiados intentos" in html(blocked)
    assert blocked.headers["Retry-After"] == str(int(PER_ADDRESS.window.total_seconds()))
    assert "Caso registrado" not in html(blocked)


def test_an_oversized_upload_is_refused_before_it_is_read(app, citizen, monkeypatch):
    from web.channels import publico

    monkeypatch.setattr(publico, "MAX_REQUEST", 4096)
    store = app.extensions["atiende"].store
    before = len(cases(store))
    assert submit(citizen, files={"fotos": (JPEG + bytes(8192), "grande.jpg")}).status_code == 413
    assert len(cases(store)) == before


def test_a_report_whose_first_step_fails_keeps_the_citizens_words_and_names_the_incident(app, citizen, monkeypatch):
    """An incident on a public form: the citizen reads that the office knows, not the procedure's inner names."""
    before = len(cases(app.extensions["atiende"].store))  # the demo's
    monkeypatch.setattr("engine.cases.runs.open_case", _failing_step)
    response = submit(citizen)
    page = html(response)
    assert response.status_code == 422
    assert "No pudimos registrar su reporte por una falla interna" in page and "(incidencia 1)" in page
    assert "falla de prueba" not in page  # the reason is for staff, on the Incidencias page
    assert REPORTE["descripcion"] in page
    assert len(cases(app.extensions["atiende"].store)) == before


def _failing_step(*args, **kwargs):
    raise ValueError("falla de prueba")
