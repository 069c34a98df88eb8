"""JSON Schema forms → the fields a template renders, and a posted form → what the engine cleans.

Python decides which widget each property gets (so the rules live in one place and can
be tested without HTML); the ``macros/form.html`` macro only writes the markup. The
server's validation (``engine.forms.schemas.clean``) is the authority and the only voice: forms are
``novalidate``, so every message is the server's Spanish one beside its field; the HTML
attributes here (``required``, ``maxlength``, ``min``/``max``) serve assistive technology,
keyboards and the input limits.

Repeating items (an array of objects, or of plain values) are rows of inputs named
``campo.0.subcampo`` — the same path ``engine.forms.schemas.clean`` names an error by — with an
«Agregar» and a «Quitar» button per group: plain submit buttons (``accion=agregar:campo``,
``accion=quitar:campo:0``), so rows are added and removed without JavaScript. Attachment
fields (``"x-widget": "adjuntos"``) list the files already sent as ticked boxes (untick to
remove) beside a file input; ``web.ui.submission`` stores new uploads. A one-of field with
``"x-widget": "botones"`` is a decision: one submit button per option, named after the field,
at the foot of the form where the single submit button would be, so the decision and the
sending are one click (the other fields, e.g. a comment, stay above).

Every field that the server would refuse empty, given the other values shown, carries the
required mark (``engine.forms.schemas.required_fields``): a rule's ``if``/``then`` included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from engine.cases import attachments, selectors
from engine.forms.schemas import BUTTONS_WIDGET, required_fields
from web.ui.context import atiende
from web.ui.guards import number

if TYPE_CHECKING:
    from engine.procedures.versions import Procedure

RADIOS_MAX = 4  # up to this many options read better as radio buttons than as a list
UNSUPPORTED_NOTE = "Este campo todavía no se puede llenar desde la web."
CSRF_FIELD = "csrf_token"
ACTION_FIELD = "accion"
CHECKED = "on"  # what a ticked box of ours posts (the HTML default)
DATE_ATTRS = {"inputmode": "numeric", "placeholder": "dd/mm/aaaa", "maxlength": 10, "autocomplete": "off"}
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class FileRef:
    """A file already attached to the form: its id is what the form posts back."""

    id: str
    name: str
    size: int

    @property
    def size_label(self) -> str:
        return f"{self.size / 1024 / 1024:.1f} MB" if self.size >= 1024 * 1024 else f"{max(1, self.size // 1024)} KB"


@dataclass(frozen=True)
class Field:
    """One property of a schema, ready to render."""

    name: str
    label: str
    widget: (
        str  # text, email, date, number, textarea, select, radios, botones, checkbox, checkboxes, grupo, adjuntos, note
    )
    required: bool = False
    description: str = ""
    value: str = ""
    checked: bool = False
    error: str | None = None
    options: tuple[Option, ...] = ()
    attrs: dict = field(default_factory=dict)  # extra HTML attributes: maxlength, min, max, step
    note: str = ""
    values: tuple[str, ...] = ()  # checkboxes: the ticked options
    rows: tuple[tuple[Field, ...], ...] = ()  # grupo: one tuple of fields per row
    files: tuple[FileRef, ...] = ()  # adjuntos

    @property
    def id(self) -> str:
        return "campo-" + self.name.replace(".", "-")


@dataclass(frozen=True)
class Form:
    """A form's fields, plus the errors that belong to no rendered field (shown on top)."""

    title: str
    description: str
    fields: tuple[Field, ...]
    other_errors: tuple[str, ...] = ()

    @property
    def has_errors(self) -> bool:
        return bool(self.other_errors) or any(f.error for f in self.all_fields)

    @property
    def all_fields(self) -> list[Field]:
        """Every field, the cells of repeating rows included, in display order."""
        found = []
        for f in self.fields:
            found.append(f)
            for row in f.rows:
                found.extend(row)
        return found

    @property
    def multipart(self) -> bool:
        return any(f.widget == "adjuntos" for f in self.fields)

    @property
    def has_rows(self) -> bool:
        return any(f.widget == "grupo" for f in self.fields)

    @property
    def decision(self) -> Field | None:
        """The field shown as the form's submit buttons (``"x-widget": "botones"``), if any."""
        return next((f for f in self.fields if f.widget == BUTTONS_WIDGET), None)

    @property
    def shown_fields(self) -> tuple[Field, ...]:
        """The fields written above the buttons: all but the decision."""
        return tuple(f for f in self.fields if f.widget != BUTTONS_WIDGET)

    @property
    def has_required(self) -> bool:
        return any(f.required for f in self.fields)


