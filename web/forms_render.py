"""JSON Schema forms → the fields a template renders, and a posted form → what the engine cleans.

Python decides which widget each property gets (so the rules live in one place and can
be tested without HTML); the ``macros/form.html`` macro only writes the markup. The
server's validation (``engine.forms.clean``) is the authority: the HTML attributes here
(``required``, ``maxlength``, ``min``/``max``) only help the browser say it sooner.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from engine import catalogs

RADIOS_MAX = 4  # up to this many options read better as radio buttons than as a list
ADJUNTOS_NOTE = "Adjuntos: disponible próximamente."
UNSUPPORTED_NOTE = "Este campo todavía no se puede llenar desde la web."
CSRF_FIELD = "csrf_token"
CHECKED = "on"  # what a ticked box of ours posts (the HTML default)


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    """One property of a schema, ready to render."""

    name: str
    label: str
    widget: str  # text, email, date, number, textarea, select, radios, checkbox, note
    required: bool = False
    description: str = ""
    value: str = ""
    checked: bool = False
    error: str | None = None
    options: tuple[Option, ...] = ()
    attrs: dict = field(default_factory=dict)  # extra HTML attributes: maxlength, min, max, step
    note: str = ""

    @property
    def id(self) -> str:
        return f"campo-{self.name}"


@dataclass(frozen=True)
class Form:
    """A form's fields, plus the errors that belong to no rendered field (shown on top)."""

    title: str
    description: str
    fields: tuple[Field, ...]
    other_errors: tuple[str, ...] = ()

    @property
    def has_errors(self) -> bool:
        return bool(self.other_errors) or any(f.error for f in self.fields)


def field_order(schema: dict) -> list[str]:
    """The property names in display order: ``x-orden`` first, then any it forgot."""
    properties = schema.get("properties", {})
    ordered = [name for name in schema.get("x-orden", []) if name in properties]
    return ordered + [name for name in properties if name not in ordered]


def initial_values(schema: dict) -> dict:
    """The schema's defaults, as a first GET shows them."""
    return {name: prop["default"] for name, prop in schema.get("properties", {}).items() if "default" in prop}


def submitted(form) -> dict:
    """A posted form (a MultiDict) as ``clean()`` expects it: one value per field, lists when repeated."""
    values = {}
    for name, items in form.lists():
        if name != CSRF_FIELD:
            values[name] = items if len(items) > 1 else items[0]
    return values


def build(session: Session, schema: dict | None, values: dict | None = None,
          errors: dict[str, str] | None = None) -> Form:
    """The renderable form of ``schema`` with the user's ``values`` and the engine's ``errors``."""
    if not schema:
        return Form("", "", ())
    values = initial_values(schema) if values is None else values
    errors = errors or {}
    required = set(schema.get("required", []))
    properties = schema.get("properties", {})
    fields = tuple(_field(session, name, properties[name], name in required, values.get(name), errors.get(name))
                   for name in field_order(schema))
    shown = {f.name for f in fields if f.widget != "note"}
    other = tuple(message if name == "_formulario" else f"{name}: {message}"
                  for name, message in errors.items() if name not in shown)
    return Form(schema.get("title", ""), schema.get("description", ""), fields, other)


def _field(session: Session, name: str, prop: dict, required: bool, value, error: str | None) -> Field:
    base = {"name": name, "label": prop.get("title") or name, "description": prop.get("description", ""),
            "error": error}
    kind = prop.get("type")
    if kind == "array" or kind == "object":
        note = ADJUNTOS_NOTE if prop.get("x-widget") == "adjuntos" else f"{base['label']}: {UNSUPPORTED_NOTE}"
        return Field(widget="note", note=note, **base)
    if kind == "boolean":
        # clean() turns an unticked box into False, so a checkbox is never "required" to tick.
        return Field(widget="checkbox", checked=value in (True, CHECKED), **base)
    base.update(required=required, value=_text(value))
    options = _options(session, prop)
    if options is not None:
        widget = "radios" if len(options) <= RADIOS_MAX and "x-catalogo" not in prop else "select"
        return Field(widget=widget, options=tuple(options), **base)
    if kind in ("integer", "number"):
        attrs = {"step": "1" if kind == "integer" else "any"}
        attrs.update({html: prop[key] for key, html in (("minimum", "min"), ("maximum", "max")) if key in prop})
        return Field(widget="number", attrs=attrs, **base)
    attrs = {"maxlength": prop["maxLength"]} if "maxLength" in prop else {}
    if prop.get("x-widget") == "textarea":
        return Field(widget="textarea", attrs=attrs, **base)
    widget = {"email": "email", "date": "date"}.get(prop.get("format"), "text")
    return Field(widget=widget, attrs=attrs, **base)


def _options(session: Session, prop: dict) -> list[Option] | None:
    if "x-catalogo" in prop:
        return [Option(item.code, item.label) for item in catalogs.entries(session, prop["x-catalogo"])]
    if "oneOf" in prop and all("const" in choice for choice in prop["oneOf"]):
        return [Option(_text(c["const"]), c.get("title") or _text(c["const"])) for c in prop["oneOf"]]
    if "enum" in prop:
        return [Option(_text(v), _text(v)) for v in prop["enum"]]
    return None


def _text(value) -> str:
    return "" if value is None else str(value)

