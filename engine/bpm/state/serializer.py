"""Workflow state without its spec: specs are stored once per procedure version.

SpiffWorkflow's serializer embeds the whole spec in every instance (69 % of a mid-case
instance) and restores it on every load. Our converter writes only the instance, and
restores it onto spec objects the caller already holds (parsed once per version and
cached), so a load costs the instance alone.

A stored state carries Atiende's own format label (``FORMAT``), not the library's: the
converters below read and write SpiffWorkflow's task objects directly, so what a state means
is ours to say. A state of another format is refused by name; states written before the
label carry the library's ``serializer_version`` 1.5 and are the same format.

A state is stored compressed by Zstandard, with its database's dictionaries
(``engine.bpm.state.codec``): a case's row holds about 2 KB instead of 29 (bench/storage.py).
"""

from __future__ import annotations

from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.bpm import loops, pass_through, task_ids
from engine.bpm.state.codec import PLAIN, StateCodec, settled
from engine.errors import StoredStateError


class _Memo(dict):
    """Values made once per key; emptied when it holds ``limit`` of them."""

    # A sweep of 1,000 cases makes about 50,000 ids, and a case's ids are named within its own load
    # or dump: 500,000 of them held about 90 MB of a server that had run 7,000 cases.
    def __init__(self, make, limit: int = 50_000):
        super().__init__()
        self._make, self._limit = make, limit

    def __missing__(self, key):
        if len(self) >= self._limit:
            self.clear()
        value = self[key] = self._make(key)
        return value


# Task ids, parsed and printed once each. An instance names every id three or four times (its
# key, the task's own id, its parent's list of children, its children's parent), and parsing
# and printing UUIDs was a fifth of the time of a load and a dump (bench/timers.py). Printed ids
# are looked up by the id's number: a UUID's own hash and equality are Python methods, and
# looking ids up by them was a third of a dump.
_uuid = _Memo(UUID).__getitem__
_text = _Memo(lambda number: str(UUID(int=number))).__getitem__


_TASK_TYPENAME = Task.__name__  # the registry names a converted class by its name


def _task_to_dict(task, registry) -> dict:
    """A task as SpiffWorkflow 3.2's converter writes it, typename included (the registry's dispatch skipped)."""
    parent = task.parent
    internal_data = task.internal_data
    return {
        "id": _text(task.id.int),
        # private part of SpiffWorkflow (Task._parent/_children): the ids, as its converter writes them
        "parent": _text(task._parent.int) if parent is not None else None,
        "children": [_text(child.int) for child in task._children],  # private part of SpiffWorkflow, as above
        "last_state_change": task.last_state_change,
        "state": task.state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": registry.convert(internal_data) if internal_data else {},
        "data": task.data if parent is None else {},
        "delta": {}
        if parent is None
        else {
            "updates": DeepMerge.get_updated_keys(parent.data, task.data),
            "deletions": DeepMerge.get_deleted_keys(parent.data, task.data),
        },
        "typename": _TASK_TYPENAME,
    }


def _tasks_to_dict(tasks: dict, registry) -> dict:
    """A workflow's task map, each task converted directly: this is most of a dump."""
    return {_text(task_id.int): _task_to_dict(task, registry) for task_id, task in tasks.items()}


_new_task = Task.__new__  # a Task without Task.__init__: _restore_tasks sets what the converter would
_CONTAINERS = frozenset((dict, list, set))


def _restore_tasks(stored: dict, workflow, registry) -> None:
    """Fill a workflow's task map and root from SpiffWorkflow 3.2's format, directly: this is most of a load.

    What the library's converter does for each task, without its dispatch through the
    registry (which copies every task's dictionary) and without ``Task.__init__`` (which
    draws a random id, reads the clock and looks the parent up, all to be overwritten).
    A task's data is stored as its changes from its parent's; tasks are listed in the order
    they were made, parents first, so each parent is restored before its children.
    tests/integration/test_serialization.py checks that the library restores the same tasks.
    """
    restore = registry.restore
    specs = workflow.spec.task_specs
    event_manager = workflow.top_workflow.event_manager
    restored = workflow.tasks  # a task finds its parent here
    for key, dct in stored["tasks"].items():
        task = _new_task(Task)
        task.id = task_id = _uuid(key)
        task.workflow = workflow
        # private part of SpiffWorkflow (Task._parent/_children/_state): set as its converter sets them
        task._parent = parent_id = _uuid(dct["parent"]) if dct["parent"] is not None else None
        task._children = [_uuid(child) for child in dct["children"]]  # private part of SpiffWorkflow, as above
        task._state = dct["state"]  # private part of SpiffWorkflow: the state setter would log and restamp the change
        task.triggered = dct["triggered"]
        task.task_spec = spec = specs[dct["task_spec"]]
        task.thread_id = Task.thread_id_pool
        task.last_state_change = dct["last_state_change"]
        internal_data = dct["internal_data"]
        task.internal_data = restore(internal_data) if internal_data else {}
        parent = restored.get(parent_id)
        delta = dct.get("delta")
        if delta and parent is not None:
            # The parent's data, its containers copied one level deep (as DeepMerge.merge({}, ...) does).
            # Restored data holds these exact types (never a subclass), so comparing types is enough.
            inherited = parent.data
            data = inherited.copy()
            for name, value in inherited.items():
                if type(value) in _CONTAINERS:
                    data[name] = value.copy()
            updates = delta.get("updates")
            if updates:
                data.update(restore(updates))
            for name in delta.get("deletions", ()):
                data.pop(name, None)
        else:
            data = restore(dct["data"])
        task.data = data
        restored[task_id] = task
        # private part of SpiffWorkflow (Task._state): has_state(WAITING) without a method call per task
        if isinstance(spec, CatchingEvent) and task._state & TaskState.WAITING:
            event_manager.add_task(task)
    workflow.task_tree = restored.get(_uuid(stored["root"]))


