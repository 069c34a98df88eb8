"""The citizen's public view of a case across its whole life (its limits: tests/integration/test_rate_limits.py)."""

from __future__ import annotations

from datetime import date

from engine.intake import public_status


def test_the_public_timeline_follows_the_case_to_its_final_answer(desk):
    case_id = desk.start(ciudadano_email="Maria.Perez@example.com", ciudadano_cedula="8-123-4567")
    ticket = desk.case(case_id).ticket
    lookup = public_status.lookup(desk.atiende.store, ticket, "maria.perez@EXAMPLE.com", "1.2.3.4", desk.clock.now())
    assert lookup.status == "Abierto" and [e.what for e in lookup.timeline] == ["Caso registrado"]

    desk.to_follow_up(case_id)
    desk.do(case_id, "Task_respuesta_final", fecha_respuesta="2026-03-20")
    found = public_status.lookup(desk.atiende.store, ticket, "8-123-4567", "1.2.3.4", desk.clock.now())
    assert found.status == "Cerrado" and found.closed_at is not None
    assert [e.what for e in found.timeline] == [
        "Caso registrado",
        "Estado: En seguimiento",
        "Estado: Cerrado",
        "Respuesta final emitida",
    ]
    assert found.timeline[-1].at == date(2026, 3, 20)
    assert found.case_type == "Queja o reclamo"


def test_a_case_without_email_or_cedula_cannot_be_opened_with_an_empty_proof(desk):
    case_id = desk.start(ciudadano_email=None, ciudadano_cedula=None, canal="pagina_web")
    ticket = desk.case(case_id).ticket
    for proof in ("", "   "):
        assert public_status.lookup(desk.atiende.store, ticket, proof, "1.2.3.4", desk.clock.now()) is None


def test_the_citizen_may_write_the_cedula_as_on_the_card(desk):
    case_id = desk.start(ciudadano_cedula="8-123-4567")
    ticket = desk.case(case_id).ticket
    for written in ("8 123 4567", "8–123–4567", "08-0123-04567"):
        found = public_status.lookup(desk.atiende.store, ticket, written, "1.2.3.4", desk.clock.now())
        assert found is not None, written
