"""Deploy checks beyond ``engine.bpm.parsing.lint``: call activities, task forms, loop and event expressions,
and who starts a procedure.

Each rule is its own function returning Spanish problems pinned to an element (id and
name), so an analyst sees in the editor which shape to fix; ``engine.procedures.versions.check``
runs them with the others.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition

from engine.access.roles import role_of_lane
from engine.bpm import parsing as bpmn
from engine.bpm import sandbox, start_events
from engine.forms import schemas as form_schemas


def unresolved_calls(parser) -> list[bpmn.Problem]:
    """Every call activity whose called process is not in the diagram set."""
    known = set(parser.process_parsers)
    problems, seen = [], set()
    for process in parser.process_parsers.values():
        for node in process.node.iter(full_tag("callActivity")):
            key = (process.filename, node.get("id"))
            if key in seen:  # an embedded subprocess is listed inside its parent too
                continue
            seen.add(key)
            called = (node.get("calledElement") or "").strip()
            if called not in known:
                message = (
                    f"la actividad de llamada invoca el proceso «{called}», que no está en el conjunto de diagramas"
                    if called
                    else "la actividad de llamada no indica qué proceso invoca (calledElement)"
                )
                problems.append(bpmn.Problem(process.filename or "", message, node.get("id"), node.get("name")))
    return problems


def unusable_task_forms(filename_of, specs, forms: dict[str, dict]) -> list[bpmn.Problem]:
    """Every task whose named form exists but is not a valid JSON Schema the task page can render."""
    problems = []
    for spec in specs:
        for task_spec in spec.task_specs.values():
            form = bpmn.form_of(task_spec)
            if not form or form not in forms:
                continue  # a missing form is bpmn.lint's problem
            for message in form_schemas.schema_problems(form, forms[form]):
                problems.append(bpmn.Problem(filename_of(spec), message, task_spec.bpmn_id, task_spec.bpmn_name))
    return problems


def _expressions(task_spec):
    """(source, what) of the expressions a task evaluates that ``bpmn.lint`` does not look at."""
    for attr, what in (("condition", "condición de repetición"), ("cardinality", "cardinalidad")):
        source = getattr(task_spec, attr, None)
        if isinstance(source, str) and source.strip():
            yield source, what
    definition = getattr(task_spec, "event_definition", None)
    if isinstance(definition, ConditionalEventDefinition) and definition.expression:
        yield definition.expression, "condición del evento"


def unchecked_expressions(filename_of, specs) -> list[bpmn.Problem]:
    """Loop conditions, cardinalities and conditional events the restricted environment would refuse."""
    problems = []
    for spec in specs:
        for task_spec in spec.task_specs.values():
            for source, what in _expressions(task_spec):
                reason = sandbox.check(source, "eval")
                if reason:
                    problems.append(
                        bpmn.Problem(
                            filename_of(spec), f"{what} no permitida: {reason}", task_spec.bpmn_id, task_spec.bpmn_name
                        )
                    )
    return problems


def unnamed_starters(spec) -> list[bpmn.Problem]:
    """Every start event a person triggers that sits in no lane, or in a lane that names no role.

    The lane of a process's start event says who may start it by hand (``start_events.starters``),
    as a task's lane says who works it: without one, nobody could. Only the process's own start
    events: an embedded subprocess starts when its parent reaches it.
    """
    problems = []
    for event in start_events.of(spec):
        if not event.by_hand or role_of_lane(event.lane) is not None:
            continue
        message = (
            f"el evento de inicio está en el carril «{event.lane}», que no es un rol conocido: nadie podría "
            "iniciar el procedimiento"
            if event.lane
            else "el evento de inicio no está en ningún carril: póngalo en el carril del rol que inicia el "
            "procedimiento"
        )
        name = event.name if event.name != event.bpmn_id else None
        problems.append(bpmn.Problem(spec.file or "", message, event.bpmn_id, name))
    return problems
