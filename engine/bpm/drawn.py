"""Which diagram draws a task: the process it belongs to, through embedded subprocesses (drawn inside
their process) but not through call activities (the called procedure draws its own tasks).

The heatmap (``engine.indicators.steps``) counts time per step by that process, so the tasks of a
shared procedure such as the common tramitación are counted once on its own diagram, whichever
procedure called it.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity


def drawing_process(task) -> str:
    """The id of the ``bpmn:process`` whose diagram draws ``task``."""
    workflow = task.workflow
    while workflow.parent_task_id is not None:
        parent = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
        if isinstance(parent.task_spec, CallActivity):
            break
        workflow = parent.workflow
    return workflow.spec.name
