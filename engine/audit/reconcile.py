"""Each case row held against its events: the status, deadline and closing the trail says it has.

A case's status, due date and closing moment change only with an event that tells of it
(``engine.bpm.runtime``: ``caso_creado`` opens it «abierto», ``estado_cambiado`` moves the
status and sets or clears the closing, ``plazo_fijado`` moves the deadline). The chain and
its seals guard the events; a case row edited in the database, past the engine, no longer
agrees with them, and ``atiende audit verify`` names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import PANAMA
from engine.db.models import AuditEvent, Case

KINDS = ("caso_creado", "estado_cambiado", "plazo_fijado")
_BATCH = 2000


@dataclass
class _Told:
    """What a case's events say its row holds."""

    status: str = "abierto"
    due_at: datetime | None = None
    closed_at: datetime | None = None


def mismatches(session: Session) -> list[str]:
    """One Spanish line per case whose row disagrees with its events (or has none), in case order."""
    told: dict[int, _Told] = {}
    last_id = 0
    while True:
        batch = session.execute(
            select(AuditEvent.id, AuditEvent.case_id, AuditEvent.kind, AuditEvent.at, AuditEvent.detail)
            .where(AuditEvent.id > last_id, AuditEvent.kind.in_(KINDS), AuditEvent.case_id.is_not(None))
            .order_by(AuditEvent.id)
            .limit(_BATCH)
        ).all()
        for event_id, case_id, kind, at, detail in batch:
            last_id = event_id
            if kind == "caso_creado":
                told[case_id] = _Told()
            elif case_id in told and kind == "estado_cambiado":
                told[case_id].status = detail.get("despues")
                told[case_id].closed_at = at if detail.get("despues") == "cerrado" else None
            elif case_id in told and kind == "plazo_fijado" and detail.get("despues"):
                told[case_id].due_at = datetime.fromisoformat(detail["despues"])
        if len(batch) < _BATCH:
            break
    found = []
    rows = session.execute(
        select(Case.id, Case.ticket, Case.status, Case.due_at, Case.closed_at).order_by(Case.id)
    ).yield_per(_BATCH)
    for case_id, ticket, status, due_at, closed_at in rows:
        expected = told.pop(case_id, None)
        if expected is None:
            found.append(f"Caso {ticket}: no tiene evento de creación en el registro.")
            continue
        if status != expected.status:
            found.append(f"Caso {ticket}: su estado es «{status}» y según sus eventos es «{expected.status}».")
        if due_at != expected.due_at:
            found.append(f"Caso {ticket}: su plazo es {_when(due_at)} y según sus eventos es {_when(expected.due_at)}.")
        if closed_at != expected.closed_at:
            found.append(
                f"Caso {ticket}: su cierre es {_when(closed_at)} y según sus eventos es {_when(expected.closed_at)}."
            )
    found += [f"El caso #{case_id} tiene eventos y no tiene fila: se eliminó." for case_id in sorted(told)]
    return found


def _when(moment: datetime | None) -> str:
    return moment.astimezone(PANAMA).strftime("%d/%m/%Y %H:%M:%S") if moment is not None else "ninguno"
