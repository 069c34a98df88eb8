"""Reading diagrams safely, validating them, and checking them before they are deployed.

SpiffWorkflow parses with lxml's defaults; with an old lxml an external entity in a
diagram was resolved into a server file (docs/architecture.md). We parse every diagram
ourselves with a parser that resolves no entity, loads no DTD and touches no network,
refuse any DOCTYPE outright, and hand SpiffWorkflow the tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import CallActivityMixin, SubWorkflowTaskMixin, UserTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser

from engine.access.roles import role_of_lane
from engine.bpm import operators, sandbox
from engine.cases import selectors
from engine.errors import DiagramError

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_UNQUOTED_ISO = re.compile(r"^(R\d*/)?P[0-9YMWDTHS.]+$|^\d{4}-\d{2}-\d{2}")
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a diagram, said in Spanish, pinned to an element where possible."""

    file: str
    message: str
    element_id: str | None = None
    element_name: str | None = None
    line: int | None = None

    def __str__(self):
        where = self.file
        if self.element_id:
            where += f" · {self.element_id}" + (f" ({self.element_name})" if self.element_name else "")
        elif self.line:
            where += f" · línea {self.line}"
        return f"{where}: {self.message}"


def parse_xml(data: bytes | str, filename: str) -> etree._ElementTree:
    """Parse a diagram's XML with no entity, DTD or network; refuse any DOCTYPE."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if _DOCTYPE.search(raw):
        raise DiagramError([Problem(filename, "el diagrama declara un DOCTYPE; no se aceptan DTD ni entidades")])
    try:
        root = etree.fromstring(raw, parser=_SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise DiagramError([Problem(filename, f"XML mal formado: {exc.msg}", line=exc.lineno)]) from exc
    return etree.ElementTree(root)


def parser_for(files: dict[str, str]) -> SpiffBpmnParser:
    """A SpiffWorkflow parser holding every diagram of ``files``, each XSD-validated."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    problems = []
    for filename, text in sorted(files.items()):
        try:
            parser.add_bpmn_xml(parse_xml(text, filename), filename=filename)
        except DiagramError as exc:
            problems.extend(exc.problems)
        except SpiffWorkflowException as exc:
            problems.append(
                Problem(filename, f"no cumple el esquema BPMN: {exc}", line=getattr(exc, "line_number", None))
            )
    if problems:
        raise DiagramError(problems)
    return parser


@dataclass(frozen=True)
class StepInfo:
    """What the task list needs to know of one user task of a diagram."""

    bpmn_id: str
    name: str
    role: str | None
    form: str | None
    instructions: str
    plazo: str | None
    rotulo: str | None = None  # what tells the instances of a multi-instance task apart (engine.bpm.loops)


def user_steps(specs) -> dict[str, StepInfo]:
    """Every user task of the specs, by id, with what the task list shows of it."""
    steps = {}
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, UserTaskMixin):
                props = task_spec.extensions.get("properties", {})
                steps[task_spec.bpmn_id] = StepInfo(
                    bpmn_id=task_spec.bpmn_id,
                    name=task_spec.bpmn_name or task_spec.bpmn_id,
                    role=role_of_lane(task_spec.lane),
                    form=props.get("formulario"),
                    instructions=(task_spec.documentation or "").strip(),
                    plazo=props.get("plazo"),
                    rotulo=props.get("rotulo"),
                )
    return steps


def form_of(task_spec) -> str | None:
    """The form a user task or start event names in its ``formulario`` property."""
    return task_spec.extensions.get("properties", {}).get("formulario") if hasattr(task_spec, "extensions") else None


def _sources(task_spec):
    """(source, mode, what) of every script and condition a task spec will run."""
    for attr in ("script", "prescript", "postscript"):
        source = getattr(task_spec, attr, None)
        if source:
            yield source, "exec", "script"
    for condition, _target in getattr(task_spec, "cond_task_specs", []):
        if condition is not None:
            yield condition.args[0], "eval", "condición"


def _check_timer(task_spec) -> str | None:
    definition = getattr(task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition):
        return None
    if _UNQUOTED_ISO.match(definition.expression.strip()):
        return f'la expresión {definition.expression.strip()} debe ir entre comillas: "{definition.expression.strip()}"'
    reason = sandbox.check(definition.expression, "eval")
    if reason:
        return f"expresión de temporizador no permitida: {reason}"
    try:
        literal = sandbox.RestrictedEnvironment().evaluate(definition.expression, {})
    except NameError:
        return None  # reads case data (e.g. fecha_limite); checked when it runs
    except Exception as exc:  # noqa: BLE001 - any failure is the analyst's to see
        return f"expresión de temporizador inválida: {exc}"
    try:
        if "Cycle" in type(definition).__name__:
            TimerEventDefinition.parse_iso_recurring_interval(literal)
        else:
            TimerEventDefinition.parse_time_or_duration(literal)
    except Exception:  # noqa: BLE001
        return f"«{literal}» no es una fecha, duración o ciclo ISO 8601 (¿faltan comillas?)"
    return None


