"""The named functions a diagram's scripts, conditions and timers may call.

They are how an analyst states a rule in the diagram without Python: the legal term of a
case is ``fecha_limite = sumar_dias(fecha_inicio, 30)`` in a script task, and changing 30
to 45, or calendar to working days, is an edit of the diagram.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

import holidays

from engine import clock

# Ley 14 de 1995: 15 August (foundation of the city) is a holiday of the Distrito de Panamá
# only; the national calendar of the `holidays` package does not know it.
DISTRICT_HOLIDAYS = ((8, 15, "Fundación de la Ciudad de Panamá"),)


def _as_datetime(value) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.PANAMA)
    return moment.astimezone(clock.PANAMA)


def feriados(year: int) -> dict[date, str]:
    """Public holidays observed by the Alcaldía in ``year``: national plus district."""
    days = dict(holidays.country_holidays("PA", years=year))
    for month, day, name in DISTRICT_HOLIDAYS:
        days.setdefault(date(year, month, day), name)
    return days


def es_dia_habil(day: date) -> bool:
    """True for a weekday that is not a holiday in the Distrito de Panamá."""
    return day.weekday() < 5 and day not in feriados(day.year)


def sumar_dias(fecha, dias: int, habiles: bool = False) -> str:
    """The ISO-8601 moment ``dias`` calendar (or working) days after ``fecha``, Panamá time.

    A negative ``dias`` counts back: ``sumar_dias(fecha_visita, -1, habiles=True)`` is the
    working day before a visit.
    """
    start = _as_datetime(fecha)
    if not habiles:
        return (start + timedelta(days=int(dias))).isoformat()
    moment, left = start, abs(int(dias))
    step = timedelta(days=1 if int(dias) > 0 else -1)
    while left > 0:
        moment += step
        if es_dia_habil(moment.date()):
            left -= 1
    return moment.isoformat()


def sumar_meses(fecha, meses: int) -> str:
    """The same day and hour ``meses`` calendar months after ``fecha`` (the month's last day if it is shorter).

    «Un mes desde el 31 de enero» is 28 (or 29) February: a month never spills into the next.
    """
    start = _as_datetime(fecha)
    index = start.month - 1 + int(meses)
    year, month = start.year + index // 12, index % 12 + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1])).isoformat()


def fin_de_mes(fecha) -> str:
    """The last moment of the month of ``fecha`` (23:59:59, Panamá time), ISO-8601."""
    start = _as_datetime(fecha)
    first_next = (start.replace(day=28) + timedelta(days=4)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first_next - timedelta(seconds=1)).isoformat()


def primero(*fechas) -> str:
    """The earliest of several ISO-8601 moments (e.g. 30 days or the end of the month)."""
    return min(_as_datetime(f) for f in fechas).isoformat()


def ahora() -> str:
    """The current moment, Panamá time, ISO-8601."""
    return clock.now().astimezone(clock.PANAMA).isoformat()


def dias_entre(desde, hasta) -> int:
    """Whole calendar days from ``desde`` to ``hasta``."""
    return (_as_datetime(hasta).date() - _as_datetime(desde).date()).days


HELPERS = {
    "sumar_dias": sumar_dias,
    "sumar_meses": sumar_meses,
    "fin_de_mes": fin_de_mes,
    "primero": primero,
    "ahora": ahora,
    "dias_entre": dias_entre,
    "es_dia_habil": lambda fecha: es_dia_habil(_as_datetime(fecha).date()),
}
