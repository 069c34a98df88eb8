"""Audit events are written with their change, and the database refuses to alter them."""

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DatabaseError

from engine.db.models import AuditEvent, Case


def test_audit_events_cannot_be_updated_or_deleted(desk, store):
    case_id = desk.start()
    before = [(e.id, e.actor, e.kind) for e in desk.history(case_id)]
    for statement in (update(AuditEvent).values(actor="otro"), delete(AuditEvent)):
        with pytest.raises(DatabaseError, match="append-only"), store.unit_of_work() as s:
            s.execute(statement)
    assert [(e.id, e.actor, e.kind) for e in desk.history(case_id)] == before


def test_a_change_that_fails_leaves_no_audit_event(desk, store):
    desk.start()
    with pytest.raises(RuntimeError), store.unit_of_work() as s:
        s.add(AuditEvent(at=desk.clock.now(), actor="x", kind="prueba", detail={}))
        s.get(Case, 1).status = "cerrado"
        raise RuntimeError("boom")
    with store.read() as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.kind == "prueba")) is None
        assert s.get(Case, 1).status == "abierto"
