"""Named selectors: which runs a scheduled procedure starts, and with what in their record.

A timer start event names its selector in the property ``selector``. When the calendar says
so, the scheduler asks the selector and starts one run per record it returns (the record's
values go into the run, e.g. the ``direccion`` its enlace works for); an empty answer starts
nothing. A start event without a selector starts one run with an empty record. The rules
live here, in code, because they query the cases; the diagram names which one applies.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import options
from engine.db.models import Case

# Cases a dirección still owes a follow-up on: remitted to it and not closed.
FOLLOW_UP_STATUSES = ("en seguimiento", "escalado a la unidad")


def direcciones_con_casos_abiertos(session: Session) -> list[dict]:
    """One run per dirección with cases remitted to it that are en seguimiento or escalado a la unidad."""
    rows = session.scalars(
        select(Case.direccion)
        .where(Case.direccion.is_not(None), Case.status.in_(FOLLOW_UP_STATUSES))
        .distinct()
        .order_by(Case.direccion)
    )
    return [{"direccion": direccion} for direccion in rows]


def sugerencias_pendientes(session: Session) -> list[dict]:
    """One meeting if any Defensa del Usuario sugerencia waits for one; its agenda lists them (ticket · asunto),
    as the acta's form lists them to tick (``engine.cases.options``)."""
    agenda = [options.label(ticket, subject) for ticket, subject in options.waiting_sugerencias(session)]
    return [{"agenda": agenda}] if agenda else []


SELECTORS: dict[str, Callable[[Session], list[dict]]] = {
    "direcciones_con_casos_abiertos": direcciones_con_casos_abiertos,
    "sugerencias_pendientes": sugerencias_pendientes,
}


def runs(session: Session, selector: str | None) -> list[dict]:
    """The records of the runs to start now: one per item the selector gives, or one empty record."""
    return SELECTORS[selector](session) if selector else [{}]
