"""A case as people read it: a summary of its columns, and its record labelled by its forms.

The case record keeps codes (``queja_reclamo``, ``bella_vista``); people read the titles
the forms give them, so labels and choice names come from the procedure version's own
schemas and the catalogues, never from a second list kept here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from engine.procedures.versions import Procedure
from web.ui import history
from web.ui.context import atiende
from web.ui.filters import fecha, fecha_hora
from web.ui.forms_render import field_order

if TYPE_CHECKING:
    from engine.db.models import Case

# Shown in the summary from the case's columns, so not repeated in the record.
SUMMARY_KEYS = frozenset({"ticket", "fecha_inicio", "estado_caso", "fecha_limite"})
NO_DIRECCION = "Sin asignar"


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    multiline: bool = False


class Labels:
    """Catalogue labels, each catalogue taken once per page from the engine's ``CatalogCache`` (those
    named in ``preload`` at once): an edit reaches other processes' pages within its ``ttl``."""

    def __init__(self, session: Session, preload: tuple[str, ...] = ()):
        self._session = session
        self._loaded: dict[str, dict[str, str]] = {}
        self._active: dict[str, list[tuple[str, str]]] = {}
        if preload:
            self._load(preload)

    def _load(self, catalogs) -> None:
        for catalog in catalogs:
            self._loaded[catalog], self._active[catalog] = {}, []
        for catalog, items in atiende().catalog_cache.items(self._session, catalogs).items():
            for code, label, active in items:
                self._loaded[catalog][code] = label
                if active:
                    self._active[catalog].append((code, label))

    def __call__(self, catalog: str, code: str | None) -> str | None:
        if code is None:
            return None
        if catalog not in self._loaded:
            self._load([catalog])
        return self._loaded[catalog].get(code, code)

    def choices(self, catalog: str) -> list[tuple[str, str]]:
        """(code, label) of the catalogue's active entries, by label: the options of a filter."""
        if catalog not in self._active:
            self._load([catalog])
        return self._active[catalog]


# The catalogues the summary names its codes by: a page that shows it preloads them (one query).
SUMMARY_CATALOGS = ("tipos_caso", "direcciones", "corregimientos")


def summary(case: Case, labels: Labels) -> list[Row]:
    """The facts of a case everyone looks for first: ticket, status, type, citizen, dates."""
    rows = [
        Row("Ticket", case.ticket),
        Row("Estado", case.status.capitalize()),
        Row("Tipo de caso", labels("tipos_caso", case.case_type) or ""),
        Row("Ciudadano", case.citizen_name or ""),
        Row("Asunto", case.subject or ""),
        Row("Dirección responsable", labels("direcciones", case.direccion) or NO_DIRECCION),
        Row("Corregimiento", labels("corregimientos", case.corregimiento) or ""),
        Row("Abierto el", fecha_hora(case.opened_at)),
        Row("Fecha límite", fecha(case.due_at)),
    ]
    if case.closed_at is not None:
        rows.append(Row("Cerrado el", fecha_hora(case.closed_at)))
    return [row for row in rows if row.value]


def record(procedure: Procedure, data: dict, labels: Labels, files: dict[str, str] | None = None) -> list[Row]:
    """Every value of the case record, titled and in the order of the procedure's forms.

    ``files`` names the case's attachments by id, so an attachment field reads as file names.
    """
    properties = _properties(procedure)
    keys = [k for k in properties if k in data] + sorted(k for k in data if k not in properties)
    rows = []
    for key in keys:
        if key in SUMMARY_KEYS:
            continue
        prop = properties.get(key, {})
        # A value no form titles (``canal``, set by a diagram's start event) may still be a catalogue's code.
        value = (None if prop else history.record_label(labels, key, data[key])) or _display(
            prop, data[key], labels, files or {}
        )
        if value:
            rows.append(
                Row(
                    prop.get("title") or history.RECORD_TITLES.get(key) or key.replace("_", " ").capitalize(),
                    value,
                    prop.get("x-widget") == "textarea" or "\n" in value,
                )
            )
    return rows


def choice_labels(procedure: Procedure, labels: Labels):
    """``label(field, value)``: the name people read for a value of a choice field (a catalogue or a
    list of options) of the procedure's forms, and None for any other field or value, so a caller
    that shows raw values (the auditor's trail of changes) keeps its own formatting for the rest."""
    properties = _properties(procedure)
    for catalog in {p["x-catalogo"] for p in properties.values() if "x-catalogo" in p}:
        labels(catalog, "")  # loaded now: the page is rendered after its session closes

    def label(field: str, value) -> str | None:
        prop = properties.get(field, {})
        if not isinstance(value, str) or not ("x-catalogo" in prop or "oneOf" in prop):
            return None
        return _display(prop, value, labels, {})

    return label


def _properties(procedure: Procedure) -> dict[str, dict]:
    """Field name → schema property across the procedure's forms: start form first, then by step."""
    names = [procedure.start_form] + [step.form for step in procedure.steps.values()] + list(procedure.forms)
    properties: dict[str, dict] = {}
    for name in dict.fromkeys(n for n in names if n in procedure.forms):
        schema = procedure.forms[name]
        for field in field_order(schema):
            properties.setdefault(field, schema["properties"][field])
    return properties


def _display(prop: dict, value, labels: Labels, files: dict[str, str]) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Sí" if value else "No"
    if isinstance(value, list):
        items = prop.get("items", {})
        if prop.get("x-widget") == "adjuntos":
            return ", ".join(files.get(v, "archivo no disponible") for v in value)
        if items.get("type") == "object":  # repeating rows: one line each, «Título: valor; …»
            cells = items.get("properties", {})
            return "\n".join(
                "; ".join(
                    f"{cells.get(k, {}).get('title') or k}: {_display(cells.get(k, {}), row[k], labels, files)}"
                    for k in field_order(items) + sorted(set(row) - set(cells))
                    if k in row
                )
                for row in value
                if isinstance(row, dict)
            )
        return ", ".join(_display(items, v, labels, files) for v in value)
    if isinstance(value, dict):
        return str(value)
    if "x-catalogo" in prop:
        return labels(prop["x-catalogo"], value) or ""
    for choice in prop.get("oneOf", []):
        if choice.get("const") == value:
            return choice.get("title") or str(value)
    if prop.get("format") == "date":
        return fecha(value)
    return str(value)
