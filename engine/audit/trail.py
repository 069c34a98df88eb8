"""The audit trail: append-only events written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from engine.audit import chain as audit_chain
from engine.db.models import AuditEvent
from engine.db.statements import Statement

SYSTEM = "sistema"


def record(
    session: Session,
    at: datetime,
    actor: str,
    kind: str,
    *,
    case_id: int | None = None,
    task_id: str | None = None,
    detail: dict | None = None,
) -> None:
    """Add one event, chained to the previous one; it is committed, or rolled back, with the change it tells of."""
    audit_chain.append(
        session,
        {
            "at": at,
            "actor": actor,
            "kind": kind,
            "case_id": case_id,
            "task_id": task_id,
            "detail": audit_chain.plain(detail or {}),
        },
    )


_EVENTS = cast(Table, AuditEvent.__table__)
_CASE_HISTORY = Statement(select(*_EVENTS.c).where(_EVENTS.c.case_id == bindparam("case_id")).order_by(_EVENTS.c.id))


def case_history(session: Session, case_id: int) -> list[Any]:
    """Every event of a case (``audit_event`` rows), oldest first (this transaction's own included)."""
    audit_chain.write_pending(session)
    return _CASE_HISTORY.all(session, {"case_id": case_id})


def case_history_read(case_id: int) -> tuple[Statement, dict]:
    """``case_history``'s read, for a read session to send with its others (``statements.together``)."""
    return _CASE_HISTORY, {"case_id": case_id}


def completion_of(session: Session, task_id: str) -> AuditEvent | None:
    """The event that recorded the completion of a task, if it was completed."""
    audit_chain.write_pending(session)
    return session.scalar(
        select(AuditEvent).where(AuditEvent.task_id == task_id, AuditEvent.kind == "tarea_completada")
    )
