"""Finding cases by ticket number, cédula, name or words of their text, fast at 100,000 cases.

A query shaped like a ticket or a cédula is answered by its column's b-tree index (exact, or
by prefix: «AC-2026-0001», «8-123»); a bare number by the ticket's number; anything else by
the full-text index of migration 0004 (SQLite FTS5; PostgreSQL tsvector documents + GIN),
every word as a prefix, case and accents folded («perez» finds «Pérez»).

Results come newest first, one page at a time by keyset (the case id): a common word walks
the index in id order and stops after a page; a rare one is looked up. The index is kept
outside the models; ``include_name`` hides it from the comparison of models and migrations.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import column, func, select, table, text
from sqlalchemy.orm import Session

from engine.access.accounts import Actor
from engine.access.permissions import direccion_scope
from engine.db.models import Case, TicketSequence
from engine.forms import cedula

if TYPE_CHECKING:
    from alembic.runtime.environment import NameFilterParentNames, NameFilterType

PAGE = 25
NEWEST, NEWEST_AT_MOST = 2_000, 20_000  # PostgreSQL: the newest documents several words are tested on first
MAX_WORDS = 8
_TICKET = re.compile(r"^([A-Za-z]{1,10})-(\d{4})(?:-(\d{1,6}))?$")
_TICKET_START = re.compile(r"^[A-Za-z]{1,10}-\d{0,4}$")
_CEDULA = re.compile(r"^(?:\d{1,2}(?:AV|PI)?|E|N|PE)-\d{1,4}(?:-\d{0,6})?$", re.IGNORECASE)
_NUMBER = re.compile(r"^\d{1,6}$")

SEARCH_OBJECTS = ("case_fts",)
_FTS = table("case_fts", column("rowid"))  # SQLite: the FTS5 table
_DOCUMENTS = table("case_fts", column("case_id"), column("document"))  # PostgreSQL: tsvector documents


def include_name(name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames) -> bool:
    """For Alembic's comparison: everything but the search index and its FTS5 shadow tables."""
    return not (name in SEARCH_OBJECTS or (name or "").startswith("case_fts_"))


@dataclass(frozen=True)
class Hit:
    case_id: int
    ticket: str
    status: str
    case_type: str | None
    channel: str | None
    citizen_name: str | None
    citizen_cedula: str | None
    subject: str | None
    direccion: str | None
    corregimiento: str | None
    opened_at: datetime
    due_at: datetime | None


@dataclass(frozen=True)
class Results:
    hits: list[Hit]
    next_before: int | None  # pass as ``before`` for the next (older) page; None on the last page


_COLUMNS = (
    Case.id,
    Case.ticket,
    Case.status,
    Case.case_type,
    Case.channel,
    Case.citizen_name,
    Case.citizen_cedula,
    Case.subject,
    Case.direccion,
    Case.corregimiento,
    Case.opened_at,
    Case.due_at,
)


def words(query: str) -> list[str]:
    """The query's words as the indexes keep them: lower case, no accents, letters and digits only.

    Words of one or two letters («de», «la», «y») are left out when others remain: as prefixes
    they would match a large part of the index and narrow nothing.
    """
    plain = unicodedata.normalize("NFKD", query).encode("ascii", "ignore").decode().lower()
    found = re.findall(r"[a-z0-9]+", plain)
    return ([w for w in found if len(w) > 2 or w.isdigit()] or found)[:MAX_WORDS]


