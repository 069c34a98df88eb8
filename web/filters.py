"""Dates as the office writes them: dd/mm/aaaa (and HH:MM), in Panamá time.

Babel's es_PA default patterns are month-first, so every format here is an explicit
pattern; values may be datetimes, dates or the ISO strings a case record keeps.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from babel.dates import format_date, format_datetime

from engine.clock import PANAMA

LOCALE = "es_PA"
DATE_PATTERN = "dd/MM/yyyy"
DATETIME_PATTERN = "dd/MM/yyyy HH:mm"


def init_app(app) -> None:
    """Register the date filters with the app's templates."""
    app.add_template_filter(fecha, "fecha")
    app.add_template_filter(fecha_hora, "fecha_hora")


def _moment(value) -> date | datetime | None:
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)  # the database keeps UTC
    return value if isinstance(value, date) else None


def fecha(value) -> str:
    """dd/mm/aaaa of a date or moment (the Panamá calendar day); text it cannot read is kept as is."""
    moment = _moment(value)
    if moment is None:
        return "" if value is None else str(value)
    if isinstance(moment, datetime):
        return format_datetime(moment, DATE_PATTERN, tzinfo=PANAMA, locale=LOCALE)
    return format_date(moment, DATE_PATTERN, locale=LOCALE)


def fecha_hora(value) -> str:
    """dd/mm/aaaa HH:MM of a moment in Panamá time; a bare date gives only dd/mm/aaaa."""
    moment = _moment(value)
    if not isinstance(moment, datetime):
        return fecha(value)
    return format_datetime(moment, DATETIME_PATTERN, tzinfo=PANAMA, locale=LOCALE)
