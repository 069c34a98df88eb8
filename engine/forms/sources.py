"""Where a form field's default comes from: the ``x-desde`` vocabulary of ``forms/*.json``.

An analyst declares in the form, not in Python, what a field starts with, so that nothing the
case already knows is typed twice. ``x-desde`` is one source or a list of sources
tried in order; the first that gives a value the field accepts wins, else the schema's
``default`` applies:

- ``"corregimiento"``: a value of the case's record (the capture, every earlier answer, the
  procedure's own values such as ``ticket`` or ``canal``);
- ``"tarea:hoja_de_tramite"`` or ``"tarea:hoja_de_tramite.prioridad"``: the newest answer to an
  earlier task of the case whose form is that one (the same field, unless ``.campo`` names another);
- ``"sistema:hoy"``: today's date; ``"sistema:usuario"``: the full name of the person who opens it;
- ``{"plantilla": "Hechos: {{ hechos }}"}``: a text composed from the case's record, in Jinja's
  sandbox, with the filters ``fecha`` (dd/mm/aaaa), ``catalogo('corregimientos')`` (a code's
  label) and ``opcion('formulario.campo')`` (the title of one of that field's options).

A template may only read the record: no attribute access, no calls, no arithmetic, no loops (the
node whitelist below), so a form's author can neither reach Python nor make a page slow. Everything
is checked when the form is validated or deployed (``problems``, ``unknown_names``), with a
Spanish message; at render time a source that still fails gives no default, never an error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from jinja2 import ChainableUndefined, Template, TemplateError, meta, nodes, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

KEYWORD = "x-desde"
TEMPLATE_KEY = "plantilla"
TASK_PREFIX = "tarea:"
SYSTEM_PREFIX = "sistema:"
TODAY, USER = "hoy", "usuario"
SYSTEM_NAMES = (TODAY, USER)
# What every case's record holds whatever its channel, so that a called procedure (tramitación común,
# validated in its editor without the channels' capture forms) may name it.
RECORD = frozenset(
    {
        "canal",
        "tipo_caso",
        "ciudadano_nombre",
        "ciudadano_cedula",
        "ciudadano_telefono",
        "ciudadano_email",
        "lugar_notificaciones",
        "corregimiento",
        "domicilio",
        "asunto",
        "descripcion",
    }
)
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
# Helpers a template's filters read from the context, under keys no template can name (not identifiers).
_LABELS, _OPTIONS = "x-etiquetas", "x-opciones"
SAFE_FILTERS = frozenset(
    {"fecha", "catalogo", "opcion", "default", "d", "trim", "upper", "lower", "capitalize", "title", "join", "length"}
)
SAFE_TESTS = frozenset({"defined", "undefined", "none", "string", "number", "in"})
_SAFE_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.Filter,
    nodes.Test,
    nodes.Getitem,
    nodes.Slice,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Concat,
    nodes.CondExpr,
    nodes.List,
    nodes.Tuple,
    nodes.Keyword,
)

_REFUSED = {
    "Getattr": "acceso a atributos («dato.algo»)",
    "Call": "llamadas («algo()»)",
    "Assign": "asignaciones («set»)",
    "AssignBlock": "asignaciones («set»)",
    "For": "repeticiones («for»)",
    "Macro": "macros",
    "Include": "inclusiones",
    "Import": "importaciones",
    "FromImport": "importaciones",
    "Extends": "herencia de plantillas",
    **{op: "operaciones aritméticas" for op in ("Add", "Sub", "Mul", "Div", "FloorDiv", "Mod", "Pow", "Neg", "Pos")},
}


@dataclass(frozen=True)
class Source:
    """One parsed source: ``kind`` is dato, tarea, sistema or plantilla."""

    kind: str
    name: str = ""  # dato: the record's key; tarea: the form; sistema: hoy / usuario
    field: str | None = None  # tarea: the field of that form (None: the same as this one)
    template: str = ""


def parse(declared) -> tuple[list[Source], list[str]]:
    """The sources an ``x-desde`` declares, in order, and what is wrong with it (Spanish)."""
    items = declared if isinstance(declared, list) else [declared]
    found, wrong = [], []
    if not items:
        wrong.append("la lista está vacía")
    for item in items:
        if isinstance(item, dict) and set(item) == {TEMPLATE_KEY} and isinstance(item[TEMPLATE_KEY], str):
            found.append(Source("plantilla", template=item[TEMPLATE_KEY]))
        elif not isinstance(item, str):
            wrong.append(f'«{item}» no es un nombre ni {{"{TEMPLATE_KEY}": "..."}}')
        elif item.startswith(TASK_PREFIX):
            form, _, field = item.removeprefix(TASK_PREFIX).partition(".")
            if _NAME.match(form) and (not field or _NAME.match(field)):
                found.append(Source("tarea", form, field or None))
            else:
                wrong.append(f"«{item}» debe ser «tarea:formulario» o «tarea:formulario.campo»")
        elif item.startswith(SYSTEM_PREFIX):
            name = item.removeprefix(SYSTEM_PREFIX)
            if name in SYSTEM_NAMES:
                found.append(Source("sistema", name))
            else:
                known = ", ".join(SYSTEM_PREFIX + n for n in SYSTEM_NAMES)
                wrong.append(f"«{item}» no existe (se conocen {known})")
        elif _NAME.match(item):
            found.append(Source("dato", item))
        else:
            wrong.append(f"«{item}» no es el nombre de un dato del caso (minúsculas, números y guiones bajos)")
    return found, wrong


def declared(schema: dict) -> dict[str, list[Source]]:
    """Field → its parsed sources, for the fields of ``schema`` that declare ``x-desde`` (well formed)."""
    return {
        name: parse(prop[KEYWORD])[0]
        for name, prop in schema.get("properties", {}).items()
        if isinstance(prop, dict) and KEYWORD in prop
    }


# -- templates ----------------------------------------------------------------------------


def _day_first(value) -> str:
    """An ISO date as the office writes it (dd/mm/aaaa); anything else as it is."""
    match = _ISO_DATE.match(value) if isinstance(value, str) else None
    return f"{match[3]}/{match[2]}/{match[1]}" if match else ("" if value is None else str(value))


@pass_context
def _catalog_label(context: Context, code, catalog: str = "") -> str:
    label: Callable[[str, str], str | None] | None = context.get(_LABELS)
    text = "" if code is None else str(code)
    return (label(catalog, text) if label and text else None) or text


@pass_context
def _option_title(context: Context, value, field: str = "") -> str:
    title: Callable[[str, str], str | None] | None = context.get(_OPTIONS)
    text = "" if value is None else str(value)
    return (title(field, text) if title and text else None) or text


_env = SandboxedEnvironment(
    autoescape=False, undefined=ChainableUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False
)
_env.filters.update(fecha=_day_first, catalogo=_catalog_label, opcion=_option_title)


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """A template compiled once per text: the same few texts render on every task page."""
    return _env.from_string(source)


def template_problem(source: str) -> str | None:
    """Why a template cannot be used (Spanish), or None: syntax, a construct outside the whitelist, a failure."""
    try:
        tree = _env.parse(source)
    except TemplateError as exc:
        return f"la plantilla tiene un error de sintaxis: {exc.message}"
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _SAFE_NODES):
            what = _REFUSED.get(type(node).__name__, f"«{type(node).__name__}»")
            return f"la plantilla usa {what}, que no está permitido: solo los datos del caso, condiciones y filtros"
        if isinstance(node, nodes.Filter) and node.name not in SAFE_FILTERS:
            return f"la plantilla usa el filtro «{node.name}», que no está permitido"
        if isinstance(node, nodes.Test) and node.name not in SAFE_TESTS:
            return f"la plantilla usa la prueba «{node.name}», que no está permitida"
    try:
        _compiled(source).render()
    except Exception as exc:  # noqa: BLE001 - whatever a template raises, the form is refused with it said
        return f"la plantilla falla: {exc}"
    return None


def template_names(source: str) -> set[str]:
    """The record's names a (valid) template reads."""
    return set(meta.find_undeclared_variables(_env.parse(source)))


