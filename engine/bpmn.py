"""Reading diagrams safely, validating them, and checking them before they are deployed.

SpiffWorkflow parses with lxml's defaults; with an old lxml an external entity in a
diagram was resolved into a server file (ENGINE_NOTES.md). We parse every diagram
ourselves with a parser that resolves no entity, loads no DTD and touches no network,
refuse any DOCTYPE outright, and hand SpiffWorkflow the tree.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser

from engine import sandbox
from engine.roles import role_of_lane

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


class DiagramError(ValueError):
    """A diagram set that cannot be deployed, with every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


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
            problems.append(Problem(filename, f"no cumple el esquema BPMN: {exc}", line=getattr(exc, "line_number", None)))
    if problems:
        raise DiagramError(problems)
    return parser


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
        return f"la expresión {definition.expression.strip()} debe ir entre comillas: \"{definition.expression.strip()}\""
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


def lint(filename_of, specs, forms: dict[str, dict]) -> list[Problem]:
    """Problems a parse does not catch: scripts, conditions, timers, lanes and forms."""
    problems = []
    for spec in specs:
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
                    problems.append(Problem(message=f"la tarea no está en un carril de un rol conocido ({task_spec.lane or 'sin carril'})", **where))
                if not form:
                    problems.append(Problem(message="la tarea no indica su formulario (propiedad «formulario»)", **where))
            if form and form not in forms:
                problems.append(Problem(message=f"el formulario «{form}» no existe", **where))
    return problems