def _workflow_to_dict(converter: WorkflowConverter, workflow) -> dict:
    """``WorkflowConverter.to_dict`` with the task map converted directly."""
    registry = converter.registry
    return {
        "data": registry.convert(registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": _text(workflow.last_task.id.int) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": _tasks_to_dict(workflow.tasks, registry),
        "root": _text(workflow.task_tree.id.int),
    }


class _SubWorkflowConverter(BpmnSubWorkflowConverter):
    def to_dict(self, workflow):
        dct = _workflow_to_dict(self, workflow)
        dct["parent_task_id"] = _text(workflow.parent_task_id.int)
        dct["spec"] = workflow.spec.name
        return dct

    def from_dict(self, dct, task, top_workflow):
        spec = top_workflow.subprocess_specs.get(task.task_spec.spec)
        subprocess = self.target_class(spec, task.id, top_workflow, deserializing=True)
        _restore_tasks(dct, subprocess, self.registry)
        self.set_default_attributes(subprocess, dct)
        return subprocess


class _InstanceConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow):
        dct = _workflow_to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        _restore_tasks(dct, workflow, self.registry)
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


FORMAT_KEY = "atiende_formato"
LAST_ID_KEY = "atiende_ultimo_id"  # the last task id the workflow issued (engine.bpm.task_ids); absent before it
FORMAT = 1  # raise it, with a migration of the stored states, when what a state holds changes
_BEFORE_THE_LABEL = ("serializer_version", "1.5")  # what SpiffWorkflow 3.2.0's serializer wrote instead


class InstanceSerializer:
    """Dumps a workflow's instance state to JSON and restores it onto given specs."""

    def __init__(self, codec: StateCodec = PLAIN):
        self.codec = codec
        config = {**SPIFF_CONFIG, **pass_through.CONVERTERS, **loops.CONVERTERS}
        config[BpmnWorkflow] = _InstanceConverter
        config[BpmnSubWorkflow] = _SubWorkflowConverter
        self._serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
        self._encode_other = create_encoder(self._serializer.registry)().default
        # The full serializer, for specs (stored once per version as plain JSON).
        self._specs = BpmnWorkflowSerializer(
            BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, **pass_through.CONVERTERS, **loops.CONVERTERS})
        )

    @property
    def spec_registry(self):
        """The converter registry SpiffWorkflow's spec diffs compare task specs with."""
        return self._specs.registry

    def dumps(self, workflow: BpmnWorkflow) -> bytes:
        """The library's ``serialize_json``, encoded by orjson (the stdlib encoder was 40 % of a dump), then packed.

        Values JSON has no type for go to the library's encoder, as before (datetimes included,
        passed through). Only a ``UUID`` would differ (orjson writes it as text), and none is
        in an instance: task ids are written as text above, and case data is form and script
        values (``engine.forms.schemas``, ``engine.bpm.scripting.sandbox``).
        """
        serializer = self._serializer
        # private part of SpiffWorkflow (registry._encoder_mode): what serialize_json sets, to convert for an encoder
        serializer.registry._encoder_mode = True
        try:
            dct = serializer.to_dict(workflow)
        finally:
            serializer.registry._encoder_mode = False  # private part of SpiffWorkflow, as above
        dct[FORMAT_KEY] = FORMAT
        last_id = task_ids.last_issued(workflow)
        if last_id is not None:
            dct[LAST_ID_KEY] = last_id
        if dct["completed"]:
            settled(dct)
        return self.codec.pack(orjson.dumps(dct, default=self._encode_other, option=_JSON_OPTIONS), dct["completed"])

    def loads(self, stored: bytes | str, spec, subprocess_specs) -> BpmnWorkflow:
        """A stored state restored onto the specs of its version; ``StoredStateError`` if its format is not ours."""
        dct = orjson.loads(self.codec.unpack(stored))  # the same objects json.loads makes, in a third of the time
        found = dct.pop(FORMAT_KEY, None)
        if found is None and dct.get(_BEFORE_THE_LABEL[0]) == _BEFORE_THE_LABEL[1]:
            del dct[_BEFORE_THE_LABEL[0]]
            found = FORMAT
        if found != FORMAT:
            raise StoredStateError(
                f"El estado guardado del caso tiene el formato {found!r} y esta versión de Atiende lee el "
                f"formato {FORMAT}: actualice Atiende o migre los estados guardados."
            )
        last_id = dct.pop(LAST_ID_KEY, None)
        workflow = self._serializer.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
        task_ids.restore(workflow, last_id)
        return workflow

    def spec_to_dict(self, spec, subprocess_specs) -> dict:
        return {
            "spec": self._specs.to_dict(spec),
            "subprocess_specs": {name: self._specs.to_dict(s) for name, s in subprocess_specs.items()},
        }

    def spec_from_dict(self, dct: dict):
        spec = self._specs.from_dict(dct["spec"])
        subprocess_specs = {name: self._specs.from_dict(s) for name, s in dct["subprocess_specs"].items()}
        return spec, subprocess_specs