def _has_user_tasks(spec, specs_by_name) -> bool:
    return any(
        isinstance(t, UserTaskMixin)
        or (
            isinstance(t, SubWorkflowTaskMixin)
            and t.spec in specs_by_name
            and _has_user_tasks(specs_by_name[t.spec], specs_by_name)
        )
        for t in spec.task_specs.values()
    )


def _lane_of_subprocess(task_spec, specs_by_name) -> str | None:
    """SpiffWorkflow gives every task inside an embedded subprocess the subprocess's own lane, whatever
    lane the diagram draws the task in: a subprocess with user tasks must sit in no lane."""
    if (
        isinstance(task_spec, SubWorkflowTaskMixin)
        and not isinstance(task_spec, CallActivityMixin)
        and task_spec.lane
        and task_spec.spec in specs_by_name
        and _has_user_tasks(specs_by_name[task_spec.spec], specs_by_name)
    ):
        return (
            f"el subproceso está en el carril «{task_spec.lane}» y contiene tareas de usuario, que quedarían "
            "todas en ese carril: sáquelo de los carriles y deje cada tarea en el carril de su rol"
        )
    return None


def _start_problems(spec) -> list[tuple[StartEvent, str]]:
    """A scheduled procedure's start events: cycles only, a known selector, no start by hand beside them."""
    starts = [t for t in spec.task_specs.values() if isinstance(t, StartEvent)]
    timers = [t for t in starts if isinstance(t.event_definition, TimerEventDefinition)]
    problems: list[tuple[StartEvent, str]] = []
    for start in timers:
        if "Cycle" not in type(start.event_definition).__name__:
            problems.append(
                (
                    start,
                    (
                        "un evento de inicio con temporizador debe ser un ciclo (timeCycle, p. ej. "
                        '"R/2026-01-05T08:00:00-05:00/P7D"): el programador inicia una ejecución en cada '
                        "vuelta"
                    ),
                )
            )
        selector = start.extensions.get("properties", {}).get("selector")
        if selector and selector not in selectors.SELECTORS:
            problems.append(
                (
                    start,
                    (
                        f"el selector «{selector}» no existe; los disponibles son: "
                        f"{', '.join(sorted(selectors.SELECTORS))}"
                    ),
                )
            )
    if timers:
        problems.extend(
            (
                start,
                (
                    "un procedimiento con calendario (eventos de inicio con temporizador) no puede "
                    "tener además un inicio sin temporizador"
                ),
            )
            for start in starts
            if isinstance(start.event_definition, NoneEventDefinition)
        )
    return problems


def lint(filename_of, specs, forms: dict[str, dict]) -> list[Problem]:
    """Problems a parse does not catch: scripts, conditions, timers, lanes, forms and service operators."""
    problems = []
    specs_by_name = {spec.name: spec for spec in specs}
    for spec in specs:
        for start, message in _start_problems(spec):
            problems.append(Problem(filename_of(spec), message, start.bpmn_id, start.bpmn_name))
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if bpmn_id is None:
                continue
            where = dict(file=filename_of(spec), element_id=bpmn_id, element_name=task_spec.bpmn_name)
            for source, mode, what in _sources(task_spec):
                reason = sandbox.check(source, mode)
                if reason:
                    problems.append(Problem(message=f"{what} no permitida: {reason}", **where))
            timer_problem = _check_timer(task_spec)
            if timer_problem:
                problems.append(Problem(message=timer_problem, **where))
            form = form_of(task_spec)
            if isinstance(task_spec, UserTaskMixin):
                if role_of_lane(task_spec.lane) is None:
                    problems.append(
                        Problem(
                            message="la tarea no está en un carril de un rol conocido "
                            f"({task_spec.lane or 'sin carril'})",
                            **where,
                        )
                    )
                if not form:
                    problems.append(
                        Problem(message="la tarea no indica su formulario (propiedad «formulario»)", **where)
                    )
            if form and form not in forms:
                problems.append(Problem(message=f"el formulario «{form}» no existe", **where))
            lane_problem = _lane_of_subprocess(task_spec, specs_by_name)
            if lane_problem:
                problems.append(Problem(message=lane_problem, **where))
            rotulo = getattr(task_spec, "extensions", {}).get("properties", {}).get("rotulo")
            if rotulo and sandbox.check(rotulo, "eval"):
                problems.append(Problem(message=f"rótulo no permitido: {sandbox.check(rotulo, 'eval')}", **where))
            problems.extend(Problem(message=message, **where) for message in operators.problems(task_spec))
    return problems
