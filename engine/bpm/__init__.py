"""Diagrams and their execution: the only package that imports SpiffWorkflow.

SpiffWorkflow's timer code calls ``datetime.now(timezone.utc)`` through the module-global
name ``datetime`` of ``SpiffWorkflow.bpmn.specs.event_definitions.timer``; both arming a
timer and deciding whether it fired read it. Importing this package replaces that name once
with a subclass whose ``now()`` asks ``engine.clock`` for the clock active in the current
context, so the engine's time and SpiffWorkflow's always agree. It also replaces the global
``uuid4`` its task module names tasks with by ``engine.bpm.task_ids.next_id``: a workflow's
tasks share a stem and count up, which its stored state compresses.

Importing it also checks that the installed SpiffWorkflow is the one the engine was built
and tested with (``SPIFFWORKFLOW``): the serializer and the clock above reach into its
insides, which a new release may change without notice.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from importlib import metadata

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _spiff_timer
import SpiffWorkflow.task as _spiff_task

from engine import clock
from engine.bpm import task_ids
from engine.errors import UnsupportedLibrary

SPIFFWORKFLOW = "3.2.0"  # pyproject.toml pins the same


def check_library(installed: str | None = None) -> None:
    """Refuse to run on a SpiffWorkflow other than ``SPIFFWORKFLOW``, saying what to re-check before an upgrade."""
    installed = installed or metadata.version("SpiffWorkflow")
    if installed != SPIFFWORKFLOW:
        raise UnsupportedLibrary(
            f"Atiende está probado con SpiffWorkflow {SPIFFWORKFLOW} y encontró la versión {installed}. "
            "Instale la versión fijada (make install) o, para actualizar, revise engine/bpm/state/serializer.py "
            "y engine/bpm/__init__.py (usan partes internas de la biblioteca), pase "
            "tests/integration/test_serialization.py y cambie SPIFFWORKFLOW y pyproject.toml juntos."
        )


check_library()


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        current = clock.now()
        return current.astimezone(tz) if tz is not None else current.astimezone(UTC).replace(tzinfo=None)


# private part of SpiffWorkflow (its timer module's global ``datetime``), replaced: its timers have no clock to inject.
_spiff_timer.datetime = _ClockedDatetime
# private part of SpiffWorkflow (its task module's global ``uuid4``), replaced: Task.__init__ takes no id source.
_spiff_task.uuid4 = task_ids.next_id
