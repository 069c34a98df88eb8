"""Time for the whole engine, injectable so that tests can move it forward.

``using(clock)`` makes a clock the current one for a block; ``now()`` reads it. SpiffWorkflow's
timers read the same clock (``engine.bpm`` sees to it), so the engine's time and theirs agree.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

PANAMA = ZoneInfo("America/Panama")
# The years a person or a program may ask about (filters, Open311 dates). Beyond them a date is a
# typing mistake or a probe, and near datetime's own ends (years 1 and 9999) adding a day or
# moving to UTC overflows.
YEARS = range(1900, 3000)
DATE_ERROR = f"Fecha inválida; escríbala como dd/mm/aaaa, con un año de {YEARS[0]} a {YEARS[-1]}."


class Clock(Protocol):
    """Anything that tells the time: ``SystemClock``, ``FrozenClock``."""

    def now(self) -> datetime: ...


_C = TypeVar("_C", bound=Clock)


class SystemClock:
    """The real time, always timezone-aware (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to; used by tests and benchmarks."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


_active: contextvars.ContextVar[Clock] = contextvars.ContextVar("atiende_clock", default=SystemClock())  # noqa: B039 - a SystemClock holds no state


def now() -> datetime:
    """The current time of the active clock (aware, UTC)."""
    return _active.get().now()


@contextlib.contextmanager
def using(clock: _C) -> Iterator[_C]:
    """Make ``clock`` the engine's (and SpiffWorkflow's) time source inside the block."""
    token = _active.set(clock)
    try:
        yield clock
    finally:
        _active.reset(token)
