"""What changed between two versions of a procedure: elements (SpiffWorkflow's SpecDiff) and text.

The element summary says, in Spanish and by element name, which steps were added,
removed or changed and in what (script, condition, timer, form...); the text diff shows
the diagrams' XML and the forms line by line, for an auditor who wants the exact words.
``align`` moves a running case's workflow onto another version's specs, saying what blocks
the move and which steps changed (``engine.procedures.case_migration`` decides and records).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from engine.procedures.versions import Procedure

# SpiffWorkflow's task-spec attributes, as an analyst or auditor names them.
ATTRIBUTES = {
    "typename": "tipo de elemento",
    "bpmn_name": "nombre",
    "script": "script",
    "prescript": "script previo",
    "postscript": "script posterior",
    "cond_task_specs": "condiciones",
    "default_task_spec": "flujo por defecto",
    "event_definition": "evento o temporizador",
    "documentation": "instrucciones",
    "extensions": "propiedades (formulario, plazo)",
    "lane": "carril (rol)",
    "inputs": "flujos de entrada",
    "outputs": "flujos de salida",
    "spec": "proceso llamado",
    "cancel_activity": "interrumpe la actividad",
    "condition": "condición de repetición",
    "cardinality": "cardinalidad",
}


@dataclass(frozen=True)
class Element:
    element_id: str
    name: str


@dataclass(frozen=True)
class ElementChange:
    element: Element
    what: tuple[str, ...]


@dataclass
class SpecSummary:
    """Elements added, removed and changed from one version's specs to another's."""

    added: list[Element] = field(default_factory=list)
    removed: list[Element] = field(default_factory=list)
    changed: list[ElementChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class TextDiff:
    """A unified diff of one file (a diagram or a form) between two versions."""

    name: str
    lines: tuple[str, ...]

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.startswith("+") and not line.startswith("+++"))

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.startswith("-") and not line.startswith("---"))


def element(task_spec) -> Element | None:
    """The diagram element a task spec stands for; None for SpiffWorkflow's internal specs."""
    bpmn_id = getattr(task_spec, "bpmn_id", None)
    if bpmn_id is None:
        return None
    return Element(bpmn_id, task_spec.bpmn_name or bpmn_id)


def attributes(keys) -> tuple[str, ...]:
    """SpecDiff's changed attribute keys in Spanish, without duplicates."""
    return tuple(dict.fromkeys(ATTRIBUTES.get(k, k) for k in keys))


def spec_summary(registry, old: Procedure, new: Procedure) -> SpecSummary:
    """What changed in the process and in each of its subprocesses, by element."""
    summary = SpecSummary()
    pairs = [(old.spec, new.spec)] + [
        (old.subprocess_specs[n], new.subprocess_specs.get(n)) for n in old.subprocess_specs
    ]
    for name, spec in new.subprocess_specs.items():
        if name not in old.subprocess_specs:
            summary.added.extend(filter(None, map(element, spec.task_specs.values())))
    for before, after in pairs:
        if after is None:
            summary.removed.extend(filter(None, map(element, before.task_specs.values())))
            continue
        diff = SpecDiff(registry, before, after)
        summary.added.extend(filter(None, map(element, diff.added)))
        summary.removed.extend(filter(None, map(element, diff.removed)))
        for spec, keys in diff.changed.items():
            found = element(spec)
            if found is not None:
                summary.changed.append(ElementChange(found, attributes(keys)))
    return summary


def text_diffs(old: dict[str, str], new: dict[str, str]) -> list[TextDiff]:
    """Unified diffs of every file that differs between two name → text mappings."""
    diffs = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name, ""), new.get(name, "")
        if before != after:
            lines = difflib.unified_diff(
                before.splitlines(),
                after.splitlines(),
                fromfile=f"anterior/{name}",
                tofile=f"nueva/{name}",
                lineterm="",
                n=2,
            )
            diffs.append(TextDiff(name, tuple(lines)))
    return diffs


