"""Possible duplicates: open cases of the same place and type whose words look alike.

The database narrows the candidates (same corregimiento and case type, still open, opened
within ``WINDOW``); Python then compares their text by trigram similarity (the measure of
PostgreSQL's pg_trgm, computed here so SQLite gives the same answer). An operator who
agrees links the two cases; the link is kept once per pair and audited on both cases.
"""

from __future__ import annotations

import functools
import string
import sys
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

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
# What a process keeps of the texts it compared last (``KeptTrigrams``): about 2,000 texts of the
# office's usual length, ten pages' candidates; 12 MB at most, whatever the texts hold.
BYTES_KEPT = 12 * 2**20
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
    return set().union(*map(_word_trigrams, _words(text)))


class KeptTrigrams:
    """The trigrams of the texts compared last, kept for the next page that compares them.

    A page compares its case with up to ``CANDIDATES`` others, and the pages of one place and type
    compare the same ones: finding every text's trigrams again was a fifth of a case page's CPU. The
    bound is on bytes, not texts, since a text may run to thousands of characters: each is counted
    with its tuple and its trigrams, as if none were shared with the words' cache (``_size``). A
    tuple holds them in a seventh of a set's memory and is compared as fast. Shared by a process's
    threads: two missing the same text at once both find its trigrams, and one is kept.
    """

    def __init__(self, budget: int):
        self._budget = budget
        self._held = 0  # bytes counted for what is kept
        self._texts: OrderedDict[str, tuple[str, ...]] = OrderedDict()  # least recently compared first
        self._lock = threading.Lock()

    def __call__(self, text: str) -> tuple[str, ...]:
        with self._lock:
            found = self._texts.get(text)
            if found is not None:
                self._texts.move_to_end(text)
                return found
        found = tuple(trigrams(text))
        size = _size(text, found)
        with self._lock:
            if text not in self._texts and size <= self._budget:
                self._texts[text] = found
                self._held += size
                while self._held > self._budget:
                    self._held -= _size(*self._texts.popitem(last=False))
        return found

    def clear(self) -> None:
        with self._lock:
            self._texts.clear()
            self._held = 0


def _size(text: str, found: tuple[str, ...]) -> int:
    """The most a kept text holds: itself, its tuple, and each trigram (a string of three characters)."""
    return sys.getsizeof(text) + sys.getsizeof(found) + _TRIGRAM_SIZE * len(found)


_TRIGRAM_SIZE = sys.getsizeof("abc")
_kept_trigrams = KeptTrigrams(BYTES_KEPT)


@functools.lru_cache(maxsize=50_000)
def _word_trigrams(word: str) -> frozenset[str]:
    """A word's trigrams, made once per process: a case page compares up to ``CANDIDATES`` texts,
    and the office's texts share most of their words, so this was most of the page's time."""
    padded = f"  {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def similarity(a: str, b: str) -> float:
    """Shared trigrams over all trigrams of the two texts (0 to 1)."""
    return _overlap(trigrams(a), trigrams(b))


def _overlap(first: set[str] | frozenset[str], second: set[str] | tuple[str, ...]) -> float:
    """Shared over all, the union counted rather than built: a page compares up to ``CANDIDATES``
    texts, and building each union set would cost a fifth of the comparison's time. A tuple
    ``second`` holds each trigram once (``KeptTrigrams``)."""
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
