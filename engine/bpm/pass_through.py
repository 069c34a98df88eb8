"""Plain and manual tasks pass through: the engine completes them as it reaches them, as Camunda does.

A ``bpmn:task`` is the shape the editor's palette draws by default, and a ``bpmn:manualTask`` says
that someone does something outside the system. SpiffWorkflow makes both wait for a person like a
user task, but they name no form and no lane, so nobody could ever complete them. Atiende parses
both as this spec instead: it runs its pre- and post-scripts, if any, and goes on to the next step;
the case's path shows it done.
"""

from __future__ import annotations

from SpiffWorkflow.spiff.serializer.task_spec import SpiffBpmnTaskConverter
from SpiffWorkflow.spiff.specs.spiff_task import SpiffBpmnTask


class PassThroughTask(SpiffBpmnTask):
    """A task the engine completes by itself (``manual`` stays False)."""


# What the serializer adds to SpiffWorkflow's configuration to store and restore it.
CONVERTERS = {PassThroughTask: SpiffBpmnTaskConverter}
