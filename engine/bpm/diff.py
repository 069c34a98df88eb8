"""What changed between two versions of a procedure: elements (SpiffWorkflow's SpecDiff) and text.

The element summary says, in Spanish and by element name, which steps were added,
removed or changed and in what (script, condition, timer, form...); the text diff shows
the diagrams' XML and the forms line by line, for an auditor who wants the exact words.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.util.diff import SpecDiff

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
