"""The archive of hojas de trámite: one folder per dirección, in chronological order, by month.

The archive is the stored PDFs themselves (``Document`` rows of kind ``hoja_de_tramite``),
so what is filed is exactly what was sent. Months are calendar months in Panamá time. A
hoja is filed from the moment it is remitted; its PDF may still be waiting to be rendered
(``engine.paperwork.rendering``), and is rendered when the month is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine import clock
from engine.clock import PANAMA
from engine.db.models import Case, Document
from engine.db.statements import Statement
from engine.db.store import Store
from engine.paperwork import documents, rendering

HOJA = "hoja_de_tramite"


@dataclass(frozen=True)
class Entry:
    document_id: int
    ticket: str
    case_id: int
    subject: str
    filed_at: datetime
    filename: str
    size: int | None  # None until rendered


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The first moment of the month and of the next one, Panamá time, as UTC."""
    if not 1 <= month <= 12:
        raise ValueError("mes fuera de rango")
    start = datetime(year, month, 1, tzinfo=PANAMA)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=PANAMA)
    return start.astimezone(UTC), end.astimezone(UTC)


def _in_month(direccion: str, year: int, month: int):
    start, end = month_bounds(year, month)
    return (
        Document.kind == HOJA,
        Document.direccion == direccion,
        Document.created_at >= start,
        Document.created_at < end,
    )


def hojas(session: Session, direccion: str, year: int, month: int) -> list[Entry]:
    """The hojas de trámite remitted to ``direccion`` in that month, oldest first."""
    rows = session.execute(
        select(Document.id, Case.ticket, Case.id, Case.subject, Document.created_at, Document.filename, Document.size)
        .join(Case, Case.id == Document.case_id)
        .where(*_in_month(direccion, year, month))
        .order_by(Document.created_at, Document.id)
    )
    return [
        Entry(doc_id, ticket, case_id, subject or "", at, filename, size)
        for doc_id, ticket, case_id, subject, at, filename, size in rows
    ]


def month_pdf(
    store: Store, direccion: str, year: int, month: int, now: Callable[[], datetime] = clock.now
) -> bytes | None:
    """Every hoja of the month in one PDF, in the archive's order; None if there is none.

    Hojas not rendered yet are rendered first (``NotRendered`` if one cannot be).
    """
    with store.read() as s:
        ids = list(
            s.scalars(
                select(Document.id).where(*_in_month(direccion, year, month)).order_by(Document.created_at, Document.id)
            )
        )
    return documents.merge_pdfs(rendering.contents(store, ids, now)) if ids else None


_OF_CASE = Statement(
    select(Document.id, Document.kind, Document.filename, Document.size, Document.created_at)
    .where(Document.case_id == bindparam("case_id"))
    .order_by(Document.created_at, Document.id)
)


def of_case_read(case_id: int) -> tuple[Statement, dict]:
    """The read of the documents made for a case (its hojas, a run's consolidados), oldest first, without
    their bytes or facts, to send with others (``statements.together``)."""
    return _OF_CASE, {"case_id": case_id}
