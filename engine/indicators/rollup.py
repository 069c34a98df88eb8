"""The roll-ups behind the indicators, kept in the transaction that moves a case.

Counting the cases on every request cannot answer in 300 ms at a million cases, so each move
of a case (``engine.bpm.runtime`` calls ``recount`` where it writes the case row) turns into a
few increments: ``indicator_case`` keeps what the case last counted for, and the difference
between that and what it counts for now goes to

- ``indicator_count``: per day, received (opening day), answered on time / late and the
  histogram of days taken (closing day);
- ``indicator_open``: the cases open now per opening day and due day, +1 / −1.

Each fact is counted once per *grain* (``GRAINS``): rows that keep only the dirección, the
dirección and one other dimension, or all of them. A page with no filter, or one filter, reads
a few thousand small rows; several filters at once read the all-dimensions rows (slower, as
many as the cases of the period at worst, still no scan of ``cases``). ``rebuild`` recomputes
everything from ``cases`` (migration 0016, ``atiende indicadores reconstruir``); ``check``
compares the roll-ups with a scan.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    Integer,
    String,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    inspect,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from engine.clock import PANAMA
from engine.db.models import ANSWER_DAYS, Case, IndicatorCase, IndicatorCount, IndicatorOpen, ProcedureVersion
from engine.db.statements import Statement, Tally

CASES = cast(Table, IndicatorCase.__table__)
COUNTS = cast(Table, IndicatorCount.__table__)
OPEN = cast(Table, IndicatorOpen.__table__)
NO_TERM = date(9999, 12, 31)
DIMENSIONS = ("case_type", "channel", "corregimiento", "process_id")
# grain → the dimensions its rows keep besides the dirección (every grain keeps the dirección).
GRAINS: dict[str, tuple[str, ...]] = {
    "d": (),
    "t": ("case_type",),
    "c": ("channel",),
    "r": ("corregimiento",),
    "p": ("process_id",),
    "x": DIMENSIONS,
}
HISTOGRAM = [f"a{d}" for d in range(ANSWER_DAYS + 1)] + ["a_mas"]
COUNT_MEASURES = ("received", "on_time", "late", *HISTOGRAM)
_COUNT_KEY = ("grain", "day", "direccion", *DIMENSIONS)
_OPEN_KEY = ("grain", "opened_day", "due_day", "direccion", *DIMENSIONS)
_COUNTED = Tally(COUNTS, _COUNT_KEY, COUNT_MEASURES, others=("month",))
_OPENED = Tally(OPEN, _OPEN_KEY, ("n",), others=("month",))


def grain_for(filtered: Iterable[str]) -> str:
    """The grain whose rows answer a query filtered by these dimensions (the dirección aside)."""
    dims = tuple(d for d in DIMENSIONS if d in set(filtered))
    if not dims:
        return "d"
    if len(dims) == 1:
        return next(g for g, kept in GRAINS.items() if kept == dims)
    return "x"


def panama_day(moment: datetime) -> date:
    return moment.astimezone(PANAMA).date()


def month_of(day: date) -> date:
    return day.replace(day=1)


@dataclass(frozen=True)
class Facts:
    """What one case counts for: its dimensions and its days (Panamá), and whether it is open."""

    process_id: str
    direccion: str
    case_type: str
    channel: str
    corregimiento: str
    opened_day: date
    due_day: date | None
    closed_day: date | None
    outcome: str  # "open", "on_time", "late"

    def dims(self) -> dict[str, str]:
        return {d: getattr(self, d) for d in ("direccion", *DIMENSIONS)}


def facts(
    process_id: str,
    direccion: str | None,
    case_type: str | None,
    channel: str | None,
    corregimiento: str | None,
    status: str,
    opened_at: datetime,
    due_at: datetime | None,
    closed_at: datetime | None,
) -> Facts:
    """A case's facts. It is answered when closed (status «cerrado» with its closing moment);
    on time when its closing day is not after its due day (no due day: on time)."""
    opened = panama_day(opened_at)
    due = panama_day(due_at) if due_at is not None else None
    closed = panama_day(closed_at) if status == "cerrado" and closed_at is not None else None
    outcome = "open" if closed is None else "on_time" if due is None or closed <= due else "late"
    return Facts(
        process_id, direccion or "", case_type or "", channel or "", corregimiento or "", opened, due, closed, outcome
    )


def answer_days(f: Facts) -> int:
    """Calendar days from the opening day to the closing day (a case answered the day it came: 0)."""
    assert f.closed_day is not None
    return max(0, (f.closed_day - f.opened_day).days)


def _grain_dims(f: Facts, grain: str) -> tuple[str, ...]:
    kept = GRAINS[grain]
    return (f.direccion, *(getattr(f, d) if d in kept else "" for d in DIMENSIONS))


def contributions(f: Facts) -> Iterator[tuple[str, tuple, str]]:
    """(table, key, measure) for every +1 the case puts in the roll-ups."""
    for grain in GRAINS:
        dims = _grain_dims(f, grain)
        yield "count", (grain, f.opened_day, *dims), "received"
        if f.closed_day is not None:
            key = (grain, f.closed_day, *dims)
            yield "count", key, f.outcome
            days = answer_days(f)
            yield "count", key, f"a{days}" if days <= ANSWER_DAYS else "a_mas"
        else:
            yield "open", (grain, f.opened_day, f.due_day or NO_TERM, *dims), "n"


def _deltas(before: Facts | None, after: Facts | None) -> dict[tuple[str, tuple], Counter]:
    deltas: dict[tuple[str, tuple], Counter] = defaultdict(Counter)
    for sign, f in ((-1, before), (1, after)):
        if f is not None:
            for table, key, measure in contributions(f):
                deltas[table, key][measure] += sign
    return {k: Counter({m: v for m, v in c.items() if v}) for k, c in deltas.items() if any(c.values())}


def _apply(session: Session, deltas: dict[tuple[str, tuple], Counter]) -> None:
    counts, opens = [], []
    # A fixed order, so that two transactions never take the same rows' locks in opposite orders.
    for (table, key), changes in sorted(deltas.items(), key=lambda item: (item[0][0], repr(item[0][1]))):
        if table == "count":
            row = dict(zip(_COUNT_KEY, key, strict=True))
            row["month"] = month_of(row["day"])
            row.update({m: changes.get(m, 0) for m in COUNT_MEASURES})
            counts.append(row)
        else:
            row = dict(zip(_OPEN_KEY, key, strict=True))
            row["month"] = month_of(row["opened_day"])
            row["n"] = changes["n"]
            opens.append(row)
    _COUNTED.add(session, counts)
    _OPENED.add(session, opens)


_FACT_FIELDS = tuple(field.name for field in fields(Facts))


def _case_values(f: Facts) -> dict:
    """The ``indicator_case`` columns of a case's facts."""
    return {
        **{name: getattr(f, name) for name in _FACT_FIELDS},
        "opened_month": month_of(f.opened_day),
        "closed_month": month_of(f.closed_day) if f.closed_day else None,
        "answer_days": answer_days(f) if f.closed_day else None,
    }


