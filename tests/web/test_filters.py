"""Dates as the office writes them: dd/mm/aaaa, Panamá time (UTC−5), never month-first."""

from datetime import UTC, date, datetime

from web.ui.filters import fecha, fecha_hora


def test_dates_are_day_first_in_panama_time():
    late_evening = datetime(2026, 3, 2, 3, 30, tzinfo=UTC)  # 1 March, 22:30 in Panamá
    assert fecha(late_evening) == "01/03/2026"
    assert fecha_hora(late_evening) == "01/03/2026 22:30"
    assert fecha(date(2026, 12, 5)) == "05/12/2026"


def test_iso_strings_of_the_case_record_are_formatted_too():
    assert fecha("2026-04-01") == "01/04/2026"
    assert fecha("2026-04-01T09:00:00-05:00") == "01/04/2026"
    assert fecha_hora("2026-04-01T14:00:00+00:00") == "01/04/2026 09:00"


def test_empty_and_unreadable_values():
    assert fecha(None) == "" and fecha_hora(None) == ""
    assert fecha("mañana") == "mañana"
