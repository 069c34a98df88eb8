"""Workflow state without its spec: specs are stored once per procedure version.

SpiffWorkflow's serializer embeds the whole spec in every instance (69 % of a mid-case
instance, ENGINE_NOTES.md) and restores it on every load. Our converter writes only the
instance, and restores it onto spec objects the caller already holds (parsed once per
version and cached), so a load costs the instance alone.
"""
from __future__ import annotations

import json
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


class _InstanceConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class InstanceSerializer:
    """Dumps a workflow's instance state to JSON and restores it onto given specs."""

    def __init__(self):
        config = dict(SPIFF_CONFIG)
        config[BpmnWorkflow] = _InstanceConverter
        self._serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
        # The full serializer, for specs (stored once per version as plain JSON).
        self._specs = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

    @property
    def spec_registry(self):
        """The converter registry SpiffWorkflow's spec diffs compare task specs with."""
        return self._specs.registry

    def dumps(self, workflow: BpmnWorkflow) -> str:
        return self._serializer.serialize_json(workflow)

    def loads(self, text: str, spec, subprocess_specs) -> BpmnWorkflow:
        dct = json.loads(text)
        self._serializer.migrate(dct)
        return self._serializer.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)

    def spec_to_dict(self, spec, subprocess_specs) -> dict:
        return {
            "spec": self._specs.to_dict(spec),
            "subprocess_specs": {name: self._specs.to_dict(s) for name, s in subprocess_specs.items()},
        }

    def spec_from_dict(self, dct: dict):
        spec = self._specs.from_dict(dct["spec"])
        subprocess_specs = {name: self._specs.from_dict(s) for name, s in dct["subprocess_specs"].items()}
        return spec, subprocess_specs