_STORED = Statement(select(*(CASES.c[name] for name in _FACT_FIELDS)).where(CASES.c.case_id == bindparam("case")))
_CASE_COLUMNS = (*_FACT_FIELDS, "opened_month", "closed_month", "answer_days")
_INSERT_CASE = Statement(insert(CASES))
_UPDATE_CASE = Statement(CASES.update().where(CASES.c.case_id == bindparam("case")))


def _stored(session: Session, case_id: int) -> Facts | None:
    row = _STORED.first(session, {"case": case_id})
    return Facts(*row) if row is not None else None


def _store(session: Session, case_id: int, before: Facts | None, after: Facts) -> None:
    values = _case_values(after)
    if before is None:
        _INSERT_CASE.execute(session, {"case_id": case_id, **values}, column_keys=("case_id", *_CASE_COLUMNS))
    else:
        _UPDATE_CASE.execute(session, {"case": case_id, **values}, column_keys=_CASE_COLUMNS)


# The columns of ``cases`` that a case's facts are made of.
_FACT_COLUMNS = frozenset(
    ("direccion", "case_type", "channel", "corregimiento", "status", "opened_at", "due_at", "closed_at")
)


def recount(session: Session, case: Case, process_id: str) -> None:
    """Bring the roll-ups in line with ``case`` as it is now: called in the transaction that moves it.

    A step that changes none of the case's counted facts (most steps) costs one read by key, or
    nothing when the case row was read for the step (a detached ``Case``, ``engine.db.case_rows``)
    and none of its counted columns was set since: every step that moved the case before this
    one counted it then. Its first step (``revision`` 1) has nothing stored yet: nothing is read.
    """
    state = inspect(case)
    if state.detached and case.revision > 1 and state.unmodified >= _FACT_COLUMNS:
        return
    after = facts(
        process_id,
        case.direccion,
        case.case_type,
        case.channel,
        case.corregimiento,
        case.status,
        case.opened_at,
        case.due_at,
        case.closed_at,
    )
    before = _stored(session, case.id) if case.revision > 1 else None
    if before == after:
        return
    _apply(session, _deltas(before, after))
    _store(session, case.id, before, after)


