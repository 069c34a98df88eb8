"""Tamper evidence for the audit trail: every event carries a hash chained to the one before.

The database already refuses UPDATE and DELETE on ``audit_event`` (migration 0002), but
someone with direct access to the database can drop a trigger. The chain makes such an
edit visible: each event's hash covers its content and the previous event's hash, so
changing, removing or inserting a row breaks every link after it, and ``verify`` names the
first broken one. Appends are serialized (SQLite writers already are, by ``BEGIN
IMMEDIATE``; on PostgreSQL a transaction-level advisory lock), so ids follow chain order.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine.models import AuditEvent

GENESIS = "0" * 64
# pg_advisory_xact_lock key of the chain's head ("ATIE" in ASCII); held until the transaction ends.
_PG_LOCK = text("SELECT pg_advisory_xact_lock(1096041541)")
_BATCH = 2000
_HEAD = "audit_chain_head"  # session.info key: the hash of this transaction's newest event
_HEAD_QUERY = (select(AuditEvent.__table__.c.hash).where(AuditEvent.__table__.c.hash.is_not(None))
               .order_by(AuditEvent.__table__.c.id.desc()).limit(1))
_INSERT = AuditEvent.__table__.insert()


def plain(detail: dict) -> dict:
    """``detail`` as the database will give it back (JSON types only), so its hash can be recomputed."""
    return json.loads(json.dumps(detail, ensure_ascii=False, default=str))


def digest(prev_hash: str, at: datetime, actor: str, kind: str, case_id: int | None,
           task_id: str | None, detail: dict) -> str:
    """The SHA-256 of an event's content, chained to ``prev_hash``."""
    content = {
        "at": at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
        "actor": actor, "kind": kind, "case_id": case_id, "task_id": task_id, "detail": detail,
    }
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _digest_of(event: AuditEvent, prev_hash: str) -> str:
    return digest(prev_hash, event.at, event.actor, event.kind, event.case_id, event.task_id, event.detail)


def append(session: Session, event: dict) -> None:
    """Chain ``event`` (the row's columns but the hashes) to the newest event and insert it now.

    The head is read once per transaction, under the chain's lock, and then carried in
    ``session.info``: nobody else can append until this transaction ends, and its own events
    are inserted one by one, in chain order. Any transaction or savepoint ending drops the
    carried head (see ``_forget_head``), so a savepoint rolled back never leaves a head that
    is not in the database. The row goes in as one Core statement: the ORM's unit of work
    cost several times more per event, and nothing reads an event back as an object.
    """
    head = session.info.get(_HEAD)
    # On the session's connection: the ORM would flush whatever is pending first, for nothing.
    connection = session.connection()
    if head is None:
        if connection.dialect.name == "postgresql":
            connection.execute(_PG_LOCK)
        head = connection.execute(_HEAD_QUERY).scalar() or GENESIS
    event["prev_hash"] = head
    event["hash"] = digest(head, event["at"], event["actor"], event["kind"], event["case_id"], event["task_id"],
                           event["detail"])
    connection.execute(_INSERT, event)
    session.info[_HEAD] = event["hash"]


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, _transaction) -> None:
    session.info.pop(_HEAD, None)


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
        return (f"Cadena rota en el evento #{self.broken_id} ({self.broken_kind}, "
                f"{self.broken_at.isoformat() if self.broken_at else 'sin fecha'}): {self.reason}. "
                f"{self.checked} eventos anteriores están íntegros.")


def verify(session: Session) -> Verdict:
    """Walk every event in id order, recompute its hash and its link; stop at the first break."""
    previous = GENESIS
    checked = 0
    last_id = 0
    while True:
        batch = list(session.scalars(select(AuditEvent).where(AuditEvent.id > last_id)
                                     .order_by(AuditEvent.id).limit(_BATCH)))
        for event in batch:
            reason = _fault(event, previous)
            if reason:
                return Verdict(checked, previous, event.id, event.at, event.kind, reason)
            previous = event.hash
            checked += 1
            last_id = event.id
        session.expunge_all()
        if len(batch) < _BATCH:
            return Verdict(checked, previous)


def _fault(event: AuditEvent, previous: str) -> str | None:
    if not event.hash:
        return "el evento no tiene huella (se insertó fuera del registro de auditoría)"
    if event.prev_hash != previous:
        return "no enlaza con el evento anterior (se eliminó, insertó o reordenó un evento)"
    if _digest_of(event, previous) != event.hash:
        return "su contenido no coincide con su huella (el evento fue modificado)"
    return None
