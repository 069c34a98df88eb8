"""The indicators the office is judged by, read from roll-up tables (``engine.indicators.rollup``).

Definitions (also in docs/indicators.md):

- Days and months are Panamá's (America/Panama, UTC−5 all year).
- A case is *received* on the Panamá day it was opened (``cases.opened_at``); received
  figures of a period count the cases opened in it.
- A case is *answered* when it closes (status ``cerrado``, ``cases.closed_at``); answered
  figures of a period, and of a month, count the cases closed in it (by closing day).
- *On time*: its closing day is on or before its due day (the Panamá day of ``due_at``, the
  legal term the procedure's diagram computed); *late* otherwise. A case with no term is on time.
- *Open within term* / *open past term*: received in the period and still open today, with
  today on or before / after its due day (no term: within).
- *Time to final answer*: calendar days from the opening day to the closing day (both Panamá
  days), so a case closed the day it was opened took 0 days. Median and 90th percentile are
  nearest-rank: the smallest number of days within which at least 50 % / 90 % were answered.
- Per dirección: the case's dirección; cases without one are «Sin dirección».
- Backlog: every case open today (whatever the period, honouring the other filters), by age
  in days since its opening day: 0–7, 8–15, 16–30, > 30; per dirección, and per enlace: the
  person assigned to the case's open task in the Enlace lane, «Sin asignar» while nobody has
  taken it (a case with no open enlace task has no enlace row; one with two held by two
  people counts for both).
- Filters: ``direccion`` "-" is «Sin dirección»; ``procedimiento`` a process id. The enlace's
  ``scope`` narrows everything to its dirección ("" — an enlace without one — to nothing).

Every function is a read on a Session that never scans ``cases`` for a figure: the counts
come from the roll-ups, kept in the transaction that moves the case. ``drill`` reads the cases
behind a figure one keyset page at a time.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, case, false, func, select, true
from sqlalchemy.orm import Session

from engine.cases.queries import catalog_labels
from engine.clock import DATE_ERROR, PANAMA, YEARS
from engine.db.models import ANSWER_DAYS, Case, HumanTask, ProcedureVersion, User
from engine.errors import FormErrors
from engine.indicators import rollup

SIN_DIRECCION = "Sin dirección"
SIN_DIRECCION_CODE = "-"  # the filter value, and the clave "dir:-", of the cases without dirección
SIN_ASIGNAR = "Sin asignar"
BUCKETS = ("0-7", "8-15", "16-30", ">30")  # backlog ages, in days since the opening day
FIGURES = ("received", "on_time", "late", "answered", "open_within", "open_past", "backlog")


@dataclass(frozen=True)
class Filters:
    """The period (Panamá days, inclusive) and the optional filters of every figure."""

    desde: date
    hasta: date
    direccion: str | None = None
    tipo_caso: str | None = None
    canal: str | None = None
    corregimiento: str | None = None
    procedimiento: str | None = None  # a procedure's process_id

    @classmethod
    def parse(cls, args: Mapping[str, str], today: date) -> Filters:
        """The filters of a query string; raises FormErrors (Spanish, per field) on bad input."""
        return _parse_filters(args, today)


@dataclass(frozen=True)
class FigureRow:
    """The counts of one row (totals, a dirección or a month). ``clave`` is what ``drill`` takes."""

    clave: str | None  # None for totals; "dir:<dirección code, - for none>" or "mes:AAAA-MM"
    etiqueta: str  # what the row is called on screen: the dirección, «mm/aaaa» or «Total»
    received: int = 0
    answered_on_time: int = 0
    answered_late: int = 0
    open_within_term: int = 0
    open_past_term: int = 0

    @property
    def answered(self) -> int:
        return self.answered_on_time + self.answered_late

    @property
    def pct_on_time(self) -> float | None:
        """Percent of the answered that were on time (0–100, one decimal), None when none answered."""
        return _pct(self.answered_on_time, self.answered)


@dataclass(frozen=True)
class Summary:
    totals: FigureRow
    por_direccion: list[FigureRow] = field(default_factory=list)
    por_mes: list[FigureRow] = field(default_factory=list)


@dataclass(frozen=True)
class AnswerTimes:
    """Time to final answer of the cases closed in the period."""

    answered: int
    median_days: int | None  # None when nothing answered or beyond the histogram's last exact day
    p90_days: int | None
    median_label: str  # «12 días», «más de 60 días», «—»
    p90_label: str
    histogram: list[tuple[str, int]] = field(default_factory=list)  # (label, count), in order


@dataclass(frozen=True)
class BacklogRow:
    """Open cases today by age; ``kind`` "direccion" or "enlace"; ``clave`` for ``drill`` (figura "backlog")."""

    kind: str
    clave: str  # "dir:<dirección code>" or "dir:<code>|enlace:<user name, '' when unassigned>"
    etiqueta: str
    direccion: str  # the dirección shown (for an enlace row, the one of their cases)
    buckets: tuple[int, int, int, int]  # counts for BUCKETS, in order

    @property
    def total(self) -> int:
        return sum(self.buckets)


@dataclass(frozen=True)
class MonthPoint:
    month: date  # the first day of the month
    etiqueta: str  # «mm/aaaa»
    received: int
    on_time: int
    late: int

    @property
    def pct_on_time(self) -> float | None:
        return _pct(self.on_time, self.on_time + self.late)


@dataclass(frozen=True)
class DrillCase:
    """One case behind a figure: what identifies it, never the citizen's data."""

    id: int
    ticket: str
    case_type: str | None
    direccion: str | None
    corregimiento: str | None
    status: str
    opened_at: datetime
    due_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class DrillPage:
    cases: list[DrillCase]
    next_after: int | None  # the after_id of the next page, None on the last