# -- rebuilding and checking ----------------------------------------------------------------
_SCAN_BATCH = 5000


def scan(bind: Any) -> Iterator[tuple[int, Facts]]:
    """Every case's facts, read from ``cases`` in id order, in batches (a Session or a Connection)."""
    cases = cast(Table, Case.__table__)
    versions = cast(Table, ProcedureVersion.__table__)
    query = select(
        cases.c.id,
        versions.c.process_id,
        cases.c.direccion,
        cases.c.case_type,
        cases.c.channel,
        cases.c.corregimiento,
        cases.c.status,
        cases.c.opened_at,
        cases.c.due_at,
        cases.c.closed_at,
    ).join_from(cases, versions, cases.c.procedure_version_id == versions.c.id)
    after = 0
    while True:
        rows = bind.execute(query.where(cases.c.id > after).order_by(cases.c.id).limit(_SCAN_BATCH)).all()
        if not rows:
            return
        for row in rows:
            yield row.id, facts(*row[1:])
        after = rows[-1].id


def _expected(bind: Any) -> tuple[dict[int, Facts], dict[tuple[str, tuple], Counter]]:
    per_case: dict[int, Facts] = {}
    totals: dict[tuple[str, tuple], Counter] = defaultdict(Counter)
    for case_id, f in scan(bind):
        per_case[case_id] = f
        for table, key, measure in contributions(f):
            totals[table, key][measure] += 1
    return per_case, totals


def rebuild(bind: Any) -> int:
    """Recompute every roll-up from ``cases`` (a Session or a Connection, in its transaction);
    returns the number of cases counted.

    Each case's ``indicator_case`` row is written as the scan goes; the counts are then grouped
    from those rows in SQL, one statement per grain, so that a million cases need no memory here.
    """
    for table in (COUNTS, OPEN, CASES):
        bind.execute(delete(table))
    batch: list[dict] = []
    counted = 0
    for case_id, f in scan(bind):
        counted += 1
        batch.append({"case_id": case_id, **_case_values(f)})
        if len(batch) == _SCAN_BATCH:
            _insert_batches(bind, CASES, batch)
            batch = []
    _insert_batches(bind, CASES, batch)
    for grain in GRAINS:
        bind.execute(_counts_of(grain))
        bind.execute(_open_of(grain))
    return counted


def _dimension_columns(grain: str) -> list[Any]:
    kept = GRAINS[grain]
    return [
        CASES.c.direccion,
        *(CASES.c[d] if d in kept else literal_column("''", String).label(d) for d in DIMENSIONS),
    ]


def _zero(name: str) -> Any:
    return literal_column("0", Integer).label(name)


