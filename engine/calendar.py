"""The business calendar: the days off of the Alcaldía, data the administrator keeps.

Panamá's national holidays and the district's 15 August (Ley 14 de 1995) are seeded by migration
0017 for the years around its day; the days the government declares by decree are added by the
administrator (``/admin/calendario``), each with the decree that declared it. A year the table
does not hold yet (``calendar_year``) counts the law's days (``law``), so a term that reaches
past the seeded years still skips New Year's Day.

A diagram's helpers (``sumar_dias(.., habiles=True)``, ``es_dia_habil``) are pure functions of
the sandbox and reach no database; the runtime gives them the calendar of the step instead, as a
context variable (``in_effect``), from a copy each process caches (``CalendarCache``). The copy is
checked against ``calendar_version`` on every step — one row read by its key — and every edit
counts that row up in its own transaction: every process, on every machine, uses an edit from its
next step on. Which days a legal term counts (calendar or working days) stays the diagram's rule.
"""

from __future__ import annotations

import bisect
import contextlib
import contextvars
import functools
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import TYPE_CHECKING

import holidays
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine.audit import trail as audit
from engine.clock import YEARS
from engine.db.models import CalendarVersion, CalendarYear, DayOff
from engine.db.statements import Statement
from engine.errors import Forbidden, FormErrors

if TYPE_CHECKING:
    from engine.access.accounts import Actor
    from engine.facade import Atiende

# Ley 14 de 1995: 15 August (foundation of the city) is a holiday of the Distrito de Panamá
# only; the national calendar of the `holidays` package does not know it.
DISTRICT_HOLIDAYS = ((8, 15, "Fundación de la Ciudad de Panamá"),)
LAW, DECREE = "ley", "decreto"
KINDS = {LAW: "Feriado de ley", DECREE: "Declarado por decreto"}
_VERSION_ROW = 1
_VERSION = Statement(select(CalendarVersion.version).where(CalendarVersion.id == _VERSION_ROW))
# The version row's read, for a step to send with its own first reads (``statements.together``) and
# hand over with ``read_ahead``: on PostgreSQL that saves the step a round trip.
VERSION_READ: tuple[Statement, dict] = (_VERSION, {})
_READ_AHEAD = "calendar_version_read_ahead"  # session.info key: the version read with the step's first reads
MAX_TEXT = 200


@functools.lru_cache(maxsize=64)
def law(year: int) -> Mapping[date, str]:
    """The days off the law gives in ``year``: national holidays (``holidays``) plus the district's.
    Computed once per year and process: a step's working-day count asks for it, inside its CPU budget."""
    days = {day: str(name) for day, name in holidays.country_holidays("PA", years=year, language="es").items()}
    for month, day, name in DISTRICT_HOLIDAYS:
        days.setdefault(date(year, month, day), name)
    return MappingProxyType(days)  # shared by every caller: read-only


@dataclass(frozen=True)
class DaysOff:
    """The calendar as of one version: the days off of the years the table holds; the law's for the others."""

    version: int = 0
    kept: Mapping[date, str] = field(default_factory=dict)
    years: frozenset[int] = frozenset()
    _weekdays: dict[int, tuple[int, ...]] = field(default_factory=dict, compare=False, repr=False)

    def of_year(self, year: int) -> Mapping[date, str]:
        """The days off of ``year``, with their names."""
        if year in self.years:
            return {day: name for day, name in self.kept.items() if day.year == year}
        return law(year)

    def is_day_off(self, day: date) -> bool:
        return day in self.kept if day.year in self.years else day in law(day.year)

    def is_working_day(self, day: date) -> bool:
        """A weekday that is not a day off."""
        return day.weekday() < 5 and not self.is_day_off(day)

    def weekday_ordinals(self, year: int) -> tuple[int, ...]:
        """The ordinals of ``year``'s days off that fall on a weekday, sorted: the only ones that move a count."""
        found = self._weekdays.get(year)
        if found is None:
            found = tuple(sorted(day.toordinal() for day in self.of_year(year) if day.weekday() < 5))
            self._weekdays[year] = found  # the same tuple whichever thread computes it first
        return found

    def weekday_days_off_between(self, first: date, last: date) -> int:
        """How many weekday days off fall from ``first`` to ``last``, both included."""
        low, high = first.toordinal(), last.toordinal()
        count = 0
        for year in range(first.year, last.year + 1):
            days = self.weekday_ordinals(year)
            count += bisect.bisect_right(days, high) - bisect.bisect_left(days, low)
        return count


LAW_ONLY = DaysOff()  # no table: tests of the helpers alone, a diagram's scenarios at deploy
_current: contextvars.ContextVar[DaysOff] = contextvars.ContextVar("days_off", default=LAW_ONLY)


def current() -> DaysOff:
    """The calendar of the step running now (``in_effect``); the law's when none was set."""
    return _current.get()


@contextlib.contextmanager
def using(days_off: DaysOff) -> Iterator[DaysOff]:
    """Make ``days_off`` the calendar of the helpers for a block."""
    token = _current.set(days_off)
    try:
        yield days_off
    finally:
        _current.reset(token)


def version(session: Session) -> int:
    """The number of edits to the calendar so far: read before every step (``CalendarCache.get``)."""
    return _VERSION.scalar(session, {}) or 0


def read_ahead(session: Session, rows: list) -> None:
    """The rows ``VERSION_READ`` gave, in ``session``'s transaction: its next calendar check uses them."""
    session.info[_READ_AHEAD] = (rows[0][0] if rows else 0) or 0


def read(session: Session) -> DaysOff:
    """The calendar as the table holds it now."""
    kept = {day: name for day, name in session.execute(select(DayOff.day, DayOff.name))}
    years = frozenset(session.scalars(select(CalendarYear.year)))
    return DaysOff(version(session), kept, years)