@dataclass(frozen=True)
class TransparencyRow:
    """Aggregates only: a dirección's month."""

    direccion: str
    month: date
    etiqueta: str  # «mm/aaaa»
    answered: int
    pct_on_time: float | None
    median_days: int | None


@dataclass(frozen=True)
class SurveyRow:
    direccion: str
    tipo_caso: str
    answers: int
    mean_score: float | None  # 1–5
    pct_on_time: float | None  # the citizen's view


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


_DIMENSION_ARGS = {  # query-string name → the roll-ups' column
    "tipo_caso": "case_type",
    "canal": "channel",
    "corregimiento": "corregimiento",
    "procedimiento": "process_id",
}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
MAX_VALUE = 100  # the longest dimension value the tables hold
MAX_PAGE = 500  # the most cases ``drill`` returns at once


def _date(text: str) -> date:
    text = text.strip()
    try:
        if _ISO.match(text):
            value = date.fromisoformat(text)
        elif m := _DMY.match(text):
            value = date(int(m[3]), int(m[2]), int(m[1]))
        else:
            raise ValueError(text)
    except ValueError as exc:
        raise ValueError(DATE_ERROR) from exc
    if value.year not in YEARS:
        raise ValueError(DATE_ERROR)
    return value


def first_month(today: date, months: int) -> date:
    """The first day of the month ``months - 1`` months before today's: a window of ``months`` months."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def _parse_filters(args: Mapping[str, str], today: date) -> Filters:
    """Empty values mean «all»; no period means the last 12 months, today's included."""
    errors: dict[str, str] = {}
    period: dict[str, date] = {}
    for name, default in (("desde", first_month(today, 12)), ("hasta", today)):
        text = (args.get(name) or "").strip()
        try:
            period[name] = _date(text) if text else default
        except ValueError as exc:
            errors[name] = str(exc)
    values: dict[str, str | None] = {}
    for name in ("direccion", *_DIMENSION_ARGS):
        value = (args.get(name) or "").strip()
        if len(value) > MAX_VALUE:
            errors[name] = f"Escriba a lo sumo {MAX_VALUE} caracteres."
        values[name] = value or None
    if not errors and period["desde"] > period["hasta"]:
        errors["hasta"] = "La fecha final es anterior a la inicial."
    if errors:
        raise FormErrors(errors)
    return Filters(period["desde"], period["hasta"], **values)


