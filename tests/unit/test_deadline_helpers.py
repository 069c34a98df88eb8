"""The helpers that state the manuals' deadlines: «30 días o el mes», «un día antes de la visita»."""

import pytest

from engine.bpm.scripting import helpers, sandbox


@pytest.mark.parametrize(
    "start,expected",
    [
        ("2026-03-02T09:00:00-05:00", "2026-04-02T09:00:00-05:00"),
        ("2026-01-31T09:00:00-05:00", "2026-02-28T09:00:00-05:00"),  # a month never spills into the next
        ("2028-01-31T09:00:00-05:00", "2028-02-29T09:00:00-05:00"),  # leap year
        ("2026-12-15T16:30:00-05:00", "2027-01-15T16:30:00-05:00"),  # across the year
    ],
)
def test_one_calendar_month_later_keeps_day_and_hour(start, expected):
    assert helpers.sumar_meses(start, 1) == expected


def test_the_legal_term_is_30_days_or_the_month_whichever_comes_first():
    rule = "primero(sumar_dias(fecha_inicio, 30, habiles=False), sumar_meses(fecha_inicio, 1))"
    env = sandbox.RestrictedEnvironment()
    # March has 31 days: 30 days come first (1 April, not 2 April)
    assert env.evaluate(rule, {"fecha_inicio": "2026-03-02T09:00:00-05:00"}) == "2026-04-01T09:00:00-05:00"
    # February: the month comes first (2 March, not 4 March)
    assert env.evaluate(rule, {"fecha_inicio": "2026-02-02T09:00:00-05:00"}) == "2026-03-02T09:00:00-05:00"


def test_counting_back_one_working_day_skips_the_weekend_and_holidays():
    # a visit on Monday 9 March 2026: the working day before is Friday 6 March
    assert helpers.sumar_dias("2026-03-09", -1, habiles=True) == "2026-03-06T00:00:00-05:00"
    # Tuesday 5 January 2027: Monday 4 is a working day
    assert helpers.sumar_dias("2027-01-05", -1, habiles=True) == "2027-01-04T00:00:00-05:00"
    # Monday 4 January 2027: 1 January is a holiday, 2-3 a weekend: back to Thursday 31 December
    assert helpers.sumar_dias("2027-01-04", -1, habiles=True) == "2026-12-31T00:00:00-05:00"
    assert helpers.sumar_dias("2026-03-09", -1) == "2026-03-08T00:00:00-05:00"
