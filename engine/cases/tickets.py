"""Ticket numbers: AC-2026-000123, one sequence per prefix and year, never reused."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.clock import PANAMA
from engine.db.models import TicketSequence
from engine.db.statements import Statement

_SEQUENCES = cast(Table, TicketSequence.__table__)
# Built once: every new case takes a number (and the statement is the same each time).
_BUMP = Statement(
    update(_SEQUENCES)
    .where(_SEQUENCES.c.prefix == bindparam("seq_prefix"), _SEQUENCES.c.year == bindparam("seq_year"))
    .values(last=_SEQUENCES.c.last + 1)
    .returning(_SEQUENCES.c.last)
)


def next_ticket(session: Session, prefix: str, now: datetime) -> str:
    """Take the next number of the year (Panamá time) inside the caller's transaction."""
    year = now.astimezone(PANAMA).year
    key = {"seq_prefix": prefix, "seq_year": year}
    number = _BUMP.scalar(session, key)
    if number is None:  # the year's first ticket: its sequence is made (once, whoever else is at it)
        connection = session.connection()
        insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(insert(_SEQUENCES).values(prefix=prefix, year=year, last=0).on_conflict_do_nothing())
        number = _BUMP.scalar(session, key)
    return f"{prefix}-{year}-{number:06d}"


def last_issued(session: Session, prefix: str, year: int) -> int:
    return (
        session.scalar(select(TicketSequence.last).where(TicketSequence.prefix == prefix, TicketSequence.year == year))
        or 0
    )
