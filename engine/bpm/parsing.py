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
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import CallActivityMixin, SubWorkflowTaskMixin, UserTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser

from engine.access.roles import role_of_lane
from engine.bpm import loops, repeats
from engine.bpm.pass_through import PassThroughTask
from engine.bpm.scripting import operators, sandbox
from engine.cases import selectors
from engine.errors import DiagramError

_BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UNQUOTED_ISO = re.compile(r"^(R\d*/)?P[0-9YMWDTHS.]+$|^\d{4}-\d{2}-\d{2}")
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a diagram, said in Spanish, pinned to an element where possible.

    ``original`` keeps the library's own (English) message when the problem translates one, so
    that what SpiffWorkflow or the XSD said is not lost to whoever must look deeper."""

    file: str
    message: str
    element_id: str | None = None
    element_name: str | None = None
    line: int | None = None
    original: str | None = None

    def __str__(self):
        where = self.file
        if self.element_id:
            where += f" · {self.element_id}" + (f" ({self.element_name})" if self.element_name else "")
        elif self.line:
            where += f" · línea {self.line}"
        said = f" [mensaje original: {self.original}]" if self.original else ""
        return f"{where}: {self.message}{said}"


def decode(data: bytes, filename: str) -> str:
    """A diagram file's text: it must be UTF-8 (what the editor writes and the database stores)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DiagramError(
            [
                Problem(
                    filename,
                    f"el archivo no está en UTF-8 (byte 0x{data[exc.start]:02x} en la línea {line}): "
                    "guárdelo con codificación UTF-8",
                    line=line,
                )
            ]
        ) from None