def _counts_of(grain: str) -> Any:
    """INSERT … SELECT of ``grain``'s indicator_count rows from indicator_case."""
    c = CASES.c
    received = select(
        c.opened_day.label("day"),
        c.opened_month.label("month"),
        *_dimension_columns(grain),
        literal_column("1", Integer).label("received"),
        *(_zero(name) for name in COUNT_MEASURES[1:]),
    )
    bars = [case((c.answer_days == days, 1), else_=0).label(f"a{days}") for days in range(ANSWER_DAYS + 1)]
    answered = select(
        c.closed_day.label("day"),
        c.closed_month.label("month"),
        *_dimension_columns(grain),
        _zero("received"),
        case((c.outcome == "on_time", 1), else_=0).label("on_time"),
        case((c.outcome == "late", 1), else_=0).label("late"),
        *bars,
        case((c.answer_days > ANSWER_DAYS, 1), else_=0).label("a_mas"),
    ).where(c.closed_day.is_not(None))
    u = union_all(received, answered).subquery()
    keys = [u.c.day, u.c.month, u.c.direccion, *(u.c[d] for d in DIMENSIONS)]
    grouped = select(
        literal_column(f"'{grain}'", String).label("grain"), *keys, *(func.sum(u.c[m]) for m in COUNT_MEASURES)
    ).group_by(*keys)
    names = ["grain", "day", "month", "direccion", *DIMENSIONS, *COUNT_MEASURES]
    return insert(COUNTS).from_select(names, grouped)


def _open_of(grain: str) -> Any:
    """INSERT … SELECT of ``grain``'s indicator_open rows from the open cases of indicator_case."""
    c = CASES.c
    sub = (
        select(
            c.opened_day,
            c.opened_month.label("month"),
            func.coalesce(c.due_day, NO_TERM).label("due_day"),
            *_dimension_columns(grain),
        )
        .where(c.outcome == "open")
        .subquery()
    )
    keys = [sub.c.opened_day, sub.c.month, sub.c.due_day, sub.c.direccion, *(sub.c[d] for d in DIMENSIONS)]
    grouped = select(literal_column(f"'{grain}'", String).label("grain"), *keys, func.count()).group_by(*keys)
    names = ["grain", "opened_day", "month", "due_day", "direccion", *DIMENSIONS, "n"]
    return insert(OPEN).from_select(names, grouped)


def _insert_batches(bind: Any, table: Table, rows: list[dict]) -> None:
    for start in range(0, len(rows), _SCAN_BATCH):
        bind.execute(insert(table), rows[start : start + _SCAN_BATCH])


def check(bind: Any) -> list[str]:
    """The differences between the roll-ups and a scan of ``cases`` (empty when they agree), in Spanish."""
    per_case, totals = _expected(bind)
    problems = []
    stored = {
        row.case_id: {k: v for k, v in row._asdict().items() if k != "case_id"} for row in bind.execute(select(CASES))
    }
    for case_id in sorted(per_case.keys() | stored.keys()):
        want = _case_values(per_case[case_id]) if case_id in per_case else None
        if stored.get(case_id) != want:
            problems.append(f"caso {case_id}: contado {stored.get(case_id)}, debería {want}")
    actual: dict[tuple[str, tuple], Counter] = defaultdict(Counter)
    for row in bind.execute(select(COUNTS)):
        values = row._asdict()
        key = tuple(values[k] for k in _COUNT_KEY)
        actual["count", key].update({m: values[m] for m in COUNT_MEASURES if values[m]})
    for row in bind.execute(select(OPEN)):
        if row.n:
            actual["open", tuple(getattr(row, k) for k in _OPEN_KEY)]["n"] += row.n
    for key in sorted(actual.keys() | totals.keys(), key=repr):
        want = {m: v for m, v in totals.get(key, Counter()).items() if v}
        have = {m: v for m, v in actual.get(key, Counter()).items() if v}
        if want != have:
            problems.append(f"{key[0]} {key[1]}: guardado {have}, debería {want}")
    return problems
