"""Possible duplicates: open cases of the same place and type whose words look alike.

The database narrows the candidates (same corregimiento and case type, still open, opened
within ``WINDOW``); Python then compares their text by trigram similarity (the measure of
PostgreSQL's pg_trgm, computed here so SQLite gives the same answer). An operator who
agrees links the two cases; the link is kept once per pair and audited on both cases.
"""

from __future__ import annotations

import string
import sys
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import bindparam, literal_column, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.access import permissions
from engine.access.accounts import Actor
from engine.audit import trail as audit
from engine.db.models import Case, CaseLink, UTCDateTime
from engine.db.statements import Statement
from engine.db.store import Store
from engine.errors import LinkError

WINDOW = timedelta(days=90)
THRESHOLD = 0.3  # pg_trgm's default similarity threshold
CANDIDATES = 200
# The trigrams a process keeps of the texts and words it compared last (``Kept``), whatever they hold.
TEXT_BYTES_KEPT = 12 * 2**20
WORD_BYTES_KEPT = 8 * 2**20
SHOWN = 5
KIND = "duplicado"
STOPWORDS = frozenset(
    {
        "de",
        "la",
        "el",
        "los",
        "las",
        "un",
        "una",
        "unos",
        "unas",
        "y",
        "o",
        "u",
        "en",
        "del",
        "al",
        "por",
        "para",
        "con",
        "sin",
        "que",
        "se",
        "su",
        "sus",
        "lo",
        "le",
        "les",
        "me",
        "mi",
        "mis",
        "es",
        "son",
        "esta",
        "este",
        "esto",
        "estan",
        "hay",
        "muy",
        "mas",
        "ya",
        "no",
        "si",
        "desde",
        "hace",
        "como",
        "cuando",
        "donde",
        "frente",
    }
)


@dataclass(frozen=True)
class Similar:
    case_id: int
    ticket: str
    subject: str
    status: str
    opened_at: datetime
    score: float


# Every byte but a lowercase letter or a digit becomes a space: the text's words are then what
# ``split`` gives. A case page reads up to ``CANDIDATES`` texts, and a regular expression finding
# the words took half of each text's comparison.
_SEPARATORS = bytes(b if chr(b) in string.ascii_lowercase + string.digits else 0x20 for b in range(256))


