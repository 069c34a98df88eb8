"""What a token does when it reaches a user task that is already open in the case: the ``repeticion`` property.

A non-interrupting cycle timer (the weekly follow-up, the biweekly review) sends a token to its
task every period, whether or not the last one was answered; SpiffWorkflow makes a new task each
time, so a silent enlace found four identical rows after a month. The diagram says which tasks
must not pile up, in the user task's ``spiffworkflow:property`` «repeticion»:

- ``acumular`` (what a task without the property does): every token makes its own task.
- ``renovar``: at most one open task of that element per case. A token that reaches it while
  one is open ends there, without a task (what follows the element does not run for it), and
  the open task gets the due date a new one would have had, counted from now; the audit trail
  records it (``tarea_renovada``). The open task keeps who took it.

The rule runs in the runtime after every move of a case (``engine.bpm.runtime``), so a sweep that
catches up several periods at once leaves one task, and a case migrated with a pile collapses
into its oldest task at its next move. A case's tasks share its dirección, and each element sits
in one lane: one open task per element and case is one per case and enlace. The instances of a
multi-instance task are meant to be several (a cleaning task per lot) and are never collapsed.
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask

PROPERTY = "repeticion"
RENEW = "renovar"
ACCUMULATE = "acumular"
VALUES = (ACCUMULATE, RENEW)


def policy(task_spec) -> str:
    """The element's ``repeticion`` (``acumular`` when it says none)."""
    properties = getattr(task_spec, "extensions", {}).get("properties", {})
    return properties.get(PROPERTY) or ACCUMULATE


def problem(task_spec) -> str | None:
    """What is wrong with an element's ``repeticion``, in Spanish, or None."""
    properties = getattr(task_spec, "extensions", {}).get("properties", {})
    if PROPERTY not in properties:
        return None
    value = properties[PROPERTY]
    if not isinstance(task_spec, UserTaskMixin):
        return "la propiedad «repeticion» solo vale en una tarea de usuario"
    if value not in VALUES:
        return f"la propiedad «repeticion» vale «{RENEW}» o «{ACCUMULATE}», no «{value}»"
    return None


@dataclass(frozen=True)
class Renewal:
    """A token that ended at an element whose task was open: ``kept`` is the open task's id."""

    kept: str
    bpmn_id: str
    name: str


def collapse(ready: list, open_before: set[str]) -> list[Renewal]:
    """End every token that reached a ``renovar`` user task already open; one Renewal per ended token.

    ``ready`` are the case's READY user tasks in the order they were made; ``open_before`` the ids
    that had a task row before this move. The task kept is the oldest one with a row (else the
    oldest): the one people already see. The others are cancelled, so their rows go.
    """
    groups: dict[str, list] = {}
    for task in ready:
        looped = task.parent is not None and isinstance(task.parent.task_spec, MultiInstanceTask)
        if policy(task.task_spec) == RENEW and not looped:
            groups.setdefault(task.task_spec.bpmn_id, []).append(task)
    renewals = []
    for bpmn_id, tasks in groups.items():
        if len(tasks) < 2:
            continue
        kept = next((t for t in tasks if str(t.id) in open_before), tasks[0])
        for task in tasks:
            if task is not kept:
                task.cancel()
                renewals.append(Renewal(str(kept.id), bpmn_id, task.task_spec.bpmn_name or bpmn_id))
    return renewals
