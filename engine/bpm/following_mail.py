"""What the service tasks right after a user task would ask for, worked out without running the step.

The «Registrar respuesta final al ciudadano» task previews its e-mail as the citizen will receive it
(``engine.cases.conversation.preview``). The preview must be the message the step writes, not an
imitation of it, so nothing here knows a template or a field: the diagram says which operator
follows the task and with which parameters; those are evaluated on the task's data as SpiffWorkflow
evaluates them (``ServiceTask.evaluate_params``, in the restricted environment) and the operator
itself is run (``operators.run``), as the runtime would run it. Operators are pure functions, so
running one for a preview changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.bpm.scripting import operators, sandbox
from engine.procedures.versions import Procedure


@dataclass(frozen=True)
class Following:
    """One operator a user task's completion runs next: its name, its result, what it asks for."""

    operator: str
    result: dict
    effects: list


def to_citizen(procedure: Procedure, bpmn_id: str, data: dict) -> list[Following]:
    """The operators writing to the citizen that run right after user task ``bpmn_id``, on ``data``
    (the task's data with the form's values); [] when none follows it.

    An operator writes to the citizen when its template must show the ticket number
    (``Operator.needs_ticket``: every template for the citizen must, ``engine.mail.texts``). Only
    the service tasks that directly follow the task are read, one after another: past a gateway
    or a wait, what runs depends on more than this form.
    """
    found: list[Following] = []
    for spec in (procedure.spec, *procedure.subprocess_specs.values()):
        task_spec = spec.task_specs.get(bpmn_id)
        if task_spec is None or not getattr(task_spec, "manual", False):
            continue
        for service in _services_after(task_spec):
            operator = operators.OPERATORS.get(service.operation_name)
            if operator is None or not operator.needs_ticket:
                continue
            environment = sandbox.RestrictedEnvironment()
            values = {
                name: environment.evaluate(param["value"], data) for name, param in service.operation_params.items()
            }
            result, effects = operators.run(service.operation_name, data, values)
            found.append(Following(service.operation_name, result, effects))
        return found
    return found


def _services_after(task_spec) -> list:
    """The service tasks that follow ``task_spec`` directly, and those that follow them in turn."""
    services, seen = [], set()
    pending = list(task_spec.outputs)
    while pending:
        nxt = pending.pop(0)
        if nxt.name in seen or getattr(nxt, "operation_name", None) is None:
            continue
        seen.add(nxt.name)
        services.append(nxt)
        pending.extend(nxt.outputs)
    return services
