"""Time for the whole engine, injectable so that tests can move it forward.

SpiffWorkflow's timer code calls ``datetime.now(timezone.utc)`` through the module-global
name ``datetime`` of ``SpiffWorkflow.bpmn.specs.event_definitions.timer``; both arming a
timer and deciding whether it fired read it. We replace that name once with a subclass
whose ``now()`` asks the clock active in the current context, so the engine's clock and
SpiffWorkflow's always agree.
"""

from __future__ import annotations

import contextlib
import contextvars
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _spiff_timer

PANAMA = ZoneInfo("America/Panama")


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

    def advance(self, **delta) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


_active: contextvars.ContextVar = contextvars.ContextVar("atiende_clock", default=SystemClock())  # noqa: B039 - a SystemClock holds no state


def now() -> datetime:
    """The current time of the active clock (aware, UTC)."""
    return _active.get().now()


@contextlib.contextmanager
def using(clock):
    """Make ``clock`` the engine's (and SpiffWorkflow's) time source inside the block."""
    token = _active.set(clock)
    try:
        yield clock
    finally:
        _active.reset(token)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        current = _active.get().now()
        return current.astimezone(tz) if tz is not None else current.astimezone(UTC).replace(tzinfo=None)


_spiff_timer.datetime = _ClockedDatetime