def option_fields(source: str) -> set[str]:
    """The «formulario.campo» the template's ``opcion`` filters name (as constants)."""
    return {
        str(node.args[0].value)
        for node in _env.parse(source).find_all(nodes.Filter)
        if node.name == "opcion" and node.args and isinstance(node.args[0], nodes.Const)
    }


def render(
    source: str,
    data: dict,
    label: Callable[[str, str], str | None] | None = None,
    option: Callable[[str, str], str | None] | None = None,
) -> str | None:
    """The template filled with the case's ``data``, stripped; None when it fails (never an error)."""
    context = {key: value for key, value in data.items() if isinstance(key, str) and _NAME.match(key)}
    context.update({_LABELS: label, _OPTIONS: option})
    try:
        return _compiled(source).render(context).strip()
    except Exception:  # noqa: BLE001 - a default that fails is no default; validation said why beforehand
        return None


# -- validation ----------------------------------------------------------------------------


def problems(form: str, schema: dict) -> list[str]:
    """What is wrong with the ``x-desde`` of a form's fields, each on its own (Spanish)."""
    found: list[str] = []
    for name, prop in schema.get("properties", {}).items():
        if not isinstance(prop, dict) or KEYWORD not in prop:
            continue
        where = f"formulario «{form}», campo «{name}»: «{KEYWORD}»"
        parsed, wrong = parse(prop[KEYWORD])
        found.extend(f"{where}: {message}" for message in wrong)
        for source in parsed:
            reason = template_problem(source.template) if source.kind == "plantilla" else None
            if reason:
                found.append(f"{where}: {reason}")
    return found