# -- reading the roll-ups -----------------------------------------------------------------------
def _dimension_filters(f: Filters) -> dict[str, str]:
    """Column → value of the filters set besides the dirección."""
    return {column: getattr(f, arg) for arg, column in _DIMENSION_ARGS.items() if getattr(f, arg) is not None}


def _direccion_condition(table: Table, f: Filters, scope: str | None, column: Any = None) -> ColumnElement[bool]:
    """The dirección filter and the enlace's scope (an enlace with no dirección reaches nothing);
    ``column``: the dirección as the roll-ups keep it («» for none), when the table's own is not."""
    wanted = {"" if d == SIN_DIRECCION_CODE else d for d in (f.direccion, scope) if d is not None}
    if scope == "" or len(wanted) > 1:
        return false()
    return (table.c.direccion if column is None else column) == wanted.pop() if wanted else true()


def _conditions(table: Table, f: Filters, scope: str | None) -> list[ColumnElement[bool]]:
    dims = _dimension_filters(f)
    return [
        table.c.grain == rollup.grain_for(dims),
        _direccion_condition(table, f, scope),
        *(table.c[column] == value for column, value in dims.items()),
    ]


def _month_label(month: date) -> str:
    return f"{month.month:02d}/{month.year}"


def _months(desde: date, hasta: date) -> list[date]:
    months, month = [], rollup.month_of(desde)
    while month <= hasta:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _direccion_label(labels: dict[str, str], code: str) -> str:
    return labels.get(code, code) if code else SIN_DIRECCION


def _direccion_key(code: str) -> str:
    return "dir:" + (code or SIN_DIRECCION_CODE)


def summary(s: Session, f: Filters, scope: str | None, today: date) -> Summary:
    """Received, answered on time / late (by closing day) and open within / past term, in the period."""
    counts = rollup.COUNTS
    opened = rollup.OPEN
    per: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    rows = s.execute(
        select(
            counts.c.direccion,
            counts.c.month,
            func.sum(counts.c.received),
            func.sum(counts.c.on_time),
            func.sum(counts.c.late),
        )
        .where(*_conditions(counts, f, scope), counts.c.day.between(f.desde, f.hasta))
        .group_by(counts.c.direccion, counts.c.month)
    )
    for direccion, month, received, on_time, late in rows:
        per[direccion, month][0:3] = [int(received or 0), int(on_time or 0), int(late or 0)]
    past = opened.c.due_day < today
    open_rows = s.execute(
        select(
            opened.c.direccion,
            opened.c.month,
            func.sum(case((past, 0), else_=opened.c.n)),
            func.sum(case((past, opened.c.n), else_=0)),
        )
        .where(*_conditions(opened, f, scope), opened.c.opened_day.between(f.desde, f.hasta))
        .group_by(opened.c.direccion, opened.c.month)
    )
    for direccion, month, within, beyond in open_rows:
        per[direccion, month][3:5] = [int(within or 0), int(beyond or 0)]
    labels = catalog_labels(s, "direcciones")
    by_direccion: dict[str, list[int]] = defaultdict(lambda: [0] * 5)
    by_month: dict[date, list[int]] = {month: [0] * 5 for month in _months(f.desde, f.hasta)}
    total = [0] * 5
    for (direccion, month), values in per.items():
        for target in (by_direccion[direccion], by_month.setdefault(month, [0] * 5), total):
            for i, v in enumerate(values):
                target[i] += v
    direccion_rows = [
        FigureRow(_direccion_key(code), _direccion_label(labels, code), *values)
        for code, values in by_direccion.items()
        if any(values)
    ]
    direccion_rows.sort(key=lambda row: row.etiqueta.casefold())
    month_rows = [
        FigureRow(f"mes:{month:%Y-%m}", _month_label(month), *values) for month, values in sorted(by_month.items())
    ]
    return Summary(FigureRow(None, "Total", *total), direccion_rows, month_rows)


