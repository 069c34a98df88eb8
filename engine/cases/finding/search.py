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

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Integer, String, any_, bindparam, column, func, select, table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from engine.access.accounts import Actor
from engine.access.permissions import direccion_scope
from engine.db.models import Case, TicketSequence
from engine.db.statements import Statement
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
# What PostgreSQL's text parser reads as a number in scientific notation and a word after it («4e7b9»).
_SCIENTIFIC_THEN_WORD = re.compile(r"^(\d+e\d+)([a-z].*)$")

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


_COLUMN_KINDS = {
    "ticket": [Case.ticket == bindparam("ticket")],
    "cedula": [Case.citizen_cedula == bindparam("cedula")],
    "ticket_from": [Case.ticket >= bindparam("low"), Case.ticket < bindparam("high")],
    "cedula_from": [Case.citizen_cedula >= bindparam("low"), Case.citizen_cedula < bindparam("high")],
    "tickets": [Case.ticket == any_(bindparam("tickets", type_=postgresql.ARRAY(String)))],
}
_ISSUED = Statement(
    select(TicketSequence.prefix, TicketSequence.year).where(TicketSequence.last >= bindparam("number"))
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
    found = _found(session, query) if query and scope != "" else None
    if found is None:
        return Results([], None)
    kind, values = found
    if kind == "several_words":
        # The newest documents first, then as many more as their matches promise a page. A dirección's
        # cases are rarer among them, and the newest not yet remitted to any: none found is no promise.
        newest = NEWEST
        while True:
            rows = _rows(session, "newest_words", {**values, "newest": newest}, before, scope, limit)
            if len(rows) > limit or newest == NEWEST_AT_MOST or not (rows or scope):
                break
            newest = min(NEWEST_AT_MOST, 2 * newest * (limit + 1) // len(rows)) if rows else NEWEST_AT_MOST
        if len(rows) <= limit:
            rows = _rows(session, kind, values, before, scope, limit)
    else:
        rows = _rows(session, kind, values, before, scope, limit)
    hits = [Hit(*row) for row in rows[:limit]]
    return Results(hits, hits[-1].case_id if len(rows) > limit else None)


def _rows(session: Session, kind: str, values: dict, before: int | None, scope: str | None, limit: int) -> list:
    """A page of the cases ``kind`` finds with ``values`` (and one row more, if there is one)."""
    statement = _select(kind, before is not None, scope is not None)
    return statement.all(session, {**values, "before": before, "scope": scope, "limit": limit + 1})


def _found(session: Session, query: str) -> tuple[str, dict] | None:
    """How ``query`` is looked for: the kind of select (``_select``) and its values; None if it finds nothing."""
    found = _by_column(query)
    if found is not None:
        return found
    postgres = session.get_bind().dialect.name == "postgresql"
    terms = words(query)
    if not terms:
        return None
    number = f"{int(query):06d}" if _NUMBER.match(query) else None  # a ticket's number, as tickets write it
    if postgres and number:
        # The tickets of that number of every prefix and year issued, by the ticket's index: the
        # documents' GIN index knows a number only as a word of the text, and the planner, unable
        # to tell a rare one, walked every document at a million cases.
        issued = _ISSUED.all(session, {"number": int(query)})
        return "tickets", {"tickets": [f"{prefix}-{year}-{number}" for prefix, year in issued]}
    if postgres:
        tsquery = " & ".join(_lexemes(w) for w in terms)
        return ("several_words" if len(terms) > 1 else "word"), {"tsquery": tsquery}
    match = f'ticket : "{number}"' if number else " ".join(f'"{w}"*' for w in terms)
    return "fts", {"match": match}


def _lexemes(word: str) -> str:
    """``word`` as a prefix in tsquery syntax, split where PostgreSQL's parser splits it in the documents
    (``to_tsvector``): «4e7b9» is «4e7» and «b9», both in the document (which keeps no positions)."""
    split = _SCIENTIFIC_THEN_WORD.match(word)
    return f"{split[1]}:* & {split[2]}:*" if split else f"{word}:*"


def _by_column(query: str) -> tuple[str, dict] | None:
    """A ticket, a cédula or the beginning of either, found by its column's index; else None."""
    ticket = _TICKET.match(query)
    if ticket and ticket.group(3):
        prefix, year, number = ticket.groups()
        return "ticket", {"ticket": f"{prefix.upper()}-{year}-{int(number):06d}"}
    written = cedula.normalized(query)
    if cedula.valid(written):  # a whole cédula however it was typed («8 123 4567», «8–123–4567»)
        return "cedula", {"cedula": written}
    if _CEDULA.match(query):  # before a ticket's beginning: «PE-12» is a cédula, not a ticket prefix
        return "cedula_from", _starts_with(query.upper())
    if ticket or _TICKET_START.match(query):
        return "ticket_from", _starts_with(query.upper())
    return None


def _starts_with(prefix: str) -> dict:
    """The range of values that start with ``prefix``, so that a plain b-tree index answers it."""
    return {"low": prefix, "high": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


@functools.cache
def _select(kind: str, before: bool, scope: bool) -> Statement:
    """The select of ``kind`` (``_found``), built once: with a keyset bound ``before`` and a dirección's
    ``scope`` or without. Its parameters: the kind's values, ``before``, ``scope`` and ``limit``.

    On PostgreSQL the documents are a stored column with statistics, so for one word the planner
    knows a common one (walk the documents backwards by id, testing each) from a rare one (the GIN
    index). For several it multiplies their frequencies and may walk 100,000 documents to find
    nothing; the GIN index intersects them at once, so the matches come from it first
    (``several_words``, materialized). But common words together («fuga de agua») match tens of
    thousands of documents, all read from the table to be sorted: so the newest ``NEWEST``
    documents are tested first (``newest_words``: the greatest ``newest`` ids, or the ``newest`` just
    below ``before``), then, if their matches were too few for a page but promise one among up to
    ``NEWEST_AT_MOST``, that many; the GIN index is asked when they hold less than a page.
    With no dirección to keep to, the page is taken from the documents before the cases are
    joined, so only its rows are looked up (a join of every match would walk the cases' index
    down to the page's last).
    """
    if kind in _COLUMN_KINDS:
        return Statement(_paged(select(*_COLUMNS).where(*_COLUMN_KINDS[kind]), Case.id, before, scope))
    if kind == "fts":  # SQLite: FTS5 seeks by its rowid
        indexed = select(*_COLUMNS).select_from(_FTS).join(Case, Case.id == _FTS.c.rowid)
        return Statement(_paged(indexed.where(text("case_fts MATCH :match")), _FTS.c.rowid, before, scope))
    document = _DOCUMENTS.c.case_id
    # The words as a tsquery parameter, read by the server once per statement. In the plan PostgreSQL
    # makes for any value once psycopg has prepared a statement, to_tsquery() of a text parameter
    # would be parsed again for every document tested.
    matching = select(document).where(text("case_fts.document @@ :tsquery"))
    if before:
        matching = matching.where(document < bindparam("before"))
    if kind == "newest_words":
        newest = bindparam("newest", type_=Integer)
        if before:
            matching = matching.where(document >= bindparam("before", type_=Integer) - newest)
        else:
            matching = matching.where(document > select(func.max(document)).scalar_subquery() - newest)
    matches = (
        matching.cte("matches").prefix_with("MATERIALIZED") if kind == "several_words" else matching.subquery("matches")
    )
    if not scope:
        newest_first = select(matches.c.case_id).order_by(matches.c.case_id.desc())
        matches = newest_first.limit(bindparam("limit")).subquery("page")
    joined = select(*_COLUMNS).select_from(matches).join(Case, Case.id == matches.c.case_id)
    return Statement(_paged(joined, matches.c.case_id, False, scope))


def _paged(statement, id_column, before: bool, scope: bool):
    """``statement`` newest first, a page of ``limit`` rows older than ``before``, of the ``scope`` alone."""
    if before:
        statement = statement.where(id_column < bindparam("before"))
    if scope:
        statement = statement.where(Case.direccion == bindparam("scope"))
    return statement.order_by(id_column.desc()).limit(bindparam("limit"))
