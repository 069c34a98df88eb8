"""The values a task form starts with: each field's ``x-desde`` (``engine.forms.sources``) resolved
against the case, then the schema's ``default``.

Only a form shown for the first time starts from them: a person's draft, or what they just
posted, always wins (``web.tasks``). A value is offered only if the field would accept it (one
of its options, its type and format; long text cut to its ``maxLength``), so a default never
puts on the page something the form then refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable
from sqlalchemy.orm import Session

from engine import clock
from engine.access.accounts import Actor
from engine.cases import queries
from engine.db.models import Case, HumanTask
from engine.forms import sources
from engine.forms.schemas import FORMATS, catalogs_of

COMPLETED = "tarea_completada"  # the audit event that holds each task's answer (engine.bpm.runtime)


@dataclass(frozen=True)
class Context:
    """What the sources read: the case's record, earlier answers by form, today, who opens the form."""

    data: dict
    answers: dict[str, dict] = field(default_factory=dict)  # form → its newest answer in this case
    today: date | None = None
    user_name: str = ""
    codes: dict[str, set[str]] = field(default_factory=dict)  # catalogue → active codes
    label: Callable[[str, str], str | None] | None = None  # (catalogue, code) → label
    forms: dict[str, dict] = field(default_factory=dict)  # the procedure's forms, for «opcion»


def resolve(schema: dict, context: Context) -> dict:
    """Field → the value it starts with: its first usable ``x-desde`` source, else its ``default``."""
    found = {}
    declared = sources.declared(schema)
    for name, prop in schema.get("properties", {}).items():
        for source in declared.get(name, []):
            value = _fitted(prop, _value(source, name, context), context.codes)
            if value is not None:
                found[name] = value
                break
        else:
            if "default" in prop:
                found[name] = prop["default"]
    return found


def _value(source: sources.Source, field_name: str, context: Context):
    if source.kind == "dato":
        return context.data.get(source.name)
    if source.kind == "tarea":
        return context.answers.get(source.name, {}).get(source.field or field_name)
    if source.kind == "sistema":
        if source.name == sources.TODAY:
            return context.today.isoformat() if context.today else None
        return context.user_name or None
    return sources.render(
        source.template, context.data, context.label, lambda named, value: _title(context, named, value)
    )


def _title(context: Context, named: str, value: str) -> str | None:
    """The title of option ``value`` of field «formulario.campo» of the procedure's forms."""
    form, _, name = named.partition(".")
    prop = context.forms.get(form, {}).get("properties", {}).get(name, {})
    return next((c.get("title") for c in prop.get("oneOf", []) if str(c.get("const")) == value), None)


def _fitted(prop: dict, value, codes: dict[str, set[str]]):
    """``value`` as the field takes it, or None when the field would refuse it (or it is blank)."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if prop.get("type") == "string":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return None
        value = str(value)[: prop["maxLength"]] if "maxLength" in prop else str(value)
        if not value.strip():
            return None
    catalog = prop.get("x-catalogo")
    if catalog and value not in codes.get(catalog, set()):
        return None
    checked = {k: v for k, v in prop.items() if not k.startswith("x-") and k != "default"}
    try:
        return value if Draft202012Validator(checked, format_checker=FORMATS).is_valid(value) else None
    except Unresolvable:  # e.g. a «$ref» that only resolves within the whole form: offer nothing
        return None


def answers(events: Iterable[Any], form_of: Callable[[str], str | None]) -> dict[str, dict]:
    """Form → the newest answer given to it in the case, from the completions among its audit ``events``.

    ``events``: the case's audit rows, oldest first (``engine.audit.trail.case_history_read``), which
    the pages that show a form have read for its history already. ``form_of`` names the form of a
    task of the diagram (by its BPMN id); a task the current version no longer has is skipped.
    """
    found: dict[str, dict] = {}
    for event in events:
        if event.kind != COMPLETED:
            continue
        detail = event.detail or {}
        form = form_of(str(detail.get("tarea", "")))
        if form and isinstance(detail.get("datos"), dict):
            found[form] = detail["datos"]
    return found


def for_task(atiende, session: Session, task: HumanTask, actor: Actor, events: Iterable[Any]) -> dict:
    """The values the task's form starts with for ``actor``, who has no draft of it; ``events``: its
    case's audit rows, oldest first (``answers``)."""
    case: Case = task.case
    procedure = atiende.procedure(session, case.procedure_version_id)
    schema = procedure.forms.get(task.form) if task.form else None
    if not schema:
        return {}
    declared = sources.declared(schema)
    wanted = {s.kind for found in declared.values() for s in found}
    context = Context(
        data=case.data or {},
        answers=answers(events, lambda bpmn_id: getattr(procedure.steps.get(bpmn_id), "form", None))
        if "tarea" in wanted
        else {},
        today=atiende.now().astimezone(clock.PANAMA).date(),
        user_name=queries.full_names(session, [actor.username]).get(actor.username, "") if "sistema" in wanted else "",
        codes=atiende.catalog_cache.codes(session, catalogs_of(schema)),
        label=_labels(atiende, session) if "plantilla" in wanted else None,
        forms=procedure.forms,
    )
    return resolve(schema, context)


def _labels(atiende, session: Session) -> Callable[[str, str], str | None]:
    """A (catalogue, code) → label lookup through the engine's catalogue cache."""

    def label(catalog: str, code: str) -> str | None:
        return atiende.catalog_cache.labels(session, [catalog]).get(catalog, {}).get(code)

    return label