# The distribution shown: (first day, last day) of each bar, the last one open-ended.
DISTRIBUTION = ((0, 7), (8, 15), (16, 30), (31, 45), (46, ANSWER_DAYS))


def _histogram(s: Session, f: Filters, scope: str | None) -> list[int]:
    counts = rollup.COUNTS
    row = s.execute(
        select(*(func.sum(counts.c[name]) for name in rollup.HISTOGRAM)).where(
            *_conditions(counts, f, scope), counts.c.day.between(f.desde, f.hasta)
        )
    ).one()
    return [int(v or 0) for v in row]


def _percentile(histogram: list[int], share: float) -> int | None:
    """Nearest rank: the fewest days within which at least ``share`` of the answered were answered;
    None when nothing was answered or the rank falls beyond the exact days."""
    answered = sum(histogram)
    if not answered:
        return None
    rank, seen = math.ceil(share * answered), 0
    for days, count in enumerate(histogram[:-1]):
        seen += count
        if seen >= rank:
            return days
    return None


def _days_label(days: int | None, answered: int) -> str:
    if not answered:
        return "—"
    if days is None:
        return f"más de {ANSWER_DAYS} días"
    return "1 día" if days == 1 else f"{days} días"


def answer_times(s: Session, f: Filters, scope: str | None) -> AnswerTimes:
    """Time to final answer of the cases closed in the period: median, 90th percentile, distribution."""
    histogram = _histogram(s, f, scope)
    answered = sum(histogram)
    median, p90 = _percentile(histogram, 0.5), _percentile(histogram, 0.9)
    bars = [(f"{low}–{high} días", sum(histogram[low : high + 1])) for low, high in DISTRIBUTION]
    bars.append((f"más de {ANSWER_DAYS} días", histogram[-1]))
    return AnswerTimes(answered, median, p90, _days_label(median, answered), _days_label(p90, answered), bars)


def _age_buckets(opened: Any, today: date, bound: Callable[[date], Any] = lambda day: day) -> Any:
    """The backlog bucket (0–3, an index of BUCKETS) of a case opened on the day ``opened`` holds, or at
    the moment it holds (``bound``: a day's first moment, to compare moments)."""
    return case(
        (opened >= bound(today - timedelta(days=7)), 0),
        (opened >= bound(today - timedelta(days=15)), 1),
        (opened >= bound(today - timedelta(days=30)), 2),
        else_=3,
    )


def _start_of_day(day: date) -> datetime:
    """The first moment of a Panamá day."""
    return datetime.combine(day, time(), PANAMA)


def backlog(s: Session, f: Filters, scope: str | None, today: date) -> list[BacklogRow]:
    """Every case open today (the period aside, the other filters kept) by age, per dirección; then
    per enlace: who holds the case's open task in the Enlace lane (one case may count for two)."""
    opened = rollup.OPEN
    bucket = _age_buckets(opened.c.opened_day, today)
    per_direccion: dict[str, list[int]] = defaultdict(lambda: [0] * 4)
    for direccion, index, n in s.execute(
        select(opened.c.direccion, bucket, func.sum(opened.c.n))
        .where(*_conditions(opened, f, scope))
        .group_by(opened.c.direccion, bucket)
    ):
        per_direccion[direccion][index] += int(n or 0)
    labels = catalog_labels(s, "direcciones")
    rows = [
        BacklogRow(
            "direccion", _direccion_key(code), _direccion_label(labels, code), _direccion_label(labels, code), _four(v)
        )
        for code, v in per_direccion.items()
        if any(v)
    ]
    rows.sort(key=lambda row: row.etiqueta.casefold())
    return rows + _enlace_backlog(s, f, scope, today, labels)


def _four(counts: list[int]) -> tuple[int, int, int, int]:
    return counts[0], counts[1], counts[2], counts[3]


def _case_conditions(f: Filters, scope: str | None) -> list[ColumnElement[bool]]:
    cases = rollup.CASES
    return [
        _direccion_condition(cases, f, scope),
        *(cases.c[column] == value for column, value in _dimension_filters(f).items()),
    ]


