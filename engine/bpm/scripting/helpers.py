"""The named functions a diagram's scripts, conditions and timers may call.

They are how an analyst states a rule in the diagram without Python: the legal term of a
case is ``fecha_limite = sumar_dias(fecha_inicio, 30)`` in a script task, and changing 30
to 45, or calendar to working days, is an edit of the diagram.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from engine import calendar as business_calendar
from engine import clock
from engine.bpm.scripting import budget
from engine.errors import StepOverBudget


def _as_datetime(value) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.PANAMA)
    return moment.astimezone(clock.PANAMA)


def _bounded(count, most: int, what: str) -> int:
    """``count`` as an int within ±``most`` (``budget``), or StepOverBudget; checks the CPU budget too."""
    budget.check_time()
    number = int(count)
    if abs(number) > most:
        raise StepOverBudget(f"pidió {number} {what}; el máximo es {most}")
    return number


def feriados(year: int) -> dict[date, str]:
    """The days off of ``year`` in the business calendar of the step (``engine.calendar``)."""
    return dict(business_calendar.current().of_year(year))


def es_dia_habil(day: date) -> bool:
    """True for a weekday that is not a day off of the business calendar (holiday or decree)."""
    return business_calendar.current().is_working_day(day)


# Weekdays by arithmetic: ordinal 1 (1 January of year 1) is a Monday, so ordinal o is weekday (o - 1) % 7.
def _weekdays_up_to(ordinal: int) -> int:
    """How many weekdays there are from ordinal 1 to ``ordinal``, both included."""
    weeks, weekday = divmod(ordinal - 1, 7)
    return 5 * weeks + min(weekday + 1, 5)


def _nth_weekday(n: int) -> int:
    """The ordinal of the ``n``-th weekday from ordinal 1 (``n`` >= 1)."""
    weeks, weekday = divmod(n - 1, 5)
    return 1 + 7 * weeks + weekday


def _holidays_between(first: int, last: int) -> int:
    """How many weekday days off fall from ordinal ``first`` to ``last``, both included."""
    return business_calendar.current().weekday_days_off_between(date.fromordinal(first), date.fromordinal(last))


def _add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (before it, if negative); ``start`` itself never counts.

    Whole weeks by arithmetic, then the holidays in the range: the target is the ``days + h``-th weekday,
    where ``h`` is the number of weekday holidays up to it; ``h`` grows to its least fixed point, at most once
    per holiday in the range, and that target is a working day (were it a holiday, ``h - 1`` would be a
    smaller fixed point).
    """
    origin = start.toordinal()
    if days > 0:
        base, skipped = _weekdays_up_to(origin), 0
        while True:
            target = _nth_weekday(base + days + skipped)
            found = _holidays_between(origin + 1, target)
            if found == skipped:
                return date.fromordinal(target)
            skipped = found
    base, skipped = _weekdays_up_to(origin - 1) + 1, 0
    while True:
        target = _nth_weekday(base + days - skipped)
        found = _holidays_between(target, origin - 1)
        if found == skipped:
            return date.fromordinal(target)
        skipped = found


def sumar_dias(fecha, dias: int, habiles: bool = False) -> str:
    """The ISO-8601 moment ``dias`` calendar (or working) days after ``fecha``, Panamá time.

    A negative ``dias`` counts back: ``sumar_dias(fecha_visita, -1, habiles=True)`` is the
    working day before a visit. At most ``budget.MAX_HELPER_DAYS`` either way; working days
    cost the same whatever their number (``_add_working_days``).
    """
    count = _bounded(dias, budget.MAX_HELPER_DAYS, "días")
    start = _as_datetime(fecha)
    if not habiles or count == 0:
        return (start + timedelta(days=count)).isoformat()
    target = _add_working_days(start.date(), count)
    return (start + timedelta(days=target.toordinal() - start.toordinal())).isoformat()


def sumar_meses(fecha, meses: int) -> str:
    """The same day and hour ``meses`` calendar months after ``fecha`` (the month's last day if it is shorter).

    «Un mes desde el 31 de enero» is 28 (or 29) February: a month never spills into the next.
    """
    start = _as_datetime(fecha)
    index = start.month - 1 + _bounded(meses, budget.MAX_HELPER_MONTHS, "meses")
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


def uno_por_ticket(tickets, **valores) -> list[dict]:
    """One record per ticket, each ``{"ticket": t, **valores}``: what a message to several cases carries.

    Scripts have no loops; the acta of a meeting turns the sugerencias it ticked into one
    acuerdo each (``acuerdos = uno_por_ticket(tomadas_en_cuenta, decision_reunion='tomada_en_cuenta')``).
    """
    if isinstance(tickets, str) or not isinstance(tickets, (list, tuple)):
        raise TypeError("uno_por_ticket espera una lista de tickets")
    _bounded(len(tickets), budget.MAX_ITEMS, "tickets")
    return [{"ticket": ticket, **valores} for ticket in tickets]


HELPERS = {
    "sumar_dias": sumar_dias,
    "sumar_meses": sumar_meses,
    "fin_de_mes": fin_de_mes,
    "primero": primero,
    "ahora": ahora,
    "dias_entre": dias_entre,
    "uno_por_ticket": uno_por_ticket,
    "es_dia_habil": lambda fecha: es_dia_habil(_as_datetime(fecha).date()),
}
