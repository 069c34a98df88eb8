"""Capture screens made from a procedure's start form: a subset of its fields, never a copy.

The Reporte Ciudadano page, the phone quick capture and the counter each show only some
fields of their procedure's start form; titles, help, choices and rules still come from
the deployed schema, so an analyst who changes the form changes every screen. The full
start form stays the authority: ``Atiende.start_case`` validates against it again.
"""

from __future__ import annotations

import copy

from sqlalchemy.orm import Session

from engine.forms import catalogs
from engine.forms import schemas as form_schemas


def subset(
    schema: dict,
    fields: list[str],
    required: tuple[str, ...] = (),
    title: str | None = None,
    description: str | None = None,
    wording: dict[str, dict] | None = None,
) -> dict:
    """The start form reduced to ``fields`` (in that order), with ``required`` added to its own.

    A conditional rule of the form (``allOf`` if/then) is kept when every field it names is shown.
    ``wording`` replaces a field's ``title`` or ``description`` (help written for staff reads
    differently to a citizen); the rules of the field stay the form's.
    """
    properties = schema.get("properties", {})
    shown = [name for name in fields if name in properties]
    wanted = set(required) | set(schema.get("required", []))
    rules = [rule for rule in schema.get("allOf", []) if _names(rule) <= set(shown)]
    result = {
        "type": "object",
        "title": title if title is not None else schema.get("title", ""),
        "description": description if description is not None else schema.get("description", ""),
        "properties": {name: {**copy.deepcopy(properties[name]), **(wording or {}).get(name, {})} for name in shown},
        "required": [name for name in shown if name in wanted],
        "x-orden": shown,
    }
    if rules:
        result["allOf"] = copy.deepcopy(rules)
    return result


def essentials(schema: dict) -> list[str]:
    """The fields a form requires, always or by one of its rules, in the form's order: a quick capture."""
    wanted = set(schema.get("required", []))
    for rule in schema.get("allOf", []):
        for branch in ("then", "else"):
            wanted |= set(rule.get(branch, {}).get("required", []))
    order = schema.get("x-orden") or list(schema.get("properties", {}))
    return [name for name in order if name in wanted]


def single_line(schema: dict, keep: tuple[str, ...] = ()) -> dict:
    """The schema with its long-text fields shown as one line (except ``keep``), so Enter submits."""
    result = copy.deepcopy(schema)
    for name, prop in result.get("properties", {}).items():
        if name not in keep and prop.get("x-widget") == "textarea":
            del prop["x-widget"]
    return result


def _names(rule: dict) -> set[str]:
    """Every property name a conditional rule reads or requires."""
    names: set[str] = set()
    for part in ("if", "then", "else"):
        sub = rule.get(part, {})
        names |= set(sub.get("properties", {})) | set(sub.get("required", []))
    return names


def validate(session: Session, schema: dict, submitted: dict) -> dict:
    """``engine.forms.schemas.clean`` with the active catalogue codes the schema's fields need."""
    needed = {p["x-catalogo"] for p in schema.get("properties", {}).values() if "x-catalogo" in p}
    return form_schemas.clean(schema, submitted, catalogs.codes(session, needed))