def _enlace_backlog(s: Session, f: Filters, scope: str | None, today: date, labels: dict[str, str]) -> list[BacklogRow]:
    """From the open Enlace-lane task rows alone: each mirrors its case's dirección, dimensions, procedure
    version and opening, so the count joins nothing (a case open at two of them counts once per enlace)."""
    tasks = cast(Table, HumanTask.__table__)
    direccion = func.coalesce(tasks.c.direccion, "")
    assignee = func.coalesce(tasks.c.assignee, "")
    bucket = _age_buckets(tasks.c.opened_at, today, _start_of_day)
    conditions = [tasks.c.lane == "enlace", _direccion_condition(tasks, f, scope, direccion)]
    for column, value in _dimension_filters(f).items():
        if column == "process_id":
            versions = select(ProcedureVersion.id).where(ProcedureVersion.process_id == value)
            conditions.append(tasks.c.procedure_version_id.in_(versions.scalar_subquery()))
        else:
            conditions.append(tasks.c[column] == value)
    per: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 4)
    for who, code, index, n in s.execute(
        select(assignee, direccion, bucket, func.count(func.distinct(tasks.c.case_id)))
        .where(*conditions)
        .group_by(assignee, direccion, bucket)
    ):
        per[who, code][index] += int(n)
    names = dict(
        s.execute(select(User.username, User.full_name).where(User.username.in_({w for w, _ in per if w}))).all()
    )
    rows = [
        BacklogRow(
            "enlace",
            f"{_direccion_key(direccion)}|enlace:{who}",
            names.get(who, who) if who else SIN_ASIGNAR,
            _direccion_label(labels, direccion),
            _four(v),
        )
        for (who, direccion), v in per.items()
    ]
    rows.sort(key=lambda row: (row.direccion.casefold(), row.etiqueta.casefold()))
    return rows


def trend(s: Session, f: Filters, scope: str | None, today: date) -> list[MonthPoint]:
    """The last 12 months, today's included (the period aside, the other filters kept)."""
    counts = rollup.COUNTS
    start = first_month(today, 12)
    found = {
        month: (int(r or 0), int(o or 0), int(la or 0))
        for month, r, o, la in s.execute(
            select(counts.c.month, func.sum(counts.c.received), func.sum(counts.c.on_time), func.sum(counts.c.late))
            .where(*_conditions(counts, f, scope), counts.c.day.between(start, today))
            .group_by(counts.c.month)
        )
    }
    return [MonthPoint(month, _month_label(month), *found.get(month, (0, 0, 0))) for month in _months(start, today)]


def transparency(s: Session, today: date, months: int = 12) -> list[TransparencyRow]:
    """Per dirección and month of the last ``months``: answered, % on time, median days. Counts only."""
    counts = rollup.COUNTS
    start = first_month(today, months)
    labels = catalog_labels(s, "direcciones")
    rows = []
    for row in s.execute(
        select(
            counts.c.direccion,
            counts.c.month,
            func.sum(counts.c.on_time),
            func.sum(counts.c.late),
            *(func.sum(counts.c[name]) for name in rollup.HISTOGRAM),
        )
        .where(counts.c.grain == "d", counts.c.day.between(start, today))
        .group_by(counts.c.direccion, counts.c.month)
    ):
        direccion, month, on_time, late, *histogram = row
        answered = int(on_time or 0) + int(late or 0)
        rows.append(
            TransparencyRow(
                _direccion_label(labels, direccion),
                month,
                _month_label(month),
                answered,
                _pct(int(on_time or 0), answered),
                _percentile([int(v or 0) for v in histogram], 0.5),
            )
        )
    rows.sort(key=lambda r: (r.direccion.casefold(), r.month))
    return rows


def surveys(s: Session, f: Filters, scope: str | None) -> list[SurveyRow]:
    """The citizen's verdict per dirección and case type (engine.indicators.surveys keeps it)."""
    from engine.indicators import surveys as verdicts  # it imports this module's dataclasses

    return verdicts.surveys(s, f, scope)


# -- the cases behind a figure ------------------------------------------------------------------
_CLAVE_PARTS = ("dir", "mes", "edad", "enlace")


