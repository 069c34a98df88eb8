"""Tamper evidence for the audit trail: every event carries a hash chained to the one before.

The database already refuses UPDATE and DELETE on ``audit_event`` (migration 0002), but
someone with direct access to the database can drop a trigger. The chain makes such an
edit visible: each event's hash covers its content and the previous event's hash, so
changing, removing or inserting a row breaks every link after it, and ``verify`` names the
first broken one. Someone who recomputes every hash after an edit, or deletes the newest
events, leaves a whole chain: the seals signed outside the database catch that
(``engine.audit.seals``). Appends are serialized (SQLite writers already are, by ``BEGIN
IMMEDIATE``; on PostgreSQL a transaction-level advisory lock), so ids follow chain order.

A transaction's events wait in its session until it commits, and are chained and inserted
then: the lock is held only from that moment to the end of the transaction, not through
the workflow steps before it (with it taken at the first event, two PostgreSQL writers
worked one after the other: bench/timers.py --workers 2). On PostgreSQL the database chains them
(``_INSERT_CHAINED``: each event's hash computed by the INSERT from the newest one's), so the lock,
the events and the COMMIT go to the server together and the lock is held for no round trip.
Whoever must read this transaction's own events before it commits calls ``write_pending`` first.

The hash an event is chained to is not stored with it: it is the hash of the newest hashed event
before it (``previous_hash``), which holds it already (32 bytes an event saved, migration 0033).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import LargeBinary, Table, bindparam, func, literal_column, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, aliased

from engine.db import statements
from engine.db.models import AuditEvent
from engine.db.statements import Statement, committing

GENESIS = "0" * 64
# pg_advisory_xact_lock key of the chain's head ("ATIE" in ASCII); held until the transaction ends.
_PG_LOCK = Statement(select(func.pg_advisory_xact_lock(1096041541)))
_BATCH = 2000
_HEAD = "audit_chain_head"  # session.info key: the hash of this transaction's newest event (SQLite)
_PENDING = "audit_chain_pending"  # session.info key: events of this transaction not yet written
_WRITTEN = "audit_chain_written"  # session.info key: events of this transaction already inserted
_MARKS = "audit_chain_marks"  # session.info key: savepoint → (events written, events in all) when it began
_EVENTS = cast(Table, AuditEvent.__table__)
_CHAINED = ("at", "actor", "kind", "case_id", "task_id", "detail")  # what an event's hash covers
_INSERTED = (*_CHAINED, "hash")
_NEWEST_HASH = select(_EVENTS.c.hash).where(_EVENTS.c.hash.is_not(None)).order_by(_EVENTS.c.id.desc()).limit(1)
_HEAD_QUERY = Statement(_NEWEST_HASH)
_INSERT = Statement(_EVENTS.insert())
# PostgreSQL: the event's hash made by the INSERT, as ``digest`` makes it, from the newest hashed
# event's (its own transaction's earlier INSERTs included) and the event's ``body`` in UTF-8, given
# as bytes: the same bytes whatever the database's own encoding.
_INSERT_CHAINED = Statement(
    _EVENTS.insert().values(
        hash=func.sha256(
            func.convert_to(
                func.coalesce(func.encode(_NEWEST_HASH.scalar_subquery(), literal_column("'hex'")), GENESIS).op("||")(
                    literal_column("E'\\n'")
                ),
                literal_column("'UTF8'"),
                type_=LargeBinary,
            ).op("||")(bindparam("body", type_=LargeBinary)),
            type_=LargeBinary,
        )
    )
)


def plain(detail: dict) -> dict:
    """``detail`` as the database will give it back (JSON types only), so its hash can be recomputed."""
    return json.loads(json.dumps(detail, ensure_ascii=False, default=str))


def digest(
    prev_hash: str, at: datetime, actor: str, kind: str, case_id: int | None, task_id: str | None, detail: dict
) -> str:
    """The SHA-256 of an event's content, chained to ``prev_hash``."""
    content = _body(at, actor, kind, case_id, task_id, detail)
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