def parse_xml(data: bytes | str, filename: str) -> etree._ElementTree:
    """Parse a diagram's XML with no entity, DTD or network; refuse any DOCTYPE and any encoding but UTF-8."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    declared = _DECLARED_ENCODING.match(raw)
    if declared and declared.group(1).decode().lower().replace("_", "-") not in ("utf-8", "utf8"):
        encoding = declared.group(1).decode()
        raise DiagramError(
            [Problem(filename, f"el diagrama declara la codificación «{encoding}»: guárdelo en UTF-8", line=1)]
        )
    if b"\x00" in raw:  # UTF-16 or UTF-32, where the DOCTYPE check below would not see a DOCTYPE
        raise DiagramError([Problem(filename, "el diagrama no está en UTF-8: guárdelo con codificación UTF-8")])
    if _DOCTYPE.search(raw):
        raise DiagramError([Problem(filename, "el diagrama declara un DOCTYPE; no se aceptan DTD ni entidades")])
    try:
        root = etree.fromstring(raw, parser=_SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        said = translate(exc.msg, _SYNTAX, "revise la línea indicada")
        raise DiagramError([Problem(filename, f"XML mal formado: {said}", line=exc.lineno, original=exc.msg)]) from exc
    return etree.ElementTree(root)


class _Parser(SpiffBpmnParser):
    """SpiffWorkflow's parser, with plain and manual tasks passing through (``engine.bpm.pass_through``) and
    multi-instance tasks bounded (``engine.bpm.loops``)."""

    OVERRIDE_PARSER_CLASSES = {
        tag: (loops.bounded(parser), spec)
        for tag, (parser, spec) in {
            **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
            full_tag("task"): (SpiffTaskParser, PassThroughTask),
            full_tag("manualTask"): (SpiffTaskParser, PassThroughTask),
        }.items()
    }


# Elements SpiffWorkflow parses (or half-parses) that Atiende's runtime does not run, by local tag: what
# they are, and what to draw instead. A definition (cancel) is pinned to the event that holds it.
UNSUPPORTED = {
    "transaction": ("las transacciones", "use un subproceso"),
    "cancelEventDefinition": ("los eventos de cancelación", "use un evento de fin o de error"),
    "complexGateway": ("las compuertas complejas", "use una compuerta exclusiva, inclusiva o paralela"),
    "dataStore": ("los almacenes de datos", "guarde los datos en el caso (formularios o scripts)"),
    "dataStoreReference": ("los almacenes de datos", "guarde los datos en el caso (formularios o scripts)"),
    "adHocSubProcess": ("los subprocesos ad hoc", "use un subproceso con sus pasos unidos por flujos"),
    "businessRuleTask": (
        "las tareas de regla de negocio (DMN)",
        "use una compuerta con condiciones o una tarea de script",
    ),
}


def _named(element) -> etree._Element:
    """The element itself if it has an id, else its nearest ancestor that has one."""
    while element is not None and element.get("id") is None and element.getparent() is not None:
        element = element.getparent()
    return element


def unsupported(tree: etree._ElementTree, filename: str) -> list[Problem]:
    """Every element of a diagram that Atiende does not run, named, with what to draw instead."""
    problems = []
    for element in tree.iter(etree.Element):
        local = etree.QName(element).localname
        if etree.QName(element).namespace != _BPMN_NS or local not in UNSUPPORTED:
            continue
        what, instead = UNSUPPORTED[local]
        at = _named(element)
        problems.append(
            Problem(filename, f"Atiende no admite {what}: {instead}", at.get("id"), at.get("name"), element.sourceline)
        )
    return problems


_QNAME = re.compile(r"\{[^}]*\}")


def _short(text: str) -> str:
    """Tag names without their namespace, as the analyst sees them in the editor."""
    return _QNAME.sub("", text)


# The library's messages (the XSD's, from libxml2, and SpiffWorkflow's) said in Spanish: a pattern on the
# original and the sentence it becomes. A message not listed gets a generic sentence; the original is
# kept beside each (``Problem.original``).
_TRANSLATIONS: list[tuple[re.Pattern, str]] = [
    (
        re.compile(r"Element '([^']+)', attribute '([^']+)': The attribute '[^']+' is not allowed"),
        "el atributo «{1}» no se admite en «{0}»",
    ),
    (
        re.compile(r"Element '([^']+)': The attribute '([^']+)' is required but missing"),
        "a «{0}» le falta el atributo «{1}»",
    ),
    (
        re.compile(r"Element '([^']+)', attribute '([^']+)': '([^']*)' is not a valid value of the .*type '([^']+)'"),
        "el valor «{2}» del atributo «{1}» de «{0}» no es válido (debe ser de tipo {3})",
    ),
    (
        re.compile(r"Element '([^']+)': This element is not expected\. Expected is (?:one of )?\( ?([^)]*?) ?\)"),
        "«{0}» no va en este lugar; se esperaba: {1}",
    ),
    (re.compile(r"Element '([^']+)': This element is not expected"), "«{0}» no va en este lugar"),
    (
        re.compile(r"Element '([^']+)': Missing child element\(s\)\. Expected is (?:one of )?\( ?([^)]*?) ?\)"),
        "a «{0}» le faltan elementos: {1}",
    ),
    (
        re.compile(r"Element '([^']+)': Character content other than whitespace is not allowed"),
        "«{0}» no admite texto suelto, solo otros elementos",
    ),
    (
        re.compile(r"No matching global declaration available for the validation root"),
        "el archivo no es un diagrama BPMN",
    ),
    (re.compile(r"A Service Task must have an operator"), "la tarea de servicio no indica qué operador llama"),
    (
        re.compile(r"No DMN Diagram available with id"),
        "la tarea de regla de negocio llama a una tabla DMN que no existe",
    ),
    (re.compile(r"There is no support implemented for this task type"), "Atiende no admite este tipo de elemento"),
    (re.compile(r"Process (\S+) is not executable"), "el proceso «{0}» no está marcado como ejecutable"),
    (re.compile(r"No start event found"), "el proceso no tiene evento de inicio"),
    (re.compile(r"Duplicate process ID: (\S+)"), "el id de proceso «{0}» se repite en otro diagrama"),
    (
        re.compile(r"Exactly one start event is required in a SubWorkflow Task; found (\d+)"),
        "un subproceso debe tener exactamente un evento de inicio (tiene {0})",
    ),
    (re.compile(r"A SubWorkflow Must contain an End event"), "el subproceso no tiene evento de fin"),
    (
        re.compile(r'No "calledElement" attribute for Call Activity'),
        "la actividad de llamada no indica qué proceso invoca",
    ),
    (re.compile(r"Invalid Script Task\. +No Script Provided"), "la tarea de script no tiene script"),
    (
        re.compile(r"Non-default exclusive outgoing sequence flow without condition"),
        "un flujo que sale de una compuerta exclusiva no tiene condición ni es el flujo por defecto",
    ),
    (
        re.compile(r"Cannot resolve data(?:In|Out)putAssociation"),
        "una asociación de datos apunta a un objeto de datos que no existe",
    ),
    (re.compile(r"The process '([^']+)' was not found"), "el proceso «{0}» no está en el conjunto de diagramas"),
    (re.compile(r"Conditional event definition with missing condition"), "el evento condicional no tiene condición"),
    (
        re.compile(r"Could not find messageRef from message event definition: (\S+)"),
        "el mensaje «{0}» no está definido",
    ),
    (re.compile(r"(Message|Signal|Error|Escalation|Correlation) identifier is missing"), "un {0} no tiene id"),
]
_UNKNOWN = "SpiffWorkflow no puede interpretar este elemento; revise su configuración"
# libxml2's messages for XML that does not read at all.
_SYNTAX: list[tuple[re.Pattern, str]] = [
    (
        re.compile(r"Opening and ending tag mismatch: (\S+) line (\d+) and ([^\s,]+)"),
        "«{0}» (línea {1}) se cierra con «{2}»",
    ),
    (re.compile(r"Premature end of data in tag (\S+)"), "el archivo termina sin cerrar «{0}»"),
    (re.compile(r"Start tag expected, '<' not found"), "el archivo no empieza con una etiqueta XML"),
    (re.compile(r"Extra content at the end of the document"), "hay contenido después del final del documento"),
    (re.compile(r"Namespace prefix (\S+) on (\S+) is not defined"), "el prefijo «{0}» de «{1}» no está declarado"),
    (re.compile(r"EntityRef: expecting ';'|xmlParseEntityRef: no name"), "un «&» suelto: escríbalo «&amp;»"),
    (re.compile(r"Entity '([^']+)' not defined"), "la entidad «&{0};» no está definida"),
    (re.compile(r"Excessive depth in document: (\d+)"), "el documento anida más de {0} niveles"),
    (re.compile(r"Couldn't find end of Start Tag (\S+)"), "la etiqueta «{0}» está mal escrita"),
    (re.compile(r"Attribute (\S+) redefined"), "el atributo «{0}» se repite en un elemento"),
]


def translate(original: str, table: list[tuple[re.Pattern, str]] | None = None, unknown: str = _UNKNOWN) -> str:
    """The Spanish of a library message (by default ``_TRANSLATIONS``), or ``unknown``."""
    for pattern, spanish in _TRANSLATIONS if table is None else table:
        found = pattern.search(original)
        if found:
            return spanish.format(*(_short(g) for g in found.groups()))
    return unknown


def _xsd_element(tree: etree._ElementTree, original: str, line: int | None) -> etree._Element | None:
    """The element an XSD message is about: the one of its tag on its line; the element holding it
    when it is out of place (it has no id of its own to show)."""
    if not line:
        return None
    named = re.match(r"Element '([^']+)'", original)
    on_line = [e for e in tree.iter(etree.Element) if e.sourceline == line]
    found = next((e for e in on_line if named and e.tag == named.group(1)), on_line[0] if on_line else None)
    if found is not None and "not expected" in original and found.getparent() is not None:
        found = found.getparent()
    return _named(found) if found is not None else None


def library_problem(exc: Exception, filename: str, tree: etree._ElementTree | None = None) -> Problem:
    """A SpiffWorkflow (or XSD) error as a Spanish problem pinned to its element, the original beside it."""
    original = (str(getattr(exc, "args", [exc])[0]) if getattr(exc, "args", None) else str(exc)).strip()
    line = getattr(exc, "line_number", None) or None
    element_id = getattr(exc, "id", None) or None
    element_name = getattr(exc, "name", None) or None
    if element_id is None and tree is not None:
        element = _xsd_element(tree, original, line)
        if element is not None:
            element_id, element_name = element.get("id"), element.get("name")
    return Problem(
        getattr(exc, "file_name", None) or filename,
        translate(original),
        element_id,
        element_name,
        line if isinstance(line, int) else None,
        original,
    )


def parser_for(files: dict[str, str]) -> SpiffBpmnParser:
    """A SpiffWorkflow parser holding every diagram of ``files``, each XSD-validated and using only
    elements Atiende runs."""
    parser = _Parser(validator=VALIDATOR)
    problems = []
    for filename, text in sorted(files.items()):
        try:
            tree = parse_xml(text, filename)
        except DiagramError as exc:
            problems.extend(exc.problems)
            continue
        refused = unsupported(tree, filename)
        if refused:  # the library would fail on them with a message of its own, or run them wrongly
            problems.extend(refused)
            continue
        try:
            parser.add_bpmn_xml(tree, filename=filename)
        except SpiffWorkflowException as exc:
            problems.append(library_problem(exc, filename, tree))
    if problems:
        raise DiagramError(problems)
    return parser


HOJA_DE_TRAMITE = "hoja_de_tramite"
PAPERS = (HOJA_DE_TRAMITE,)  # what a user task's ``muestra`` may name: the papers a task page can show


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
    muestra: str | None = None  # a paper its task page shows beside the form (engine.paperwork.hoja_inline)


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
                    muestra=props.get("muestra"),
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
    """Problems a parse does not catch: scripts, conditions, timers, lanes, forms, a task's ``repeticion``
    and service operators."""
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
            if isinstance(task_spec, ScriptTask) and not (task_spec.script or "").strip():
                # every case reaching it would fail there: refused now, as the canvas lint says
                problems.append(Problem(message="la tarea de script no tiene script", **where))
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
            repeat_problem = repeats.problem(task_spec)
            if repeat_problem:
                problems.append(Problem(message=repeat_problem, **where))
            shown = getattr(task_spec, "extensions", {}).get("properties", {}).get("muestra")
            if shown is not None and shown not in PAPERS:
                papers = ", ".join(f"«{paper}»" for paper in PAPERS)
                problems.append(Problem(message=f"la propiedad «muestra» vale {papers}, no «{shown}»", **where))
            rotulo = getattr(task_spec, "extensions", {}).get("properties", {}).get("rotulo")
            if rotulo and sandbox.check(rotulo, "eval"):
                problems.append(Problem(message=f"rótulo no permitido: {sandbox.check(rotulo, 'eval')}", **where))
            problems.extend(Problem(message=message, **where) for message in operators.problems(task_spec))
    return problems