class CalendarCache:
    """This process's copy of the calendar, re-read when ``calendar_version`` says it changed."""

    def __init__(self):
        self._kept = LAW_ONLY
        self._lock = threading.Lock()

    def get(self, session: Session) -> DaysOff:
        """The calendar now: one read of the version row (unless read ahead); the table only when it moved."""
        number = session.info.pop(_READ_AHEAD, None)
        if number is None:
            number = version(session)
        with self._lock:
            if self._kept.version == number and number:
                return self._kept
        fresh = read(session)
        with self._lock:
            if fresh.version >= self._kept.version:
                self._kept = fresh
        return fresh

    @contextlib.contextmanager
    def in_effect(self, session: Session) -> Iterator[DaysOff]:
        """The calendar of ``session``'s database, for the helpers of the step run in the block."""
        with using(self.get(session)) as days_off:
            yield days_off


# -- what the administrator does ----------------------------------------------------------------
@dataclass(frozen=True)
class Day:
    day: date
    name: str
    kind: str
    decree: str | None


def days_of(session: Session, year: int) -> tuple[list[Day], bool]:
    """The days off of ``year`` in order, and whether the table holds the year (else they are the law's)."""
    held = session.get(CalendarYear, year) is not None
    if not held:
        return [Day(day, name, LAW, None) for day, name in sorted(law(year).items())], False
    rows = session.scalars(
        select(DayOff).where(DayOff.day >= date(year, 1, 1), DayOff.day <= date(year, 12, 31)).order_by(DayOff.day)
    )
    return [Day(r.day, r.name, r.kind, r.decree) for r in rows], True


def _require_admin(actor: Actor) -> None:
    from engine.access.permissions import may_administer

    if not may_administer(actor):
        raise Forbidden("solo el administrador puede cambiar el calendario")


_SPACES = re.compile(r"\s+")


def _text(value: str | None) -> str:
    return _SPACES.sub(" ", value or "").strip()


def add_day(atiende: Atiende, day: date | None, name: str, decree: str, actor: Actor) -> None:
    """Declare a day off by decree (``decree`` names it); its year is taken into the table first if needed.

    ``day`` None means the form's date could not be read; every problem is said at once, in Spanish.
    """
    _require_admin(actor)
    name, decree = _text(name), _text(decree)
    errors = {}
    if day is None:
        errors["fecha"] = "Escriba la fecha como dd/mm/aaaa."
    elif day.year not in YEARS:
        errors["fecha"] = f"El año debe estar entre {YEARS[0]} y {YEARS[-1]}."
    if not name:
        errors["nombre"] = "Escriba el motivo del día libre (p. ej. «Duelo nacional»)."
    elif len(name) > MAX_TEXT:
        errors["nombre"] = f"A lo sumo {MAX_TEXT} caracteres."
    if not decree:
        errors["decreto"] = "Indique el decreto que lo declara (p. ej. «Decreto Ejecutivo N.º 12 de 2026»)."
    elif len(decree) > MAX_TEXT:
        errors["decreto"] = f"A lo sumo {MAX_TEXT} caracteres."
    with atiende.unit_of_work() as s:
        if day is not None and "fecha" not in errors:
            _hold_year(s, day.year, actor, atiende)
            if s.get(DayOff, day) is not None:
                errors["fecha"] = "Ese día ya es un día libre del calendario."
            elif day.weekday() >= 5:
                errors["fecha"] = "Ese día es sábado o domingo: ya no es hábil."
        if errors:
            raise FormErrors(errors)
        assert day is not None  # no error on «fecha»
        s.add(DayOff(day=day, name=name, kind=DECREE, decree=decree, added_by=actor.username, added_at=atiende.now()))
        _count_edit(s)
        audit.record(
            s,
            atiende.now(),
            actor.username,
            "dia_libre_agregado",
            detail={"fecha": day.isoformat(), "motivo": name, "decreto": decree},
        )


def remove_day(atiende: Atiende, day: date, actor: Actor) -> None:
    """Take a day off out of the calendar (a decree revoked, a holiday moved): it is a working day again."""
    _require_admin(actor)
    with atiende.unit_of_work() as s:
        _hold_year(s, day.year, actor, atiende)
        row = s.get(DayOff, day)
        if row is None:
            raise FormErrors({"fecha": "Ese día no es un día libre del calendario."})
        detail = {"fecha": day.isoformat(), "motivo": row.name, "tipo": row.kind, "decreto": row.decree}
        s.execute(delete(DayOff).where(DayOff.day == day))
        _count_edit(s)
        audit.record(s, atiende.now(), actor.username, "dia_libre_quitado", detail=detail)


def _hold_year(session: Session, year: int, actor: Actor, atiende: Atiende) -> None:
    """Take ``year`` into the table with the law's days, unless it is there: an edit starts from them."""
    if session.get(CalendarYear, year) is not None:
        return
    session.add(CalendarYear(year=year))
    now = atiende.now()
    session.add_all(
        DayOff(day=day, name=name[:MAX_TEXT], kind=LAW, decree=None, added_by=actor.username, added_at=now)
        for day, name in law(year).items()
    )
    session.flush()


def _count_edit(session: Session) -> None:
    """Count the edit in ``calendar_version``, in the edit's transaction (every process's cache checks it)."""
    session.flush()
    moved = session.execute(
        update(CalendarVersion).where(CalendarVersion.id == _VERSION_ROW).values(version=CalendarVersion.version + 1)
    )
    if moved.rowcount == 0:  # type: ignore[attr-defined]
        session.add(CalendarVersion(id=_VERSION_ROW, version=1))
        session.flush()  # ``version`` reads on the driver's cursor, which sees only what was written