def form_texts(forms: dict[str, dict]) -> dict[str, str]:
    """Forms as stable, readable JSON text, so their diffs show field by field."""
    return {
        f"{name}.json": json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True)
        for name, schema in forms.items()
    }


# -- moving a case to another version -----------------------------------------------------------
UNFINISHED = TaskState.NOT_FINISHED_MASK


@dataclass
class Alignment:
    """What aligning a case's workflow with another version found: what blocks the move, what changed."""

    blockers: list[str] = field(default_factory=list)
    changed_pending: list[ElementChange] = field(default_factory=list)  # steps ahead whose definition changed
    changed_done: list[Element] = field(default_factory=list)  # steps already done that changed (not re-run)


def align(registry, workflow, target: Procedure) -> Alignment:
    """Align every (sub)workflow of a case with the target's specs and move it there, unless something blocks.

    SpiffWorkflow's ``diff_workflow``/``migrate_workflow`` (marked new upstream) do the aligning;
    they reset what is READY or WAITING, so the caller restores the armed timers after it.
    """
    alignment = Alignment()
    top, subs = diff_workflow(registry, workflow, target.spec, target.subprocess_specs)
    diffs = [(workflow, top, target.spec)]
    for sub_id, sub_diff in subs.items():
        sub = workflow.subprocesses[sub_id]
        if sub_diff is None:
            alignment.blockers.append(f"el subproceso «{sub.spec.name}» ya no existe en la versión {target.version}")
            continue
        diffs.append((sub, sub_diff, target.subprocess_specs[sub.spec.name]))
    for _owner, diff, _spec in diffs:
        for task in diff.removed:
            found = element(task.task_spec)
            if found is not None and task.state & UNFINISHED:
                alignment.blockers.append(
                    f"el paso «{found.name}» ({TaskState.get_name(task.state).lower()}) "
                    f"ya no existe en la versión {target.version}"
                )
        for task in diff.changed:
            found = element(task.task_spec)
            if found is None:
                continue
            if task.state & UNFINISHED:
                change = ElementChange(found, attributes(_changed_keys(registry, task.task_spec, diff.alignment[task])))
                if change not in alignment.changed_pending:
                    alignment.changed_pending.append(change)
            elif task.state == TaskState.COMPLETED and found not in alignment.changed_done:
                alignment.changed_done.append(found)
    if alignment.blockers:
        return alignment
    for owner, diff, spec in diffs:
        migrate_workflow(diff, owner, spec)
    workflow.subprocess_specs = target.subprocess_specs
    return alignment


def _changed_keys(registry, old_spec, new_spec) -> list[str]:
    before, after = registry.convert(old_spec), registry.convert(new_spec)
    return [k for k, v in before.items() if after.get(k) != v]


def restore_timers(workflow, armed: dict) -> None:
    """Put back the due time of every timer armed before the migration (a cycle: its next firing)."""
    for task_id, (_name, value, _due) in armed.items():
        task = workflow.get_task_from_id(task_id)
        if task is None or task.state not in (TaskState.WAITING, TaskState.READY):
            continue
        fresh = task.internal_data.get("event_value")
        if isinstance(value, dict) and isinstance(fresh, dict):
            value = {**fresh, "next": value["next"], "cycles": value["cycles"]}
        task.internal_data["event_value"] = value
        task.internal_data.pop("event_fired", None)
        if task.state == TaskState.READY:
            # Re-armed from now it fired at once; with its own due time back it waits again.
            # private part of SpiffWorkflow (Task._set_state, TaskSpec._update): no public call re-arms a timer
            task._set_state(TaskState.WAITING)
            task.task_spec._update(task)  # private part of SpiffWorkflow, as above


def pending_steps(workflow) -> list[str]:
    """The names of the user tasks a workflow waits on."""
    return sorted(
        t.task_spec.bpmn_name or t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)
    )
