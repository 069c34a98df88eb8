"""Dates as the office writes them: dd/mm/aaaa (and HH:MM), in Panamá time; and read back from a query.

Babel's es_PA default patterns are month-first, so every format here is written out by
hand, all digits: no locale is involved (Babel's lookups cost a task list of 25 rows
milliseconds, and ``strftime`` most of each date's time). Values may be datetimes, dates or
the ISO strings a case record keeps.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime

from engine.clock import DATE_ERROR, PANAMA, YEARS

MONTH_ERROR = f"El mes debe tener la forma aaaa-mm, con un año de {YEARS[0]} a {YEARS[-1]}."


def day(text: str) -> date | None:
    """A day typed as dd/mm/aaaa (as the office writes it) or sent as aaaa-mm-dd by a date picker.

    None for anything else, and for a year outside ``engine.clock.YEARS``: a filter «hasta
    31/12/9999» would overflow the moment the day after it is computed.
    """
    try:
        if "/" in text:
            day_, month, year = (int(p) for p in text.split("/"))
            found = date(year, month, day_)
        else:
            found = date.fromisoformat(text)
    except ValueError:
        return None
    return found if found.year in YEARS else None


def days_of(args: Mapping[str, str], keys: tuple[str, ...] = ("desde", "hasta")) -> tuple[dict, dict]:
    """The days a query gives under ``keys`` (each optional, as ``day`` reads it), and ``DATE_ERROR``
    beside each one that is not a day."""
    days: dict[str, date] = {}
    errors: dict[str, str] = {}
    for key in keys:
        text = args.get(key, "").strip()
        if text:
            found = day(text)
            if found is None:
                errors[key] = DATE_ERROR
            else:
                days[key] = found
    return days, errors


def month(text: str) -> tuple[int, int] | None:
    """(year, month) of aaaa-mm, or None (also for a year outside ``engine.clock.YEARS``)."""
    try:
        found = datetime.strptime(text, "%Y-%m")
    except ValueError:
        return None
    return (found.year, found.month) if found.year in YEARS else None


def init_app(app) -> None:
    """Register the date filters with the app's templates."""
    app.add_template_filter(fecha, "fecha")
    app.add_template_filter(fecha_hora, "fecha_hora")
    app.add_template_filter(detalle, "detalle")


def _moment(value) -> date | datetime | None:
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # the database keeps UTC
    return value if isinstance(value, date) else None


def fecha(value) -> str:
    """dd/mm/aaaa of a date or moment (the Panamá calendar day); text it cannot read is kept as is."""
    moment = _moment(value)
    if moment is None:
        return "" if value is None else str(value)
    if isinstance(moment, datetime):
        moment = moment.astimezone(PANAMA)
    return _day(moment)


def fecha_hora(value) -> str:
    """dd/mm/aaaa HH:MM of a moment in Panamá time; a bare date gives only dd/mm/aaaa."""
    moment = _moment(value)
    if not isinstance(moment, datetime):
        return fecha(value)
    here = moment.astimezone(PANAMA)
    return f"{_day(here)} {here.hour:02d}:{here.minute:02d}"


def _day(moment: date) -> str:
    """dd/mm/aaaa of a calendar day already in Panamá."""
    return f"{moment.day:02d}/{moment.month:02d}/{moment.year}"


def detalle(value) -> str:
    """A recorded detail as a reader takes it in: «clave: valor; …», accents as written (never \\u00f3).

    Nested values stay JSON, without ASCII escapes; the page escapes the text as any other.
    """
    if not isinstance(value, dict):
        return "" if value is None else _plain(value)
    return "; ".join(f"{key}: {_plain(item)}" for key, item in value.items())


def _plain(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