def search(session: Session, actor: Actor, query: str, before: int | None = None, limit: int = PAGE) -> Results:
    """The cases matching ``query`` that ``actor`` may read, newest first, older than ``before``."""
    query = query.strip()
    scope = direccion_scope(actor)
    if not query or scope == "":
        return Results([], None)
    # The newest documents first, then as many more as their matches promise a page. A dirección's
    # cases are rarer among them, and the newest not yet remitted to any: none found is no promise.
    newest, rows = NEWEST, None
    while newest <= NEWEST_AT_MOST:
        rows = _rows(session, _statement(session, query, newest, before), before, scope, limit)
        if rows is None or len(rows) > limit or newest == NEWEST_AT_MOST or not (rows or scope):
            break
        newest = min(NEWEST_AT_MOST, 2 * newest * (limit + 1) // len(rows)) if rows else NEWEST_AT_MOST
    if rows is None or len(rows) <= limit:
        rows = _rows(session, _statement(session, query), before, scope, limit)
    if rows is None:
        return Results([], None)
    hits = [Hit(*row) for row in rows[:limit]]
    return Results(hits, hits[-1].case_id if len(rows) > limit else None)


def _rows(session: Session, found, before: int | None, scope: str | None, limit: int) -> list | None:
    """A page of the statement ``_statement`` found (and one row more, if there is one), or None if none."""
    if found is None:
        return None
    statement, id_column = found
    if before is not None:
        statement = statement.where(id_column < before)
    if scope is not None:
        statement = statement.where(Case.direccion == scope)
    return list(session.execute(statement.limit(limit + 1)).all())


def _statement(session: Session, query: str, newest: int = 0, before: int | None = None):
    """The select for ``query`` and the id column its keyset walks (the FTS rowid, so FTS5 seeks).

    ``newest``: on PostgreSQL, for several words, the select among that many of the newest documents
    older than ``before`` alone, tested one by one; None for any other query.
    """
    found = _by_column(query)
    if found is not None:
        return None if newest else found
    postgres = session.get_bind().dialect.name == "postgresql"
    terms = words(query)
    if not terms or (newest and not (postgres and len(terms) > 1)):
        return None
    number = f"{int(query):06d}" if _NUMBER.match(query) else None  # a ticket's number, as tickets write it
    if postgres and number:
        # The tickets of that number of every prefix and year issued, by the ticket's index: the
        # documents' GIN index knows a number only as a word of the text, and the planner, unable
        # to tell a rare one, walked every document at a million cases.
        issued = select(TicketSequence.prefix, TicketSequence.year).where(TicketSequence.last >= int(query))
        tickets = [f"{prefix}-{year}-{number}" for prefix, year in session.execute(issued)]
        return select(*_COLUMNS).where(Case.ticket.in_(tickets)).order_by(Case.id.desc()), Case.id
    if postgres:
        # The documents are a stored column with statistics, so for one word the planner knows a
        # common one (walk the documents backwards by id, testing each) from a rare one (the GIN
        # index). For several it multiplies their frequencies and may walk 100,000 documents to
        # find nothing; the GIN index intersects them at once, so the matches come from it first. But
        # common words together («fuga de agua») match tens of thousands of documents, all read from
        # the table to be sorted: so the newest ``NEWEST`` documents are tested first (``search``), then,
        # if their matches were too few for a page but promise one among up to ``NEWEST_AT_MOST``, that
        # many; the GIN index is asked when they hold less than a page.
        tsquery = " & ".join(f"{w}:*" for w in terms)
        matching = select(_DOCUMENTS.c.case_id).where(
            text("case_fts.document @@ to_tsquery('simple', :tsquery)").bindparams(tsquery=tsquery)
        )
        if newest:
            older = [] if before is None else [_DOCUMENTS.c.case_id < before]
            oldest = (
                select(_DOCUMENTS.c.case_id)
                .where(*older)
                .order_by(_DOCUMENTS.c.case_id.desc())
                .offset(newest - 1)
                .limit(1)
                .scalar_subquery()
            )
            matching = matching.where(_DOCUMENTS.c.case_id >= func.coalesce(oldest, 0))
        matches = (
            matching.cte("matches").prefix_with("MATERIALIZED")
            if len(terms) > 1 and not newest
            else matching.subquery("matches")
        )
        statement = (
            select(*_COLUMNS)
            .select_from(matches)
            .join(Case, Case.id == matches.c.case_id)
            .order_by(matches.c.case_id.desc())
        )
        return statement, matches.c.case_id
    match = f'ticket : "{number}"' if number else " ".join(f'"{w}"*' for w in terms)
    statement = (
        select(*_COLUMNS)
        .select_from(_FTS)
        .join(Case, Case.id == _FTS.c.rowid)
        .where(text("case_fts MATCH :match").bindparams(match=match))
        .order_by(_FTS.c.rowid.desc())
    )
    return statement, _FTS.c.rowid


def _by_column(query: str):
    """The select for a ticket, a cédula or the beginning of either, by its column's index; else None."""
    base = select(*_COLUMNS).order_by(Case.id.desc())
    ticket = _TICKET.match(query)
    if ticket and ticket.group(3):
        prefix, year, number = ticket.groups()
        return base.where(Case.ticket == f"{prefix.upper()}-{year}-{int(number):06d}"), Case.id
    written = cedula.normalized(query)
    if cedula.valid(written):  # a whole cédula however it was typed («8 123 4567», «8–123–4567»)
        return base.where(Case.citizen_cedula == written), Case.id
    if _CEDULA.match(query):  # before a ticket's beginning: «PE-12» is a cédula, not a ticket prefix
        return base.where(*_starts_with(Case.citizen_cedula, query.upper())), Case.id
    if ticket or _TICKET_START.match(query):
        return base.where(*_starts_with(Case.ticket, query.upper())), Case.id
    return None


def _starts_with(col, prefix: str):
    """``col`` starts with ``prefix``, written as a range so a plain b-tree index answers it."""
    return col >= prefix, col < prefix[:-1] + chr(ord(prefix[-1]) + 1)