def _words(text: str) -> list[str]:
    """The words compared: lowercase, accents dropped, runs of letters and digits, stopwords left out."""
    plain = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").translate(_SEPARATORS)
    return [w for w in plain.decode().split() if w not in STOPWORDS]


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams: each word padded with two spaces before and one after."""
    return set().union(*map(_kept_word_trigrams, _words(text)))


_Found = TypeVar("_Found")


class Kept(Generic[_Found]):
    """What ``make`` gives for each of the strings asked last, kept up to ``budget`` bytes as ``size``
    counts them: the least recently asked go first, and one larger than the whole budget is not kept.

    A bound on bytes, not on entries, because the strings are the citizens' (a description runs to
    4,000 characters, a «word» of it may be a pasted code as long): a thousand entries of the largest
    kind would hold hundreds of megabytes. Shared by a process's threads: two asking for the same
    string at once both make it, and one is kept.
    """

    def __init__(self, make: Callable[[str], _Found], size: Callable[[str, _Found], int], budget: int):
        self._make, self._size, self._budget = make, size, budget
        self._held = 0  # the bytes counted for what is kept
        self._kept: OrderedDict[str, tuple[_Found, int]] = OrderedDict()  # least recently asked first
        self._lock = threading.Lock()

    def __call__(self, key: str) -> _Found:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found[0]
        made = self._make(key)
        size = self._size(key, made)  # counted once: a string's own size may grow (its UTF-8 form cached)
        with self._lock:
            if key not in self._kept and size <= self._budget:
                self._kept[key] = (made, size)
                self._held += size
                while self._held > self._budget:
                    self._held -= self._kept.popitem(last=False)[1][1]
        return made


def _size(key: str, found: Collection[str]) -> int:
    """The bytes a kept key holds: itself, its trigrams' collection, each trigram as if no other entry
    shared it, and its entry in the ordered dict."""
    return sys.getsizeof(key) + sys.getsizeof(found) + _TRIGRAM_SIZE * len(found) + _ENTRY_SIZE


_TRIGRAM_SIZE = 64  # a string of three ASCII characters: 52 bytes, in a 64-byte block of Python's allocator
_ENTRY_SIZE = 80  # an OrderedDict's entry and the (value, size) pair it holds, about


def _word_trigrams(word: str) -> frozenset[str]:
    padded = f"  {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


# A page compares its case with up to ``CANDIDATES`` others, and the pages of one place and type
# compare the same ones: finding every text's trigrams again for every page would take a fifth of
# an operator's case and task pages' CPU. A text's trigrams are kept as a tuple (a fifth to a tenth of
# a set's memory, compared as fast), about 2,000 texts of 150 characters; each word's, for the texts
# not kept yet, the office's texts sharing most of their words, about 6,000 words.
_kept_trigrams = Kept(lambda text: tuple(trigrams(text)), _size, TEXT_BYTES_KEPT)
_kept_word_trigrams = Kept(_word_trigrams, _size, WORD_BYTES_KEPT)


def similarity(a: str, b: str) -> float:
    """Shared trigrams over all trigrams of the two texts (0 to 1)."""
    return _overlap(trigrams(a), trigrams(b))


def _overlap(first: set[str] | frozenset[str], second: set[str] | tuple[str, ...]) -> float:
    """Shared over all, the union counted rather than built: a page compares up to ``CANDIDATES``
    texts, and building each union set would cost a fifth of the comparison's time. A tuple
    ``second`` holds each trigram once (``_kept_trigrams``)."""
    if not first or not second:
        return 0.0
    shared = len(first.intersection(second))
    return shared / (len(first) + len(second) - shared)


def _text(subject: str | None, descripcion: str | None) -> str:
    return f"{subject or ''} {descripcion or ''}"


# The candidates: only the columns compared and shown (a case row also carries its data, every answer of
# its forms; decoding that for each of 200 candidates was a third of the work), compiled once and run
# on the driver's cursor. The closed status is written out, not bound, so that the database sees the
# condition of the index of the open cases (migration 0024) and reads that index alone.
_CANDIDATES = Statement(
    select(Case.id, Case.ticket, Case.subject, Case.status, Case.opened_at, Case.description)
    .where(
        Case.id != bindparam("case_id"),
        Case.corregimiento == bindparam("corregimiento"),
        Case.case_type == bindparam("case_type"),
        Case.status != literal_column("'cerrado'"),
        Case.opened_at >= bindparam("since", type_=UTCDateTime),
        Case.opened_at <= bindparam("until", type_=UTCDateTime),
    )
    .order_by(Case.opened_at.desc())
    .limit(CANDIDATES)
)


def possible(session: Session, case: Case, linked_ids: Collection[int] | None = None) -> list[Similar]:
    """The open cases most like this one, not yet linked to it, best first; ``linked_ids``: the
    cases linked to it, when the caller has read them (``linked``)."""
    if not case.corregimiento or not case.case_type:
        return []
    linked = set(_linked_ids(session, case.id) if linked_ids is None else linked_ids)
    candidates = _CANDIDATES.all(
        session,
        {
            "case_id": case.id,
            "corregimiento": case.corregimiento,
            "case_type": case.case_type,
            "since": case.opened_at - WINDOW,
            "until": case.opened_at + WINDOW,
        },
    )
    mine = frozenset(_kept_trigrams(_text(case.subject, case.description)))
    alike = []
    for c in candidates:
        if c.id in linked:
            continue
        score = round(_overlap(mine, _kept_trigrams(_text(c.subject, c.description))), 2)
        if score >= THRESHOLD:
            alike.append(Similar(c.id, c.ticket, c.subject or "", c.status, c.opened_at, score))
    return sorted(alike, key=lambda s: -s.score)[:SHOWN]


_LINKS = Statement(
    select(CaseLink.case_id, CaseLink.other_case_id).where(
        or_(CaseLink.case_id == bindparam("case_id"), CaseLink.other_case_id == bindparam("case_id"))
    )
)


def links_read(case_id: int) -> tuple[Statement, dict]:
    """The read of a case's links (``case_link`` rows naming it), to send with others
    (``statements.together``); ``linked_ids`` makes the ids of the other cases of them."""
    return _LINKS, {"case_id": case_id}


def linked_ids(case_id: int, links: list) -> list[int]:
    """The other case of each of ``case_id``'s links (rows of ``links_read``)."""
    return [b if a == case_id else a for a, b in links]


def _linked_ids(session: Session, case_id: int) -> list[int]:
    return linked_ids(case_id, _LINKS.all(session, {"case_id": case_id}))


def linked(session: Session, ids: list[int]) -> list[Case]:
    """The cases linked to a case as duplicates, by their ids (``links_read``, ``linked_ids``)."""
    return list(session.scalars(select(Case).where(Case.id.in_(ids)).order_by(Case.opened_at))) if ids else []


def link(store: Store, case_id: int, other_id: int, actor: Actor, now: datetime, note: str = "") -> None:
    """Record that two cases are the same matter; audited on both. A case beyond the actor's dirección
    scope (``permissions.may_reach``) is as good as missing."""
    if case_id == other_id:
        raise LinkError("Un caso no puede vincularse consigo mismo.")
    low, high = sorted((case_id, other_id))
    try:
        with store.unit_of_work() as s:
            cases = {c.id: c for c in s.scalars(select(Case).where(Case.id.in_((low, high))))}
            if len(cases) != 2 or not all(permissions.may_reach(actor, c.direccion) for c in cases.values()):
                raise LinkError("Uno de los casos no existe.")
            s.add(
                CaseLink(
                    case_id=low,
                    other_case_id=high,
                    kind=KIND,
                    note=note.strip()[:2000],
                    created_by=actor.username,
                    created_at=now,
                )
            )
            s.flush()
            for this, that in ((low, high), (high, low)):
                audit.record(
                    s,
                    now,
                    actor.username,
                    "caso_vinculado",
                    case_id=this,
                    detail={"con": cases[that].ticket, "tipo": KIND, "nota": note.strip()[:2000]},
                )
    except IntegrityError:
        raise LinkError("Los casos ya están vinculados.") from None
