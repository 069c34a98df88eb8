"""The audit trail as an auditor reads it: filtered across cases, exported, and told per case.

Read-only: every function here only selects. A case's trail says, for every event, what
changed from what to what — from the ``antes``/``despues`` the event carries, and for data
a task wrote, from the values the case held just before (replayed from earlier events
when an old event did not record them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import chain
from engine.clock import PANAMA
from engine.db.models import AuditEvent, Case

PAGE_SIZE = 50
_BATCH = 1000


@dataclass(frozen=True)
class Filters:
    """What the auditor narrows the log by; None means any."""

    desde: date | None = None
    hasta: date | None = None
    usuario: str | None = None
    ticket: str | None = None
    direccion: str | None = None
    tipo: str | None = None


@dataclass(frozen=True)
class LogRow:
    event: AuditEvent
    ticket: str | None
    direccion: str | None
    previous_hash: str | None = None  # the hash a whole chain links the event to, in the export only


@dataclass(frozen=True)
class Change:
    field: str
    before: object
    after: object


@dataclass(frozen=True)
class TrailEntry:
    event: AuditEvent
    changes: tuple[Change, ...]


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=PANAMA)


def _query(filters: Filters):
    query = select(AuditEvent, Case.ticket, Case.direccion).outerjoin(Case, AuditEvent.case_id == Case.id)
    if filters.desde:
        query = query.where(AuditEvent.at >= _moment(filters.desde))
    if filters.hasta:
        query = query.where(AuditEvent.at < _moment(filters.hasta + timedelta(days=1)))
    if filters.usuario:
        query = query.where(AuditEvent.actor == filters.usuario)
    if filters.ticket:
        query = query.where(Case.ticket == filters.ticket)
    if filters.direccion:
        query = query.where(Case.direccion == filters.direccion)
    if filters.tipo:
        query = query.where(AuditEvent.kind == filters.tipo)
    return query


def page(
    session: Session, filters: Filters, before_id: int | None = None, size: int = PAGE_SIZE
) -> tuple[list[LogRow], int | None]:
    """A page of events, newest first, and the id to continue from (None on the last page)."""
    query = _query(filters)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    rows = [LogRow(*r) for r in session.execute(query.order_by(AuditEvent.id.desc()).limit(size + 1))]
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].event.id if more else None)


def export(session: Session, filters: Filters) -> Iterator[LogRow]:
    """Every matching event, oldest first, read in batches (for the CSV), each hashed one with the hash of
    the hashed event before it in the whole log (``chain.previous_hash``)."""
    query = _query(filters).add_columns(chain.previous_hash(AuditEvent.id))
    last = 0
    while True:
        batch = [
            LogRow(event, ticket, direccion, (previous or chain.GENESIS) if event.hash else None)
            for event, ticket, direccion, previous in session.execute(
                query.where(AuditEvent.id > last).order_by(AuditEvent.id).limit(_BATCH)
            )
        ]
        yield from batch
        if len(batch) < _BATCH:
            return
        last = batch[-1].event.id
        session.expunge_all()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value):
    """A CSV cell a spreadsheet shows as text: a string that starts like a formula gets a leading ``'``.

    OWASP's defence against CSV injection: the log holds what people and citizens typed, and a
    spreadsheet program would run ``=HYPERLINK(...)`` opened from a CSV. Numbers are left as they are.
    """
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def kinds(session: Session) -> list[str]:
    """The event types present in the log."""
    return sorted(session.scalars(select(AuditEvent.kind).distinct()))


def actors(session: Session) -> list[str]:
    """The people (and the system) that appear in the log."""
    return sorted(session.scalars(select(AuditEvent.actor).distinct()))


def trail(session: Session, case_id: int) -> list[TrailEntry]:
    """Every event of a case, oldest first, with what it changed (before → after)."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id))
    held: dict = {}
    entries = []
    for event in events:
        changes = tuple(_changes(event, held))
        for change in changes:
            held[change.field] = change.after
        entries.append(TrailEntry(event, changes))
    return entries


def _changes(event: AuditEvent, held: dict) -> Iterator[Change]:
    detail = event.detail or {}
    if event.kind in ("caso_creado", "tarea_completada"):
        recorded = detail.get("antes") or {}  # what the task overwrote; older events did not record it
        for key, value in (detail.get("datos") or {}).items():
            before = recorded[key] if key in recorded else held.get(key)
            if before != value:
                yield Change(key, before, value)
    elif event.kind == "estado_cambiado":
        yield Change("estado_caso", detail.get("antes"), detail.get("despues"))
    elif event.kind == "plazo_fijado":
        yield Change("fecha_limite", detail.get("antes"), detail.get("despues"))
    elif event.kind == "caso_migrado":
        yield Change(
            "version", (detail.get("antes") or {}).get("version"), (detail.get("despues") or {}).get("version")
        )
