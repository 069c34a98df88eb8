"""Internal notes on a case: what the office tells itself about it, never shown to the citizen.

Notes are written, never edited or deleted; each is audited (the event names the note, not
its text, so nothing that reads the audit trail for the public can carry it).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, select

from engine.access.accounts import Actor
from engine.access.permissions import may_write_notes
from engine.audit import trail as audit
from engine.db.models import CaseNote
from engine.db.statements import Statement
from engine.errors import Forbidden, FormErrors
from engine.facade import Atiende

MAX_LENGTH = 4000
FIELD = "texto"


def add(atiende: Atiende, case_id: int, text: str, actor: Actor) -> int:
    """Write a note on a case the actor may read; returns its id. FormErrors if empty or too long."""
    if not may_write_notes(actor):
        raise Forbidden("no puede escribir notas internas")
    text = (text or "").strip()
    if not text:
        raise FormErrors({FIELD: "Escriba la nota."})
    if len(text) > MAX_LENGTH:
        raise FormErrors({FIELD: f"No puede superar {MAX_LENGTH} caracteres."})
    with atiende.unit_of_work() as s:
        case = atiende.case_for(s, case_id, actor)
        now = atiende.now()
        note = CaseNote(case_id=case.id, author=actor.username, written_at=now, text=text)
        s.add(note)
        s.flush()
        audit.record(s, now, actor.username, "nota_interna", case_id=case.id, detail={"nota": note.id})
        return note.id


_NOTES = cast(Table, CaseNote.__table__)
_OF_CASE = Statement(select(*_NOTES.c).where(_NOTES.c.case_id == bindparam("case_id")).order_by(_NOTES.c.id))


def of_case_read(case_id: int) -> tuple[Statement, dict]:
    """The read of the case's notes (``case_note`` rows), oldest first, to send with others
    (``statements.together``)."""
    return _OF_CASE, {"case_id": case_id}
