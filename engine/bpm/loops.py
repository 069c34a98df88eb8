"""Multi-instance user tasks: one task per item of a list (a cleaning task per lot located).

Every instance fills the same form, so its submission cannot be merged into the case record
field by field (the last lot would overwrite the others). When the diagram names the loop's
output (``loopDataOutputRef`` and ``outputDataItem``, e.g. ``limpiezas`` / ``limpieza``), the
submission becomes that instance's output item, with the input item beside it
(``{"lote": {...}, "estado_limpieza": ...}``); SpiffWorkflow collects the items into the
output list, and the case record keeps the same list, one entry per item, in input order.
A step may name a ``rotulo``, an expression on the instance's data (``lote['ubicacion']``),
that tells its instances apart in the task list.

Atiende parses every multi-instance task as a bounded one: it counts its instances (the
cardinality's value, the input list's length) before SpiffWorkflow makes them, and stops the
step past ``budget.MAX_INSTANCES`` with StepOverBudget naming the task.
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.spiff.serializer.task_spec import SpiffMultiInstanceConverter
from SpiffWorkflow.spiff.specs.defaults import ParallelMultiInstanceTask, SequentialMultiInstanceTask

from engine.bpm.scripting import budget, sandbox
from engine.errors import StepOverBudget


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


def looped_name(loop, specs) -> str | None:
    """The name of a task spec, or of the task a loop spec repeats (the loop's own carries only its id)."""
    inner = specs.get(getattr(loop, "task_spec", None))
    return loop.bpmn_name or (inner.bpmn_name if inner is not None else None)


def _within_bound(spec, my_task, instances: object) -> None:
    """StepOverBudget naming the task if it would make more than ``MAX_INSTANCES`` instances."""
    if isinstance(instances, int) and instances > budget.MAX_INSTANCES:
        reason = f"crearía {instances} instancias, más de {budget.MAX_INSTANCES} instancias por tarea múltiple"
        raise StepOverBudget(reason, spec.bpmn_id, looped_name(spec, my_task.workflow.spec.task_specs))


def _input_length(spec, my_task) -> object:
    data = spec.data_input.get(my_task) if spec.data_input.exists(my_task) else None
    return len(data) if isinstance(data, (list, tuple, dict, str)) else None


class BoundedParallelMultiInstanceTask(ParallelMultiInstanceTask):
    """A parallel multi-instance task that counts its instances before SpiffWorkflow makes them all at once,
    in one call no step meter can interrupt."""

    def create_children(self, my_task):
        if self.data_input is not None:
            instances = _input_length(self, my_task)
        else:
            instances = my_task.workflow.script_engine.evaluate(my_task, self.cardinality)
        _within_bound(self, my_task, instances)
        super().create_children(my_task)


class BoundedSequentialMultiInstanceTask(SequentialMultiInstanceTask):
    """A sequential multi-instance task bounded like the parallel one, checked before its first instance."""

    def add_next_child(self, my_task):
        if not self._merged_children(my_task):
            if self.data_input is not None:
                _within_bound(self, my_task, len(my_task.internal_data.get("remaining", [])))
            else:
                _within_bound(self, my_task, my_task.internal_data.get("cardinality"))
        super().add_next_child(my_task)


def bounded(parser_class: type) -> type:
    """``parser_class``, making bounded multi-instance specs (``engine.bpm.parsing`` parses with these)."""
    return type(
        parser_class.__name__,
        (parser_class,),
        {
            "PARALLEL_MI_CLASS": BoundedParallelMultiInstanceTask,
            "SEQUENTIAL_MI_CLASS": BoundedSequentialMultiInstanceTask,
        },
    )


# What the serializer adds to SpiffWorkflow's configuration to store and restore them.
CONVERTERS = {
    BoundedParallelMultiInstanceTask: SpiffMultiInstanceConverter,
    BoundedSequentialMultiInstanceTask: SpiffMultiInstanceConverter,
}
