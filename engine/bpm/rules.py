"""Deploy checks beyond ``engine.bpm.parsing.lint``: call activities (resolved, never back to their own
process), task forms, loop and event expressions, loops that never wait, and who starts a procedure.

Each rule is its own function returning Spanish problems pinned to an element (id and
name), so an analyst sees in the editor which shape to fix; ``engine.procedures.versions.check``
runs them with the others.
"""

from __future__ import annotations

import graphlib

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import SubWorkflowTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.spiff.specs.defaults import StandardLoopTask

from engine.access.roles import role_of_lane
from engine.bpm import loops, start_events
from engine.bpm import parsing as bpmn
from engine.bpm.scripting import budget, sandbox
from engine.cases import selectors
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
    """Every task whose named form exists but is not a valid JSON Schema the task page can render, or takes
    its options from a source the engine does not have (``engine.cases.selectors``)."""
    problems = []
    for spec in specs:
        for task_spec in spec.task_specs.values():
            form = bpmn.form_of(task_spec)
            if not form or form not in forms:
                continue  # a missing form is bpmn.lint's problem
            for message in form_schemas.schema_problems(form, forms[form]) + selectors.problems(form, forms[form]):
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


def _constant(source: str) -> int | None:
    """The whole number a cardinality names outright (``100000``), or None for an expression."""
    try:
        return int(source.strip())
    except ValueError:
        return None


def unchecked_expressions(filename_of, specs) -> list[bpmn.Problem]:
    """Loop conditions, cardinalities and conditional events the restricted environment would refuse, and
    constant cardinalities above ``budget.MAX_INSTANCES`` (an expression's value is checked when it runs,
    ``engine.bpm.loops``)."""
    problems = []
    for spec in specs:
        for task_spec in spec.task_specs.values():
            name = loops.looped_name(task_spec, spec.task_specs)
            for source, what in _expressions(task_spec):
                constant = _constant(source) if what == "cardinalidad" else None
                if constant is not None and constant > budget.MAX_INSTANCES:
                    message = (
                        f"crearía {constant} instancias, más de {budget.MAX_INSTANCES} instancias por tarea múltiple"
                    )
                    problems.append(bpmn.Problem(filename_of(spec), message, task_spec.bpmn_id, name))
                    continue
                reason = sandbox.check(source, "eval")
                if reason:
                    message = f"{what} no permitida: {reason}"
                    problems.append(bpmn.Problem(filename_of(spec), message, task_spec.bpmn_id, name))
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


def _call_graph(parser) -> dict[str, list[tuple[str, etree._Element]]]:
    """Process id → (called process id, call activity node) of every call activity in it."""
    graph: dict[str, list[tuple[str, etree._Element]]] = {}
    for process_id, process in parser.process_parsers.items():
        for node in process.node.iter(full_tag("callActivity")):
            graph.setdefault(process_id, []).append(((node.get("calledElement") or "").strip(), node))
    return graph


def _path(graph, start: str, goal: str) -> list[str] | None:
    """The process ids from ``start`` to ``goal`` through call activities (breadth first), or None."""
    came_from: dict[str, str | None] = {start: None}
    queue = [start]
    while queue:
        current = queue.pop(0)
        if current == goal:
            path: list[str] = []
            at: str | None = current
            while at is not None:
                path.append(at)
                at = came_from[at]
            return path[::-1]
        for called, _node in graph.get(current, []):
            if called not in came_from:
                came_from[called] = current
                queue.append(called)
    return None


def recursive_calls(parser) -> list[bpmn.Problem]:
    """Every call activity that reaches its own process again, directly or through other called processes.

    SpiffWorkflow would start a subprocess inside itself without end: refused, with the chain.
    The diagram set holds every process it calls (``unresolved_calls``), so the chain is all here.
    """
    graph = _call_graph(parser)
    problems, seen = [], set()
    for process_id, calls in graph.items():
        process = parser.process_parsers[process_id]
        for called, node in calls:
            chain = _path(graph, called, process_id) if called else None
            key = (process.filename, node.get("id"))
            if chain is None or key in seen:
                continue
            seen.add(key)
            message = (
                "la actividad de llamada llama a su propio proceso (" + " → ".join([process_id, *chain]) + "): "
                "un caso se llamaría a sí mismo sin fin"
            )
            problems.append(bpmn.Problem(process.filename or "", message, node.get("id"), node.get("name")))
    return problems


def _waits(task_spec, spec, specs_by_name, seen=frozenset()) -> bool:
    """Whether a case can stop at this step until a person, a timer or a message moves it on."""
    if task_spec.manual:
        return True
    definition = getattr(task_spec, "event_definition", None)
    if isinstance(task_spec, CatchingEvent) and not isinstance(definition, NoneEventDefinition):
        return True
    inner = getattr(task_spec, "task_spec", None)  # a standard loop or multi-instance: the repeated step
    if isinstance(inner, str) and inner in spec.task_specs:
        return _waits(spec.task_specs[inner], spec, specs_by_name, seen)
    called = getattr(task_spec, "spec", None) if isinstance(task_spec, SubWorkflowTaskMixin) else None
    if called in specs_by_name and called not in seen:
        inside = specs_by_name[called]
        return any(_waits(t, inside, specs_by_name, seen | {called}) for t in inside.task_specs.values())
    return False


def _element(task_spec) -> str:
    return f"«{task_spec.bpmn_name or task_spec.bpmn_id}» ({task_spec.bpmn_id})"


def loops_without_wait(filename_of, specs) -> list[bpmn.Problem]:
    """Every loop of sequence flows with no step that waits, and every repeated step that never waits
    and has no maximum: a case would go round without end in one request, and stay stuck."""
    specs_by_name = {spec.name: spec for spec in specs}
    problems = []
    for spec in specs:
        moving = {
            name: {o.name for o in t.outputs}
            for name, t in spec.task_specs.items()
            if not _waits(t, spec, specs_by_name)
        }
        graph = {name: outputs & moving.keys() for name, outputs in moving.items()}
        while True:
            try:
                graphlib.TopologicalSorter(graph).prepare()
                break
            except graphlib.CycleError as cycle:
                names = list(dict.fromkeys(cycle.args[1]))
            for name in names:
                graph.pop(name, None)
            elements = [spec.task_specs[n] for n in names if getattr(spec.task_specs[n], "bpmn_id", None)]
            elements = list({t.bpmn_id: t for t in elements}.values())
            if not elements:
                continue
            problems.append(
                bpmn.Problem(
                    filename_of(spec),
                    "bucle sin ningún paso que espere (tarea de usuario, temporizador, mensaje u otro evento): "
                    + " → ".join(_element(t) for t in elements)
                    + "; un caso daría vueltas sin fin",
                    elements[0].bpmn_id,
                    elements[0].bpmn_name,
                )
            )
        for task_spec in spec.task_specs.values():
            if (
                isinstance(task_spec, StandardLoopTask)
                and task_spec.maximum is None
                and not _waits(task_spec, spec, specs_by_name)
            ):
                problems.append(
                    bpmn.Problem(
                        filename_of(spec),
                        "el paso se repite sin esperar a nadie y sin máximo de vueltas: indique «loopMaximum» o "
                        "ponga en el bucle un paso que espere",
                        task_spec.bpmn_id,
                        task_spec.bpmn_name or spec.task_specs[task_spec.task_spec].bpmn_name,
                    )
                )
    return problems