def field_order(schema: dict) -> list[str]:
    """The property names in display order: ``x-orden`` first, then any it forgot."""
    properties = schema.get("properties", {})
    ordered = [name for name in schema.get("x-orden", []) if name in properties]
    return ordered + [name for name in properties if name not in ordered]


def start_schema(procedure: Procedure) -> dict | None:
    """The schema of the procedure's start form; None when it starts without one."""
    return procedure.forms.get(procedure.start_form) if procedure.start_form is not None else None


def initial_values(schema: dict) -> dict:
    """The schema's defaults, as a first GET shows them."""
    return {name: prop["default"] for name, prop in schema.get("properties", {}).items() if "default" in prop}


def _blank(value) -> bool:
    if isinstance(value, dict):
        return all(_blank(v) for v in value.values())
    return value is None or (isinstance(value, str) and not value.strip())


def submitted(form, schema: dict | None = None, keep_blank_rows: bool = False) -> dict:
    """A posted form (a MultiDict) as ``clean()`` expects it.

    One value per field, lists when repeated or when the schema says array; inputs named
    ``campo.N.sub`` (or ``campo.N``) become the rows of ``campo``, in order, blank rows left
    out unless ``keep_blank_rows`` (so error paths count the rows the page will show).
    """
    properties = (schema or {}).get("properties", {})
    arrays = {name for name, prop in properties.items() if prop.get("type") == "array"}
    values: dict = {}
    rows: dict[str, dict[int, Any]] = {}
    for name, items in form.lists():
        if name in (CSRF_FIELD, ACTION_FIELD):
            continue
        parts = name.split(".")
        index = number(parts[1]) if len(parts) in (2, 3) else None
        if index is not None and (not properties or parts[0] in arrays):
            group = rows.setdefault(parts[0], {})
            if len(parts) == 3:
                group.setdefault(index, {})[parts[2]] = items[0]
            else:
                group[index] = items[0]
            continue
        values[name] = items if len(items) > 1 or name in arrays else items[0]
    for name, by_index in rows.items():
        values[name] = [by_index[i] for i in sorted(by_index) if keep_blank_rows or not _blank(by_index[i])]
    return values


def change_rows(values: dict, action: str) -> dict:
    """The values after an «agregar:campo» or «quitar:campo:N» button: one blank row more or one less."""
    verb, _, rest = action.partition(":")
    name, _, index = rest.partition(":")
    rows = list(values.get(name) or [])
    position = number(index)
    if verb == "agregar":
        rows.append({})
    elif verb == "quitar" and position is not None and position < len(rows):
        del rows[position]
    return {**values, name: rows}


def build(
    session: Session, schema: dict | None, values: dict | None = None, errors: dict[str, str] | None = None
) -> Form:
    """The renderable form of ``schema`` with the user's ``values`` and the engine's ``errors``."""
    if not schema:
        return Form("", "", ())
    values = initial_values(schema) if values is None else values
    errors = errors or {}
    required = required_fields(schema, values)
    properties = schema.get("properties", {})
    fields = tuple(
        _field(session, name, properties[name], name in required, values.get(name), errors)
        for name in field_order(schema)
    )
    form = Form(schema.get("title", ""), schema.get("description", ""), fields)
    shown = {f.name for f in form.all_fields if f.widget != "note"}
    other = tuple(
        message if name == "_formulario" else f"{name}: {message}"
        for name, message in errors.items()
        if name not in shown
    )
    return Form(form.title, form.description, fields, other)


