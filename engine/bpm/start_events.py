"""What a procedure's start events say: its form, ticket prefix, record values and calendar.

A start event names in ``spiffworkflow:property`` values what the engine needs before the
first step runs: ``formulario`` (the start form), ``prefijo_ticket`` (``AC`` unless said),
``canal`` and ``tipo_caso`` (copied into the case record, so that a channel's diagram says
which channel it is), and, on a timer start event, ``selector`` (which runs the scheduler
starts, see ``engine.bpm.selectors``). A timer start event's ``timeCycle`` is its calendar.
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent as StartEventSpec

from engine.bpm import sandbox

DEFAULT_TICKET_PREFIX = "AC"
RECORD_PROPERTIES = ("canal", "tipo_caso")  # properties copied into the case record at the start


@dataclass(frozen=True)
class StartEvent:
    """One start event of a process, as the engine reads it."""

    bpmn_id: str
    name: str
    properties: dict
    timer: str | None  # the timer expression as written (a cycle: '"R/2026-01-05T08:00:00-05:00/P7D"')
    is_cycle: bool

    @property
    def ticket_prefix(self) -> str:
        return self.properties.get("prefijo_ticket", DEFAULT_TICKET_PREFIX)

    @property
    def record(self) -> dict:
        """The values this start event puts in the case record (``canal``, ``tipo_caso``)."""
        return {key: self.properties[key] for key in RECORD_PROPERTIES if key in self.properties}

    def cycle(self) -> str:
        """The ISO 8601 recurring interval of a timer start event, evaluated ('R/2026-…/P7D')."""
        return sandbox.RestrictedEnvironment().evaluate(self.timer, {})


def of(spec) -> list[StartEvent]:
    """The start events of a process (not of its subprocesses), in the order they are declared."""
    found = []
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEventSpec) and task_spec.bpmn_id:
            definition = task_spec.event_definition
            timer = definition.expression if isinstance(definition, TimerEventDefinition) else None
            found.append(
                StartEvent(
                    task_spec.bpmn_id,
                    task_spec.bpmn_name or task_spec.bpmn_id,
                    dict(getattr(task_spec, "extensions", {}).get("properties", {})),
                    timer,
                    isinstance(definition, CycleTimerEventDefinition),
                )
            )
    return found


def named(spec, bpmn_id: str | None = None) -> StartEvent | None:
    """The start event ``bpmn_id``, or the process's first one; None if it has none."""
    events = of(spec)
    if bpmn_id is None:
        return events[0] if events else None
    return next((e for e in events if e.bpmn_id == bpmn_id), None)


def scheduled(spec) -> list[StartEvent]:
    """The timer start events: the scheduler starts a run at each one on its calendar."""
    return [e for e in of(spec) if e.timer is not None]
