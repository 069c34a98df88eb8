"""Task forms: one JSON Schema per user task, validated on the server.

A submission keeps only the fields its schema declares, so no form can write what steers
the procedure (status, deadlines, the ticket); every error is said in Spanish and tied to
its field, the way the task page shows it.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from engine.clock import DATE_ERROR, YEARS
from engine.errors import FormErrors
from engine.forms import cedula, sources
from engine.mail import addresses

# Keys the engine or the diagram's scripts own; a form may never declare or send them.
RESERVED_KEYS = frozenset({"ticket", "fecha_inicio", "estado_caso", "fecha_limite", "canal_registro"})
# A one-of field shown as one submit button per option: the decision is the click (web.ui.forms_render).
BUTTONS_WIDGET = "botones"

_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_TYPE_NAMES = {
    "string": "texto",
    "integer": "un número entero",
    "number": "un número",
    "boolean": "sí o no",
    "array": "una lista",
    "object": "un grupo de campos",
}


def load_directory(directory: Path) -> dict[str, dict]:
    """Every ``*.json`` schema in ``directory``, by file stem."""
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(directory).glob("*.json"))}


def schema_problems(name: str, schema: dict) -> list[str]:
    """What is wrong with a form schema, in Spanish (empty when it is usable)."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [f"formulario «{name}»: esquema JSON inválido: {exc.message}"]
    problems = []
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        problems.append(f"formulario «{name}»: debe ser un objeto con «properties»")
    for field, prop in schema.get("properties", {}).items():
        if field in RESERVED_KEYS or field.startswith("_"):
            problems.append(f"formulario «{name}»: el campo «{field}» está reservado al procedimiento")
        if isinstance(prop, dict) and prop.get("x-widget") == BUTTONS_WIDGET and not _one_of(prop):
            problems.append(
                f"formulario «{name}», campo «{field}»: «x-widget»: «{BUTTONS_WIDGET}» pide una lista de opciones "
                "(«oneOf» con «const» y «title», o «enum»)"
            )
    return problems + sources.problems(name, schema)


def set_problems(forms: dict[str, dict]) -> list[tuple[str, str]]:
    """(form, problem) across a set of forms deployed together: ``x-desde`` sources naming nothing they write."""
    return sources.unknown_names(forms, RESERVED_KEYS)


def _one_of(prop: dict) -> bool:
    choices = prop.get("oneOf")
    if isinstance(choices, list) and choices:
        return all(isinstance(c, dict) and "const" in c for c in choices)
    return isinstance(prop.get("enum"), list) and bool(prop["enum"])


def _coerce(prop: dict, value):
    """Turn what a browser sends (strings) into the schema's type; leave other values be."""
    kind = prop.get("type")
    if kind == "boolean":
        if isinstance(value, str):
            return value.strip().lower() in {"on", "true", "1", "si", "sí"}
        return value
    if kind == "array" and isinstance(value, (str, list)):
        values = [value] if isinstance(value, str) else value
        return [v for v in (_coerce(prop.get("items", {}), item) for item in values) if not _blank(v)]
    if kind == "object" and isinstance(value, dict):
        return _coerce_row(prop, value)
    if not isinstance(value, str):
        return value
    text = value.strip()
    if kind in ("integer", "number"):
        try:
            return int(text) if kind == "integer" else float(text.replace(",", "."))
        except ValueError:
            return text  # the validator names the type error
    if prop.get("format") == "cedula":
        return cedula.normalized(text)  # «8 123 4567», «8–123–4567» are kept as 8-123-4567
    if prop.get("format") == "date":
        match = _DMY.match(text)
        if match:
            day, month, year = (int(g) for g in match.groups())
            try:
                return date(year, month, day).isoformat()
            except ValueError:
                return text
    return text


def _blank(value) -> bool:
    return value is None or value == {} or value == [] or (isinstance(value, str) and not value.strip())


def _coerce_row(prop: dict, value: dict) -> dict:
    """One item of a repeating group: blank cells left out, the rest typed; a blank row becomes {}."""
    properties = prop.get("properties", {})
    row = {key: _coerce(properties.get(key, {}), cell) for key, cell in value.items() if not _blank(cell)}
    if row:  # an unticked box posts nothing: in a row that was filled in, it means "no"
        row.update({key: False for key, sub in properties.items() if sub.get("type") == "boolean" and key not in row})
    return row


_MESSAGES = {
    "required": "Este campo es obligatorio.",
    "minLength": "Debe tener al menos {} caracteres.",
    "maxLength": "No puede superar {} caracteres.",
    "pattern": "No tiene el formato esperado.",
    "minimum": "Debe ser al menos {}.",
    "maximum": "No puede ser mayor que {}.",
    "minItems": "Agregue al menos {} elemento(s).",
    "maxItems": "No puede tener más de {} elementos.",
    "enum": "Elija una opción de la lista.",
    "oneOf": "Elija una opción de la lista.",
    "const": "Elija una opción de la lista.",
}
_FORMAT_MESSAGES = {"date": DATE_ERROR, "cedula": cedula.ERROR}
# jsonschema's own "email" format asks only for an "@": an address is checked by the office's one rule.
FORMATS = FormatChecker(Draft202012Validator.FORMAT_CHECKER.checkers)
for _name in ("email", "idn-email"):
    FORMATS.checks(_name)(lambda value: not isinstance(value, str) or addresses.problem(value) is None)
