"""An analyst's draft of a procedure: diagrams, forms and scenarios saved between sessions.

A draft starts as a copy of the latest version (and the scenarios it passed) and lives
until it is deployed or discarded; there is one per procedure, shared by the analysts. It
is stored as typed, and only checked as a whole when deployed (``engine.procedures.publishing``),
but a diagram must at least be XML without a DOCTYPE and a form JSON, so a draft never
holds what could not be opened again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpm import parsing as bpmn
from engine.db.models import ProcedureDraft, ProcedureScenarios, ProcedureVersion
from engine.errors import DiagramError, DraftErrors
from engine.forms import schemas as form_schemas
from engine.procedures import publishing, scenarios
from engine.procedures import versions as procedures

FORM_NAME = re.compile(r"^[a-z][a-z0-9_]{1,60}$")


@dataclass
class Draft:
    """A draft as the editor shows it; ``saved`` is False while it is only the latest version."""

    process_id: str
    name: str
    base_version: int
    bpmn: dict[str, str]
    forms: dict[str, dict]
    scenarios: dict
    saved: bool
    latest_version: int
    updated_by: str | None = None
    updated_at: object = None


def latest(session: Session, process_id: str) -> ProcedureVersion:
    """The version in force of a procedure; LookupError if it was never deployed."""
    version = procedures.latest_version(session, process_id)
    if version is None:
        raise LookupError(f"no hay una versión desplegada de «{process_id}»")
    return version


def current(session: Session, process_id: str, scenario_dir=None) -> Draft:
    """The saved draft of a procedure, or a new one from its latest version (not stored until saved)."""
    version = latest(session, process_id)
    row = session.scalar(select(ProcedureDraft).where(ProcedureDraft.process_id == process_id))
    if row is not None:
        base = session.get(ProcedureVersion, row.base_version_id)
        assert base is not None  # a foreign key, and versions are never deleted
        return Draft(
            process_id,
            version.name,
            base.version,
            dict(row.bpmn),
            dict(row.forms),
            row.scenarios,
            True,
            version.version,
            row.updated_by,
            row.updated_at,
        )
    return Draft(
        process_id,
        version.name,
        version.version,
        dict(version.bpmn),
        dict(version.forms),
        _scenarios_of(session, process_id, scenario_dir),
        False,
        version.version,
    )


def _scenarios_of(session: Session, process_id: str, scenario_dir) -> dict:
    row = session.get(ProcedureScenarios, process_id)
    if row is not None:
        return row.scenarios
    if scenario_dir is not None:
        found, _problems = scenarios.load_directory(scenario_dir)
        if process_id in found:
            return {"proceso": process_id, "escenarios": found[process_id].scenarios}
    return scenarios.empty(process_id)


def main_file(files: dict[str, str], process_id: str) -> str:
    """The file that defines the process (the others are processes it calls)."""
    marker = f'id="{process_id}"'
    return next((name for name, text in sorted(files.items()) if marker in text), sorted(files)[0])


def save(
    session: Session,
    process_id: str,
    actor: str,
    now,
    *,
    files: dict[str, str] | None = None,
    form_texts: dict[str, str] | None = None,
    scenario_text: str | None = None,
    new_form: str | None = None,
    scenario_dir=None,
) -> ProcedureDraft:
    """Store the given parts of the draft (creating it from the latest version); raises DraftErrors."""
    draft = current(session, process_id, scenario_dir)
    errors: dict[str, str] = {}
    if new_form:
        if not FORM_NAME.match(new_form):
            errors["nuevo_formulario"] = "Use minúsculas, números y guiones bajos (p. ej. «plantilla_denuncia»)."
        elif new_form not in draft.forms:
            draft.forms[new_form] = {
                "type": "object",
                "title": new_form.replace("_", " ").capitalize(),
                "properties": {},
            }
    for name, xml in (files or {}).items():
        try:
            bpmn.parse_xml(xml, name)
            draft.bpmn[name] = xml
        except DiagramError as exc:
            errors["xml"] = "; ".join(p.message for p in exc.problems)
    for name, text in (form_texts or {}).items():
        parsed = _json(text, errors, f"form:{name}")
        if parsed is not None:
            problems = form_schemas.schema_problems(name, parsed)
            if problems:
                errors[f"form:{name}"] = "; ".join(problems)
            else:
                draft.forms[name] = parsed
    if scenario_text is not None:
        parsed = _json(scenario_text, errors, "escenarios")
        if parsed is not None:
            found, scenario_problems = scenarios.parse(parsed, "escenarios")
            if scenario_problems or (found is not None and found.process_id != process_id):
                errors["escenarios"] = (
                    "; ".join(p.message for p in scenario_problems) or f"«proceso» debe ser «{process_id}»"
                )
            else:
                draft.scenarios = parsed
    if errors:
        raise DraftErrors(errors)
    return _store(session, draft, actor, now)


def _json(text: str, errors: dict, key: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        errors[key] = f"JSON inválido: {exc.msg} (línea {exc.lineno}, columna {exc.colno})"
        return None
    except ValueError:  # a number of more digits than Python converts (sys.get_int_max_str_digits)
        errors[key] = "JSON inválido: un número tiene demasiados dígitos"
        return None


def _store(session: Session, draft: Draft, actor: str, now) -> ProcedureDraft:
    row = session.scalar(select(ProcedureDraft).where(ProcedureDraft.process_id == draft.process_id))
    if row is None:
        row = ProcedureDraft(process_id=draft.process_id, base_version_id=latest(session, draft.process_id).id)
        session.add(row)
    row.bpmn, row.forms, row.scenarios = draft.bpmn, draft.forms, draft.scenarios
    row.updated_by, row.updated_at = actor, now
    session.flush()
    return row


def discard(session: Session, process_id: str) -> bool:
    """Delete the draft; False if there was none."""
    row = session.scalar(select(ProcedureDraft).where(ProcedureDraft.process_id == process_id))
    if row is None:
        return False
    session.delete(row)
    return True


def diagram_set(
    session: Session, draft: Draft, library_forms: dict[str, dict], scenario_dir=None
) -> publishing.DiagramSet:
    """What deploying the draft checks: its diagrams, its forms over the form library, every scenario set."""
    sets = {}
    if scenario_dir is not None:
        sets.update(scenarios.load_directory(scenario_dir)[0])
    sets.update(publishing.stored_scenarios(session))
    found, problems = scenarios.parse(draft.scenarios, f"{draft.process_id}{scenarios.SUFFIX}")
    if found is not None:
        sets[draft.process_id] = found
    return publishing.DiagramSet(dict(draft.bpmn), {**library_forms, **draft.forms}, sets, problems)
