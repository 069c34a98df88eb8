"""Multi-instance user tasks: one task per item of a list (a cleaning task per lot located).

Every instance fills the same form, so its submission cannot be merged into the case record
field by field (the last lot would overwrite the others). When the diagram names the loop's
output (``loopDataOutputRef`` and ``outputDataItem``, e.g. ``limpiezas`` / ``limpieza``), the
submission becomes that instance's output item, with the input item beside it
(``{"lote": {...}, "estado_limpieza": ...}``); SpiffWorkflow collects the items into the
output list, and the case record keeps the same list, one entry per item, in input order.
A step may name a ``rotulo``, an expression on the instance's data (``lote['ubicacion']``),
that tells its instances apart in the task list.
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask

from engine.bpm import sandbox


@dataclass(frozen=True)
class Instance:
    """Where one instance's submission goes: the loop's output list, its item name, its position."""

    collection: str
    item: str
    index: int
    input_item: str | None


def instance_of(task) -> Instance | None:
    """The loop a READY user task is an instance of, if that loop names its output."""
    loop = task.parent.task_spec if task.parent is not None else None
    if not isinstance(loop, MultiInstanceTask) or loop.data_output is None or loop.output_item is None:
        return None
    index = task.internal_data.get("key_or_index")
    return Instance(
        loop.data_output.bpmn_id,
        loop.output_item.bpmn_id,
        index if isinstance(index, int) else 0,
        loop.input_item.bpmn_id if loop.input_item is not None else None,
    )


def output_item(task, instance: Instance, data: dict) -> dict:
    """The instance's output item: its input item (when there is one) and the submission."""
    item = {instance.input_item: task.data.get(instance.input_item)} if instance.input_item else {}
    return {**item, **data}


def recorded(record: dict, instance: Instance, item: dict) -> dict:
    """The case record with ``item`` at the instance's position of the output list."""
    entries = [e for e in record.get(instance.collection, []) if e.get("n") != instance.index + 1]
    entries.append({"n": instance.index + 1, **item})
    return {**record, instance.collection: sorted(entries, key=lambda e: e["n"])}


def label(task, rotulo: str | None) -> str | None:
    """What tells this instance apart (the step's ``rotulo`` on its data), or None."""
    if not rotulo:
        return None
    try:
        value = sandbox.RestrictedEnvironment().evaluate(rotulo, task.data)
    except Exception:  # noqa: BLE001 - a label must never stop a case; the plain name is shown
        return None
    return str(value)[:120] if value not in (None, "") else None