FORMATS.checks("cedula")(lambda value: not isinstance(value, str) or cedula.valid(value))


@FORMATS.checks("date")
def _date_in_range(value) -> bool:
    """An ISO date in the years a case can name (``engine.clock.YEARS``): a date near datetime's own
    ends would overflow a deadline or a filter computed from it."""
    if not isinstance(value, str):
        return True
    try:
        return date.fromisoformat(value).year in YEARS and len(value) == len("aaaa-mm-dd")
    except ValueError:
        return False


def _message(error) -> str:
    custom = error.schema.get("x-mensaje") if isinstance(error.schema, dict) else None
    if custom:
        return custom
    if error.validator == "type":
        return f"Debe ser {_TYPE_NAMES.get(str(error.validator_value), 'del tipo correcto')}."
    if error.validator == "format" and error.validator_value in ("email", "idn-email"):
        return addresses.problem(error.instance) or addresses.INVALID
    if error.validator == "format":
        return _FORMAT_MESSAGES.get(error.validator_value, "Formato inválido.")
    return _MESSAGES.get(error.validator, "Valor inválido.").format(error.validator_value)


def _fields_of(error) -> list[str]:
    prefix = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        return [".".join(prefix + [p]) for p in error.validator_value if p not in present]
    return [".".join(prefix) or "_formulario"]


_validators: dict[int, tuple[dict, Draft202012Validator]] = {}


def _validator_for(schema: dict) -> Draft202012Validator:
    """A validator per schema object; deployed schemas live as long as their procedure version."""
    kept = _validators.get(id(schema))
    if kept is None or kept[0] is not schema:
        kept = (schema, Draft202012Validator(schema, format_checker=FORMATS))
        _validators[id(schema)] = kept
    return kept[1]


def _typed(schema: dict, submitted: dict) -> dict:
    """The declared, non-blank fields of ``submitted``, typed as the schema says (an unticked box: False)."""
    properties = schema.get("properties", {})
    data = {}
    for field, prop in properties.items():
        if field in RESERVED_KEYS:
            continue
        if prop.get("type") == "boolean" and field not in submitted:
            data[field] = False
            continue
        value = submitted.get(field)
        if value is None or (isinstance(value, str) and not value.strip()) or value == []:
            continue
        value = _coerce(prop, value)
        if value != []:  # every row of a repeating group left blank: as if the field were empty
            data[field] = value
    return data


def required_fields(schema: dict, values: dict) -> set[str]:
    """The fields that would be refused empty with the other ``values`` as they are: the schema's
    ``required``, and those an ``if``/``then`` (or any other rule) requires given those values.

    The form marks each with an asterisk: the corregimiento of a reporte is required only because
    of the case's type, and was refused without one ever being shown.
    """
    required = set(schema.get("required", []))
    data = _typed(schema, values)
    validator = _validator_for(schema)
    for field in schema.get("properties", {}):
        if field in required:
            continue
        without = {k: v for k, v in data.items() if k != field}
        if any(e.validator == "required" and field in _fields_of(e) for e in validator.iter_errors(without)):
            required.add(field)
    return required


def clean(schema: dict, submitted: dict, catalogs: dict[str, set[str]] | None = None) -> dict:
    """The declared fields of ``submitted``, typed and validated; raises FormErrors in Spanish."""
    properties = schema.get("properties", {})
    data = _typed(schema, submitted)
    errors: dict[str, str] = {}
    validator = _validator_for(schema)
    for error in sorted(validator.iter_errors(data), key=lambda e: e.path):
        for field in _fields_of(error):
            errors.setdefault(field, _message(error))
    for field, prop in properties.items():
        catalog = prop.get("x-catalogo")
        if (
            catalog
            and field in data
            and field not in errors
            and data[field] not in (catalogs or {}).get(catalog, set())
        ):
            errors[field] = "Elija una opción válida de la lista."
        errors.update(_row_catalog_errors(field, prop, data.get(field), catalogs or {}, errors))
    if errors:
        raise FormErrors(errors)
    return data


def catalogs_of(schema: dict) -> set[str]:
    """Every catalogue a form's fields take choices from, those of repeating groups included."""
    found = set()
    for prop in schema.get("properties", {}).values():
        if "x-catalogo" in prop:
            found.add(prop["x-catalogo"])
        if prop.get("type") == "array" and prop.get("items", {}).get("type") == "object":
            found |= catalogs_of(prop["items"])
    return found


def _row_catalog_errors(field: str, prop: dict, rows, catalogs: dict[str, set[str]], errors: dict) -> dict:
    """Catalogue cells of a repeating group («lotes.0.corregimiento») that name no active entry."""
    items = prop.get("items", {})
    if prop.get("type") != "array" or items.get("type") != "object" or not isinstance(rows, list):
        return {}
    found = {}
    for index, row in enumerate(rows):
        for key, cell in row.items() if isinstance(row, dict) else ():
            catalog = items.get("properties", {}).get(key, {}).get("x-catalogo")
            name = f"{field}.{index}.{key}"
            if catalog and name not in errors and cell not in catalogs.get(catalog, set()):
                found[name] = "Elija una opción válida de la lista."
    return found