def _body(at: datetime, actor: str, kind: str, case_id: int | None, task_id: str | None, detail: dict) -> str:
    """An event's content as the text its hash covers, after the previous hash and a line break."""
    content = {
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "kind": kind,
        "case_id": case_id,
        "task_id": task_id,
        "detail": detail,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest_of(event: AuditEvent, prev_hash: str) -> str:
    return digest(prev_hash, event.at, event.actor, event.kind, event.case_id, event.task_id, event.detail)


def append(session: Session, event: dict) -> None:
    """Add ``event`` (the row's columns but the hashes) to the transaction; it is chained when written."""
    session.info.setdefault(_PENDING, []).append(event)


def pending(session: Session) -> list[dict]:
    """This transaction's events not yet written, oldest first (newer than every stored event)."""
    return session.info.get(_PENDING, [])


def write_pending(session: Session) -> None:
    """Chain this transaction's waiting events to the newest one and insert them now.

    From here to the end of the transaction the chain's lock is held. On PostgreSQL the lock is
    asked first and the INSERTs chain each event (``_INSERT_CHAINED``): inside a ``pipelined`` block
    none waits for an answer. On SQLite the hashes are made here, the head kept in ``session.info``
    so a later write in the same transaction need not read it again.
    """
    pending = session.info.get(_PENDING)
    if not pending:
        return
    # On the session's connection: the ORM would flush whatever is pending first, for nothing.
    if session.connection().dialect.name == "postgresql":
        _PG_LOCK.execute(session, {})
        rows = [{**event, "body": _body(*(event[key] for key in _CHAINED)).encode()} for event in pending]
        _INSERT_CHAINED.execute_many(session, rows, column_keys=_CHAINED)
    else:
        head = session.info.get(_HEAD)
        if head is None:
            newest = _HEAD_QUERY.first(session, {})
            head = newest.hash if newest is not None else GENESIS
        for event in pending:
            head = event["hash"] = digest(head, *(event[key] for key in _CHAINED))
        _INSERT.execute_many(session, pending, column_keys=_INSERTED)
        session.info[_HEAD] = head
    session.info.setdefault(_WRITTEN, []).extend(pending)
    pending.clear()


def locked_head(session: Session) -> tuple[int, str, int] | None:
    """(id, hash, how many events up to it) of the newest stored event, or None when there is none.

    Taken with the chain's lock, held to the end of the transaction, so nothing is appended
    meanwhile (SQLite's writers queue already); for a seal of the head (``engine.audit.seals``).
    """
    if session.connection().dialect.name == "postgresql":
        _PG_LOCK.first(session, {})
    newest = session.execute(select(_EVENTS.c.id, _EVENTS.c.hash).order_by(_EVENTS.c.id.desc()).limit(1)).first()
    if newest is None:
        return None
    count = session.scalar(select(func.count()).select_from(_EVENTS).where(_EVENTS.c.id <= newest.id))
    return newest.id, newest.hash or "", count or 0


@sa_event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    """The transaction's events go in as it commits: on PostgreSQL, in the COMMIT's round trip.

    A savepoint's release leaves them waiting for the transaction's commit: written there, they would
    take the chain's lock at the first case of a timer sweep's batch, held while the batch's other
    cases lock their rows. Events recorded after the transaction ended with its step's writes
    (``statements.commit_here``) would be committed apart from it: refused, a programming error.
    """
    if not pending(session) or session.in_nested_transaction():
        return
    if statements.ended(session):
        raise statements.AfterTheEnd("audit events were recorded after the transaction ended with its step's writes")
    with committing(session):
        write_pending(session)


@sa_event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction) -> None:
    if transaction.nested:
        written, pending = session.info.get(_WRITTEN, []), session.info.get(_PENDING, [])
        session.info.setdefault(_MARKS, {})[transaction] = (len(written), len(written) + len(pending))


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction) -> None:
    """Events added inside a savepoint that rolled back never happened; those added before it still did.

    Events written inside the savepoint, even ones added before it, were rolled back with it:
    those added before it wait again, to be chained anew.
    """
    mark = session.info.get(_MARKS, {}).pop(previous_transaction, None)
    if mark is None:
        return
    kept_written, kept = mark
    everything = session.info.get(_WRITTEN, []) + session.info.get(_PENDING, [])
    session.info[_WRITTEN] = everything[:kept_written]
    session.info[_PENDING] = everything[kept_written:kept]


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction) -> None:
    session.info.pop(_HEAD, None)
    if transaction.parent is None:  # committed or rolled back: nothing of it waits any more
        for key in (_PENDING, _WRITTEN, _MARKS):
            session.info.pop(key, None)


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking the chain: how many events, and the first broken link if any."""

    checked: int
    head: str
    broken_id: int | None = None
    broken_at: datetime | None = None
    broken_kind: str | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_id is None

    def __str__(self) -> str:
        if self.intact:
            return f"Cadena íntegra: {self.checked} eventos verificados; huella final {self.head}."
        return (
            f"Cadena rota en el evento #{self.broken_id} ({self.broken_kind}, "
            f"{self.broken_at.isoformat() if self.broken_at else 'sin fecha'}): {self.reason}. "
            f"{self.checked} eventos anteriores están íntegros."
        )


def verify(session: Session, since: tuple[int, str] | None = None) -> Verdict:
    """Walk every event in id order, recompute its hash and its link; stop at the first break.

    ``since`` (an event's id and hash, e.g. a seal's) walks only the events after it.
    """
    last_id, previous = since or (0, GENESIS)
    checked = 0
    while True:
        batch = list(
            session.scalars(select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(_BATCH))
        )
        for event in batch:
            reason = _fault(event, previous, last_id)
            if reason:
                return Verdict(checked, previous, event.id, event.at, event.kind, reason)
            previous = cast(str, event.hash)  # _fault found it set
            checked += 1
            last_id = event.id
        session.expunge_all()
        if len(batch) < _BATCH:
            return Verdict(checked, previous)


def _fault(event: AuditEvent, previous: str, previous_id: int) -> str | None:
    """Why ``event`` breaks the chain after the event ``previous_id`` (hash ``previous``); None if it does not.

    The hash covers the event and the one before, so a mismatch alone cannot tell a changed event
    from a missing one; a gap in the ids before it (ids follow chain order) names the events that may
    have been deleted (on PostgreSQL a transaction rolled back also leaves a gap, never a break).
    """
    if not event.hash:
        return "el evento no tiene huella (se insertó fuera del registro de auditoría)"
    if _digest_of(event, previous) == event.hash:
        return None
    if event.id == previous_id + 2:
        return f"no enlaza con el evento anterior: falta el evento #{previous_id + 1} (se eliminó), o fue modificado"
    if event.id > previous_id + 2:
        missing = f"#{previous_id + 1} a #{event.id - 1}"
        return f"no enlaza con el evento anterior: faltan los eventos {missing} (se eliminaron), o fue modificado"
    return (
        "su huella no corresponde a su contenido y al evento anterior (el evento fue modificado, "
        "o se insertó o reordenó un evento antes de él)"
    )


def previous_hash(event_id):
    """SQL for the hash of the newest hashed event before the event ``event_id``, the one a whole chain
    links it to; NULL for the first, which is chained to ``GENESIS``."""
    earlier = aliased(AuditEvent)
    return (
        select(earlier.hash)
        .where(earlier.id < event_id, earlier.hash.is_not(None))
        .order_by(earlier.id.desc())
        .limit(1)
        .scalar_subquery()
    )
