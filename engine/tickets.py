"""Ticket numbers: AC-2026-000123, one sequence per prefix and year, never reused."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.clock import PANAMA
from engine.models import TicketSequence


def next_ticket(session: Session, prefix: str, now: datetime) -> str:
    """Take the next number of the year (Panamá time) inside the caller's transaction."""
    year = now.astimezone(PANAMA).year
    bump = (update(TicketSequence)
            .where(TicketSequence.prefix == prefix, TicketSequence.year == year)
            .values(last=TicketSequence.last + 1)
            .returning(TicketSequence.last))
    number = session.execute(bump).scalar()
    if number is None:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(TicketSequence).values(prefix=prefix, year=year, last=0).on_conflict_do_nothing())
        number = session.execute(bump).scalar()
    return f"{prefix}-{year}-{number:06d}"


def last_issued(session: Session, prefix: str, year: int) -> int:
    return session.scalar(select(TicketSequence.last).where(TicketSequence.prefix == prefix, TicketSequence.year == year)) or 0
