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

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

# Keys the engine or the diagram's scripts own; a form may never declare or send them.
RESERVED_KEYS = frozenset({"ticket", "fecha_inicio", "estado_caso", "fecha_limite", "canal_registro"})

_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_TYPE_NAMES = {
    "string": "texto", "integer": "un número entero", "number": "un número",
    "boolean": "sí o no", "array": "una lista", "object": "un grupo de campos",
}


class FormErrors(ValueError):
    """Field name → Spanish message, for every field that failed."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


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
    for field in schema.get("properties", {}):
        if field in RESERVED_KEYS or field.startswith("_"):
            problems.append(f"formulario «{name}»: el campo «{field}» está reservado al procedimiento")
    return problems


def _coerce(prop: dict, value):
    """Turn what a browser sends (strings) into the schema's type; leave other values be."""
    kind = prop.get("type")
    if kind == "boolean":
        if isinstance(value, str):
            return value.strip().lower() in {"on", "true", "1", "si", "sí"}
        return value
    if not isinstance(value, str):
        return value
    text = value.strip()
    if kind in ("integer", "number"):
        try:
            return int(text) if kind == "integer" else float(text.replace(",", "."))
        except ValueError:
            return text  # the validator names the type error
    if prop.get("format") == "date":
        match = _DMY.match(text)
        if match:
            day, month, year = (int(g) for g in match.groups())
            try:
                return date(year, month, day).isoformat()
            except ValueError:
                return text
    return text


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
_FORMAT_MESSAGES = {"date": "Fecha inválida; use dd/mm/aaaa.", "email": "Correo electrónico inválido."}


def _message(error) -> str:
    custom = error.schema.get("x-mensaje") if isinstance(error.schema, dict) else None
    if custom:
        return custom
    if error.validator == "type":
        return f"Debe ser {_TYPE_NAMES.get(str(error.validator_value), 'del tipo correcto')}."
    if error.validator == "format":
        return _FORMAT_MESSAGES.get(error.validator_value, "Formato inválido.")
    return _MESSAGES.get(error.validator, "Valor inválido.").format(error.validator_value)


def _fields_of(error) -> list[str]:
    prefix = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        return [".".join(prefix + [p]) for p in error.validator_value if p not in present]
    return [".".join(prefix) or "_formulario"]


def clean(schema: dict, submitted: dict, catalogs: dict[str, set[str]] | None = None) -> dict:
    """The declared fields of ``submitted``, typed and validated; raises FormErrors in Spanish."""
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
        data[field] = _coerce(prop, value)
    errors: dict[str, str] = {}
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for error in sorted(validator.iter_errors(data), key=lambda e: e.path):
        for field in _fields_of(error):
            errors.setdefault(field, _message(error))
    for field, prop in properties.items():
        catalog = prop.get("x-catalogo")
        if catalog and field in data and field not in errors and data[field] not in (catalogs or {}).get(catalog, set()):
            errors[field] = "Elija una opción válida de la lista."
    if errors:
        raise FormErrors(errors)
    return data
