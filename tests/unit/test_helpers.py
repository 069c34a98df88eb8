"""The named helpers a diagram calls to state its deadlines."""

from datetime import date

from engine.bpm import helpers


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