def _field(session: Session, name: str, prop: dict, required: bool, value, errors: dict[str, str]) -> Field:
    base = {
        "name": name,
        "label": prop.get("title") or name.rsplit(".", 1)[-1],
        "description": prop.get("description", ""),
        "error": errors.get(name),
    }
    kind = prop.get("type")
    if kind == "array":
        return _array_field(session, name, prop, required, value, errors, base)
    if kind == "object":
        return Field(widget="note", note=f"{base['label']}: {UNSUPPORTED_NOTE}", **base)
    if kind == "boolean":
        # clean() turns an unticked box into False, so a checkbox is never "required" to tick.
        return Field(widget="checkbox", checked=value in (True, CHECKED), **base)
    base.update(required=required, value=_text(value))
    options = _options(session, prop)
    if options is not None and prop.get("x-widget") == BUTTONS_WIDGET:
        return Field(widget=BUTTONS_WIDGET, options=tuple(options), **base)
    if options is not None:
        widget = "radios" if len(options) <= RADIOS_MAX and "x-catalogo" not in prop else "select"
        return Field(widget=widget, options=tuple(options), **base)
    if kind in ("integer", "number"):
        attrs = {"step": "1" if kind == "integer" else "any"}
        attrs.update({html: prop[key] for key, html in (("minimum", "min"), ("maximum", "max")) if key in prop})
        return Field(widget="number", attrs=attrs, **base)
    if prop.get("format") == "date":
        # A text box, not the browser's date picker: the picker writes the browser's locale, and
        # es-PA is month-first. The office writes dd/mm/aaaa; clean() reads it (and ISO dates).
        base.update(label=f"{base['label']} (dd/mm/aaaa)", value=_day_first(base["value"]))
        return Field(widget="date", attrs=DATE_ATTRS, **base)
    attrs = {"maxlength": prop["maxLength"]} if "maxLength" in prop else {}
    if prop.get("x-widget") == "textarea":
        return Field(widget="textarea", attrs=attrs, **base)
    widget = "email" if prop.get("format") == "email" else "text"
    return Field(widget=widget, attrs=attrs, **base)


def _array_field(session, name, prop, required, value, errors, base) -> Field:
    items = prop.get("items", {})
    present = value if isinstance(value, list) else ([] if value in (None, "") else [value])
    if prop.get("x-widget") == attachments.WIDGET:
        found = attachments.by_ids(session, present)
        files = tuple(FileRef(i, found[i].filename, found[i].size) for i in present if i in found)
        limits = (
            f"Hasta {attachments.MAX_FILES} archivos a la vez, de hasta {attachments.MAX_BYTES // 1024 // 1024} MB "
            f"cada uno: {attachments.ACCEPTED_NAMES}."
        )
        return Field(
            widget="adjuntos", files=files, attrs={"accept": attachments.ACCEPT_ATTRIBUTE, "limits": limits}, **base
        )
    options = _options(session, items)
    if options is not None:
        return Field(widget="checkboxes", options=tuple(options), values=tuple(_text(v) for v in present), **base)
    if items.get("type") == "object":
        sub_required = set(items.get("required", []))
        order = field_order(items)
        rows = tuple(
            tuple(
                _field(
                    session,
                    f"{name}.{i}.{sub}",
                    items["properties"][sub],
                    sub in sub_required,
                    row.get(sub) if isinstance(row, dict) else None,
                    errors,
                )
                for sub in order
            )
            for i, row in enumerate(present or [{}])
        )
        return Field(widget="grupo", rows=rows, required=required, **base)
    if items.get("type") in ("string", "integer", "number"):
        rows = tuple(
            (_field(session, f"{name}.{i}", {**items, "title": f"{base['label']} {i + 1}"}, False, v, errors),)
            for i, v in enumerate(present or [""])
        )
        return Field(widget="grupo", rows=rows, required=required, **base)
    return Field(widget="note", note=f"{base['label']}: {UNSUPPORTED_NOTE}", **base)


def _options(session: Session, prop: dict) -> list[Option] | None:
    if selectors.KEY in prop:  # choices the engine lists from the cases
        return [Option(choice.value, choice.label) for choice in selectors.choices(session, prop[selectors.KEY])]
    if "x-catalogo" in prop:  # the entries the answers are checked against (``Atiende.clean_form``), by label
        catalog = prop["x-catalogo"]
        items = atiende().catalog_cache.items(session, [catalog])[catalog]
        return [Option(code, label) for code, label, active in items if active]
    if "oneOf" in prop and all("const" in choice for choice in prop["oneOf"]):
        return [Option(_text(c["const"]), c.get("title") or _text(c["const"])) for c in prop["oneOf"]]
    if "enum" in prop:
        return [Option(_text(v), _text(v)) for v in prop["enum"]]
    return None


def _text(value) -> str:
    return "" if value is None else str(value)


def _day_first(text: str) -> str:
    """An ISO date (as stored, or a schema default) as the office writes it; anything else as typed."""
    match = _ISO_DATE.match(text)
    return f"{match[3]}/{match[2]}/{match[1]}" if match else text
