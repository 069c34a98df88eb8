"""Documents are rendered after the step's commit, from the snapshot the step kept (engine/paperwork/rendering.py).

On the small procedure of tests/fixtures/paperwork.py, through the ``office`` of test_paperwork.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from engine.audit import trail as audit
from engine.db.models import AuditEvent, Case, CatalogItem, Document, OutboxMessage, User
from engine.paperwork import effects, rendering
from tests.conftest import START
from tests.fixtures import paperwork as pw
from tests.fixtures.paperwork import pdf_text


def the_hoja(office) -> Document:
    [hoja] = office.rows(Document, kind="hoja_de_tramite")
    return hoja


def events(office, kind: str) -> list[AuditEvent]:
    return office.rows(AuditEvent, kind=kind)


def stored(office, document_id: int) -> tuple[bytes | None, int | None, str | None]:
    with office.store.read() as s:
        document = s.get(Document, document_id)
        return document.content, document.size, document.sha256


def test_the_step_keeps_the_hojas_facts_and_no_bytes(office):
    case_id = office.start()
    office.remit(case_id)
    ticket = office.rows(Case)[0].ticket
    hoja = the_hoja(office)
    with office.store.read() as s:
        taken = s.get(Document, hoja.id).snapshot

    assert stored(office, hoja.id) == (None, None, None)
    assert (taken["ticket"], taken["direccion"], taken["fecha"]) == (
        ticket,
        "Dirección de Planificación Urbana",
        START.isoformat(),
    )
    assert taken["enlaces"] == [
        {"nombre": "Elena Enlace Ábrego", "correo": "elena@planificacion.example"},
        {"nombre": "Ñusta Núñez", "correo": "nusta@planificacion.example"},
    ]
    assert (taken["aprobada_por"], taken["comentarios_aprobacion"]) == ("Carlos Coordinador", "Conforme, remítase.")
    [made] = events(office, "documento_generado")
    assert made.detail == {
        "tipo": "hoja_de_tramite",
        "archivo": f"hoja_de_tramite_{ticket}.pdf",
        "direccion": "planificacion_urbana",
        "documento": hoja.id,
    }
    assert events(office, "documento_renderizado") == []


def test_rendering_stores_the_bytes_their_hash_and_one_event(office):
    case_id = office.start()
    office.remit(case_id)
    hoja = the_hoja(office)
    office.clock.advance(minutes=5)

    assert rendering.ensure_rendered(office.store, [hoja.id], office.clock.now) == 1
    assert rendering.ensure_rendered(office.store, [hoja.id], office.clock.now) == 0
    assert rendering.render_pending(office.store, 10, office.clock.now) == 0

    content, size, sha256 = stored(office, hoja.id)
    assert content.startswith(b"%PDF") and size == len(content) and sha256 == hashlib.sha256(content).hexdigest()
    [rendered] = events(office, "documento_renderizado")
    assert (rendered.actor, rendered.case_id, rendered.at) == ("sistema", case_id, office.clock.now())
    assert rendered.detail == {"documento": hoja.id, "archivo": hoja.filename, "sha256": sha256, "bytes": size}


def test_two_renderers_at_once_store_one_content_and_one_event(office, monkeypatch):
    case_id = office.start()
    office.remit(case_id)
    hoja = the_hoja(office)
    both_rendered = threading.Barrier(2, timeout=60)
    render = rendering.render

    def render_then_wait(kind, taken):
        content = render(kind, taken)
        both_rendered.wait()  # neither stores its bytes before both have made them
        return content

    monkeypatch.setattr(rendering, "render", render_then_wait)
    stored_by, errors = [], []

    def renderer():
        try:
            stored_by.append(rendering.ensure_rendered(office.store, [hoja.id], office.clock.now))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=renderer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and sorted(stored_by) == [0, 1]
    [rendered] = events(office, "documento_renderizado")
    assert rendered.detail["sha256"] == stored(office, hoja.id)[2]


def test_a_hoja_rendered_later_says_what_was_true_at_its_step(office):
    case_id = office.start()
    office.remit(case_id)
    with office.store.unit_of_work() as s:  # after the approval: the dirección renamed, an enlace too
        s.scalar(
            select(CatalogItem).filter_by(catalog="direcciones", code="planificacion_urbana")
        ).label = "Dirección de Urbanismo"
        s.scalar(select(User).filter_by(username="enlace")).full_name = "Elena Renombrada"
        s.get(Case, case_id).subject = "Asunto cambiado después"
    office.clock.advance(days=1)

    text = " ".join(pdf_text(office.content(the_hoja(office).id)).split())
    assert "Para Dirección de Planificación Urbana" in text and "Urbanismo" not in text
    assert "Elena Enlace Ábrego" in text and "Renombrada" not in text
    assert "Basura sin recoger en la calle 50" in text and "cambiado" not in text
    assert "Fecha: 02/03/2026" in text  # the step's day, not the rendering's


def test_a_consolidado_rendered_later_lists_the_cases_open_at_its_step(office):
    first = office.start()
    office.remit(first)
    office.atiende.start_case("consolidado", {"direccion": "planificacion_urbana"}, pw.OPERADOR)
    later = office.start()
    office.remit(later)

    [message] = [m for m in office.rows(OutboxMessage) if m.kind == "consolidado"]
    xlsx = office.content(message.attachments[0].document_id)
    rows = list(load_workbook(io.BytesIO(xlsx)).active.iter_rows(min_row=4, values_only=True))
    tickets = {c.id: c.ticket for c in office.rows(Case)}
    assert [row[0] for row in rows] == [tickets[first]]


def test_the_rendering_worker_makes_pending_documents_without_an_outbox_worker(office):
    case_id = office.start()
    office.remit(case_id)
    hoja = the_hoja(office)
    stop = threading.Event()
    loop = threading.Thread(target=rendering.rendering_worker, args=(office.store, 5, 0.05, stop))
    loop.start()
    deadline = time.monotonic() + 60
    try:
        while stored(office, hoja.id)[0] is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join(timeout=60)

    assert not loop.is_alive()
    assert stored(office, hoja.id)[0].startswith(b"%PDF")
    assert len(events(office, "documento_renderizado")) == 1


def test_the_hojas_approval_is_this_steps_own_if_made_in_it_else_the_stored_one(office):
    """The hoja names who approved it last: an approval still waiting to be written wins over the trail's."""
    case_id = office.start()
    office.remit(case_id)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), office.store.unit_of_work() as s:
        assert effects._approval(s, case_id)[::2] == ("Carlos Coordinador", "Conforme, remítase.")
        audit.record(
            s,
            office.clock.now(),
            "enlace",
            "tarea_completada",
            case_id=case_id,
            detail={"datos": {"decision_hoja": "aprobar", "comentarios_aprobacion": "Otra vez."}},
        )
        audit.record(
            s,
            office.clock.now(),
            "enlace",
            "tarea_completada",
            case_id=case_id,
            detail={"datos": {"decision_hoja": "devolver", "comentarios_aprobacion": "No."}},
        )
        assert effects._approval(s, case_id)[::2] == ("Elena Enlace Ábrego", "Otra vez.")
        raise Undo
    assert [e.detail["datos"].get("comentarios_aprobacion") for e in events(office, "tarea_completada")] == [
        None,
        "Conforme, remítase.",
    ]