def _parse_clave(clave: str | None) -> dict[str, str]:
    parts: dict[str, str] = {}
    for part in (clave or "").split("|") if clave else []:
        name, sep, value = part.partition(":")
        if not sep or name not in _CLAVE_PARTS or name in parts:
            raise FormErrors({"clave": "La cifra pedida no existe."})
        parts[name] = value
    if "edad" in parts and parts["edad"] not in BUCKETS:
        raise FormErrors({"clave": "La cifra pedida no existe."})
    if "mes" in parts:
        try:
            parts["mes"] = date.fromisoformat(parts["mes"] + "-01").isoformat()
        except ValueError as exc:
            raise FormErrors({"clave": "La cifra pedida no existe."}) from exc
    return parts


def _month_range(column: Any, f: Filters, month: str | None) -> ColumnElement[bool]:
    low, high = f.desde, f.hasta
    if month is not None:
        first = date.fromisoformat(month)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        low, high = max(low, first), min(high, last)
    return column.between(low, high)


def drill(
    s: Session,
    f: Filters,
    scope: str | None,
    today: date,
    figura: str,
    clave: str | None,
    after_id: int | None,
    limit: int = 50,
) -> DrillPage:
    """The cases behind one figure, by id, ``limit`` at a time after ``after_id``.

    ``figura``: one of FIGURES. ``clave``: the row's (FigureRow.clave, BacklogRow.clave), or
    parts joined by «|»: «dir:<code>», «mes:AAAA-MM», «edad:<one of BUCKETS>», «enlace:<user>».
    Raises FormErrors for an unknown figure or clave.
    """
    if figura not in FIGURES:
        raise FormErrors({"figura": "La cifra pedida no existe."})
    parts = _parse_clave(clave)
    limit = max(1, min(limit, MAX_PAGE))
    cases = rollup.CASES
    where = _case_conditions(f, scope)
    if "dir" in parts:
        where.append(
            _direccion_condition(cases, Filters(f.desde, f.hasta, direccion=parts["dir"] or SIN_DIRECCION_CODE), None)
        )
    month = parts.get("mes")
    if figura == "received":
        where.append(_month_range(cases.c.opened_day, f, month))
    elif figura in ("on_time", "late", "answered"):
        outcomes = ("on_time", "late") if figura == "answered" else (figura,)
        where += [cases.c.outcome.in_(outcomes), _month_range(cases.c.closed_day, f, month)]
    else:
        where.append(cases.c.outcome == "open")
        if figura != "backlog":
            where.append(_month_range(cases.c.opened_day, f, month))
        due = func.coalesce(cases.c.due_day, rollup.NO_TERM)
        if figura == "open_within":
            where.append(due >= today)
        elif figura == "open_past":
            where.append(due < today)
    if "edad" in parts:
        where.append(_age_buckets(cases.c.opened_day, today) == BUCKETS.index(parts["edad"]))
    if "enlace" in parts:
        tasks = HumanTask.__table__
        who = parts["enlace"]
        where.append(
            select(tasks.c.id)
            .where(
                tasks.c.case_id == cases.c.case_id,
                tasks.c.lane == "enlace",
                tasks.c.assignee == who if who else tasks.c.assignee.is_(None),
            )
            .exists()
        )
    if after_id is not None:
        where.append(cases.c.case_id > after_id)
    ids = list(s.scalars(select(cases.c.case_id).where(*where).order_by(cases.c.case_id).limit(limit + 1)))
    more = len(ids) > limit
    ids = ids[:limit]
    table = Case.__table__
    found = {
        row.id: row
        for row in s.execute(
            select(
                table.c.id,
                table.c.ticket,
                table.c.case_type,
                table.c.direccion,
                table.c.corregimiento,
                table.c.status,
                table.c.opened_at,
                table.c.due_at,
                table.c.closed_at,
            ).where(table.c.id.in_(ids))
        )
    }
    return DrillPage([DrillCase(**found[i]._asdict()) for i in ids if i in found], ids[-1] if more else None)
