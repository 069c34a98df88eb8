"""The named helpers a diagram calls to state its deadlines."""

import time
from datetime import date, datetime, timedelta

import pytest

from engine import clock
from engine.bpm.scripting import budget, helpers
from engine.errors import StepOverBudget


def test_calendar_days_keep_the_time_of_day_in_panama():
    assert helpers.sumar_dias("2026-03-02T09:00:00-05:00", 30) == "2026-04-01T09:00:00-05:00"


def test_working_days_skip_weekends_and_national_holidays():
    # Thursday 31 Dec 2026 + 1 working day: 1 Jan (holiday), 2-3 Jan weekend -> Monday 4 Jan
    assert helpers.sumar_dias("2026-12-31T10:00:00-05:00", 1, habiles=True) == "2027-01-04T10:00:00-05:00"


def test_the_district_holiday_of_15_august_is_not_a_working_day():
    assert date(2025, 8, 15) in helpers.feriados(2025)
    assert not helpers.es_dia_habil(date(2025, 8, 15))  # a Friday
    assert helpers.sumar_dias("2025-08-14T09:00:00-05:00", 1, habiles=True) == "2025-08-18T09:00:00-05:00"


def test_end_of_month_and_earliest_of_two_deadlines():
    assert helpers.fin_de_mes("2026-02-10T08:00:00-05:00") == "2026-02-28T23:59:59-05:00"
    thirty = helpers.sumar_dias("2026-02-10T08:00:00-05:00", 30)
    assert helpers.primero(thirty, helpers.fin_de_mes("2026-02-10T08:00:00-05:00")) == "2026-02-28T23:59:59-05:00"


def test_days_between():
    assert helpers.dias_entre("2026-03-02T09:00:00-05:00", "2026-04-01T08:00:00-05:00") == 30


def _working_days_one_by_one(start: str, days: int) -> str:
    """The definition: step a day at a time, counting working days (the reference for the arithmetic)."""
    moment, left = helpers._as_datetime(start), abs(days)
    while left:
        moment += timedelta(days=1 if days > 0 else -1)
        left -= helpers.es_dia_habil(moment.date())
    return moment.isoformat()


@pytest.mark.parametrize("days", [1, 2, 4, 5, 6, 9, 10, 11, 23, 60, 250, 400, -1, -2, -5, -6, -11, -60, -400])
def test_working_days_by_arithmetic_match_counting_day_by_day(days):
    # Every weekday and weekend start of two weeks around the Christmas, New Year and Carnaval holidays.
    for offset in range(14):
        start = (datetime(2026, 12, 20, 9, 30, tzinfo=clock.PANAMA) + timedelta(days=offset)).isoformat()
        assert helpers.sumar_dias(start, days, habiles=True) == _working_days_one_by_one(start, days), (start, days)


def test_working_days_cost_the_same_whatever_their_number():
    started = time.thread_time()
    far = helpers.sumar_dias("2026-03-02T09:00:00-05:00", budget.MAX_HELPER_DAYS, habiles=True)
    assert time.thread_time() - started < 0.5
    assert far == _working_days_one_by_one("2026-03-02T09:00:00-05:00", budget.MAX_HELPER_DAYS)


@pytest.mark.parametrize(
    "call",
    [
        lambda: helpers.sumar_dias("2026-03-02T09:00:00-05:00", 200_000, habiles=True),
        lambda: helpers.sumar_dias("2026-03-02T09:00:00-05:00", -(budget.MAX_HELPER_DAYS + 1)),
        lambda: helpers.sumar_meses("2026-03-02T09:00:00-05:00", 100_000_000),
    ],
)
def test_helper_arguments_beyond_their_budget_are_refused_in_spanish(call):
    with pytest.raises(StepOverBudget, match="el máximo es"):
        call()
