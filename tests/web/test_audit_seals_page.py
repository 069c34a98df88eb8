"""The seals page: the auditor reads and prints every seal with its signed line and whether it still holds."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import text

from engine.audit import seals
from tests.web.conftest import html


def test_the_auditor_prints_the_seals_and_sees_one_that_no_longer_holds(browser, app, tmp_path):
    key = tmp_path / "sellos.pem"
    seals.generate_key(key)
    engine = app.extensions["atiende"]
    engine.settings = replace(engine.settings, audit_key=key)
    made = seals.seal(engine)
    auditor = browser("auditor")

    page = html(auditor.get("/auditoria/sellos"))
    assert "El sello está íntegro." in page and made.line in page and made.head_hash in page
    assert f"Firmas comprobadas con la clave <code>{made.key_id}</code>" in page

    with engine.store.unit_of_work() as s:
        s.execute(text("UPDATE audit_seal SET event_count = event_count + 1"))
    page = html(auditor.get("/auditoria/sellos"))
    assert "Sello n.º 1: la firma no es válida" in page

    assert browser("coordinador").get("/auditoria/sellos").status_code == 403


def test_without_a_key_the_page_says_the_signatures_are_not_checked(browser, app):
    page = html(browser("auditor").get("/auditoria/sellos"))
    assert "No hay clave pública configurada" in page and "Todavía no hay sellos" in page