def unknown_names(forms: dict[str, dict], also_known: frozenset[str] | set[str] = frozenset()) -> list[tuple[str, str]]:
    """(form, problem) for each ``x-desde`` source of a set of forms that names nothing the set knows.

    The case's record holds what its forms write, what every capture writes (``RECORD``) and
    ``also_known`` (what the procedure writes itself); a ``tarea:`` source must name a form of the
    set, and a field that form has.
    """
    fields = {name: set(schema.get("properties", {})) for name, schema in forms.items() if isinstance(schema, dict)}
    known = set(RECORD).union(also_known, *fields.values())
    found: list[tuple[str, str]] = []
    for form, schema in forms.items():
        if not isinstance(schema, dict):
            continue
        for name, prop in schema.get("properties", {}).items():
            if not isinstance(prop, dict) or KEYWORD not in prop:
                continue
            where = f"formulario «{form}», campo «{name}»: «{KEYWORD}»"
            for source in parse(prop[KEYWORD])[0]:
                found.extend((form, f"{where}: {message}") for message in _unknown(source, name, fields, known))
    return found


def _unknown(source: Source, field: str, fields: dict[str, set[str]], known: set[str]) -> list[str]:
    if source.kind == "dato" and source.name not in known:
        return [f"«{source.name}» no es un dato que escriba ningún formulario"]
    if source.kind == "tarea":
        wanted = source.field or field
        if source.name not in fields:
            return [f"el formulario «{source.name}» no existe"]
        if wanted not in fields[source.name]:
            return [f"el formulario «{source.name}» no tiene el campo «{wanted}»"]
    if source.kind == "plantilla" and template_problem(source.template) is None:
        messages = [
            f"la plantilla usa «{n}», que no es un dato que escriba ningún formulario"
            for n in sorted(template_names(source.template) - known)
        ]
        for named in sorted(option_fields(source.template)):
            form, _, other = named.partition(".")
            if other not in fields.get(form, set()):
                messages.append(f"el filtro «opcion» nombra «{named}», que no es un campo de un formulario")
        return messages
    return []
