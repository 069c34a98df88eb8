"""An analyst's draft of a procedure: diagrams, forms and scenarios saved between sessions.

A draft starts as a copy of the latest version (and the scenarios it passed) and lives
until it is deployed or discarded; there is one per procedure, shared by the analysts. A new
procedure starts as a draft too (``create``: a minimal diagram, or a copy of another procedure
under a new process id), with no version until its first deploy. A draft is stored as typed, and
only checked as a whole when deployed (``engine.procedures.publishing``), but each diagram must at
least be XML without a DOCTYPE defining a process no other file of the draft defines, and a form
JSON, so a draft never holds what could not be opened again. A draft keeps its process id: one
whose diagrams stopped defining it is refused at deploy (``diagram_set``), as deploying it would
create another procedure, or overwrite one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.roles import ROLES, role_of_lane
from engine.bpm import parsing as bpmn
from engine.db.models import ProcedureDraft, ProcedureScenarios, ProcedureVersion
from engine.errors import DiagramError, DraftErrors
from engine.forms import schemas as form_schemas
from engine.procedures import publishing, scenarios
from engine.procedures import versions as procedures

FORM_NAME = re.compile(r"^[a-z][a-z0-9_]{1,60}$")
PROCESS_ID = re.compile(r"^[a-z][a-z0-9_]{2,59}$")
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}\.bpmn$")
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# The roles a new procedure's start lane may name: those who work cases (not the analyst, auditor or admin).
STARTING_ROLES = tuple(sorted(set(ROLES) - {"analista", "auditor", "admin"}))


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

    @property
    def is_new(self) -> bool:
        """A procedure created in the editor and never deployed (it has no version yet)."""
        return self.latest_version == 0


def latest(session: Session, process_id: str) -> ProcedureVersion:
    """The version in force of a procedure; LookupError if it was never deployed."""
    version = procedures.latest_version(session, process_id)
    if version is None:
        raise LookupError(f"no hay una versión desplegada de «{process_id}»")
    return version


def current(session: Session, process_id: str, scenario_dir=None) -> Draft:
    """The saved draft of a procedure, or a new one from its latest version (not stored until saved);
    LookupError for a procedure with neither."""
    version = procedures.latest_version(session, process_id)
    row = session.scalar(select(ProcedureDraft).where(ProcedureDraft.process_id == process_id))
    if row is not None:
        base = session.get(ProcedureVersion, row.base_version_id) if row.base_version_id is not None else None
        return Draft(
            process_id,
            version.name if version is not None else process_name(row.bpmn, process_id),
            base.version if base is not None else 0,
            dict(row.bpmn),
            dict(row.forms),
            row.scenarios,
            True,
            version.version if version is not None else 0,
            row.updated_by,
            row.updated_at,
        )
    if version is None:
        raise LookupError(f"no hay una versión desplegada ni un borrador de «{process_id}»")
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


def _processes(xml: str, filename: str) -> list:
    """The ``bpmn:process`` elements of a diagram file (DiagramError if it is not safe XML)."""
    return list(bpmn.parse_xml(xml, filename).iter(f"{{{BPMN_NS}}}process"))


def process_ids(files: dict[str, str]) -> dict[str, str]:
    """Process id → the file defining it, over a draft's files (each already parsed once when saved)."""
    return {p.get("id"): name for name, xml in sorted(files.items()) for p in _processes(xml, name)}


def process_name(files: dict[str, str], process_id: str) -> str:
    """The name a new procedure's diagram gives its process (its id when it gives none)."""
    for name, xml in sorted(files.items()):
        for process in _processes(xml, name):
            if process.get("id") == process_id:
                return (process.get("name") or "").strip() or process_id
    return process_id


def _file_problems(files: dict[str, str], changed: dict[str, str]) -> str | None:
    """Why the changed files cannot stand in the draft: not a safe XML diagram, no process, or a process id
    another file defines too (the engine would not know which to run)."""
    messages: list[str] = []
    for name, xml in changed.items():
        try:
            ids = [p.get("id") for p in _processes(xml, name)]
        except DiagramError as exc:
            messages.extend(p.message for p in exc.problems)
            continue
        if not ids:
            messages.append(f"«{name}» no define ningún proceso BPMN (bpmn:process)")
        others = process_ids({n: x for n, x in files.items() if n != name})
        messages.extend(
            f"el proceso «{pid}» de «{name}» ya está definido en «{others[pid]}»" for pid in ids if pid in others
        )
    return "; ".join(messages) or None


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
    if files:
        problem = _file_problems(draft.bpmn, files)
        if problem:
            errors["xml"] = problem
        else:
            draft.bpmn.update(files)
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


def add_file(
    session: Session, process_id: str, filename: str, xml: str, actor: str, now, scenario_dir=None
) -> ProcedureDraft:
    """Add a diagram file to the draft (a process the procedure calls); raises DraftErrors under «subir»."""
    draft = current(session, process_id, scenario_dir)
    if not FILE_NAME.match(filename):
        raise DraftErrors(
            {
                "subir": "El nombre del archivo debe terminar en .bpmn y usar solo letras sin tildes, números, "
                "puntos, guiones y guiones bajos (p. ej. «poda_de_arboles.bpmn»)."
            }
        )
    if filename in draft.bpmn:
        raise DraftErrors({"subir": f"El borrador ya tiene un archivo «{filename}»: elija reemplazarlo."})
    try:
        return save(session, process_id, actor, now, files={filename: xml}, scenario_dir=scenario_dir)
    except DraftErrors as invalid:
        raise DraftErrors({"subir": invalid.errors["xml"]}) from None


def remove_file(session: Session, process_id: str, filename: str, actor: str, now, scenario_dir=None) -> ProcedureDraft:
    """Remove a diagram file from the draft; LookupError if it has none of that name, DraftErrors (under
    «quitar») for its only file or the file that defines the procedure's own process."""
    draft = current(session, process_id, scenario_dir)
    if filename not in draft.bpmn:
        raise LookupError(f"el borrador no tiene el archivo «{filename}»")
    if len(draft.bpmn) == 1:
        raise DraftErrors({"quitar": "Un procedimiento necesita al menos un diagrama: no se puede quitar el único."})
    if process_ids({filename: draft.bpmn[filename]}).get(process_id):
        raise DraftErrors(
            {"quitar": f"«{filename}» define el proceso «{process_id}» del procedimiento: no se puede quitar."}
        )
    del draft.bpmn[filename]
    return _store(session, draft, actor, now)


def create(
    session: Session,
    process_id: str,
    name: str,
    actor: str,
    now,
    *,
    starter: str | None = None,
    copy_of: str | None = None,
    scenario_dir=None,
) -> ProcedureDraft:
    """A new procedure's draft: a minimal diagram whose start event sits in the lane of ``starter`` (the
    role that will start it), or a copy of procedure ``copy_of``'s latest version under the new process id
    and name. Raises DraftErrors with a Spanish message under each field that is wrong."""
    errors: dict[str, str] = {}
    name = " ".join(name.split())
    if not 3 <= len(name) <= 200:
        errors["nombre"] = "Escriba el nombre del procedimiento (de 3 a 200 caracteres)."
    elif any(unicodedata.category(c) == "Cc" for c in name):  # XML cannot hold them
        errors["nombre"] = "El nombre no puede llevar caracteres de control."
    if not PROCESS_ID.match(process_id):
        errors["identificador"] = (
            "Use de 3 a 60 minúsculas sin tildes, números y guiones bajos, empezando por una letra "
            "(p. ej. «poda_de_arboles»)."
        )
    elif procedures.latest_version(session, process_id) is not None or session.scalar(
        select(ProcedureDraft.id).where(ProcedureDraft.process_id == process_id)
    ):
        errors["identificador"] = f"Ya existe un procedimiento o un borrador con el identificador «{process_id}»."
    source = procedures.latest_version(session, copy_of) if copy_of and PROCESS_ID.match(copy_of) else None
    if copy_of and source is None:
        errors["copia"] = "El procedimiento a copiar no existe."
    if not copy_of and starter not in STARTING_ROLES:
        errors["rol"] = "Elija el rol que inicia el procedimiento."
    if errors:
        raise DraftErrors(errors)
    if source is not None:
        original = main_file(source.bpmn, source.process_id)
        files = {n: x for n, x in source.bpmn.items() if n != original}
        files[f"{process_id}.bpmn" if f"{process_id}.bpmn" not in files else original] = _renamed(
            source.bpmn[original], source.process_id, process_id, name
        )
        forms = dict(source.forms)
        document = _scenarios_of(session, source.process_id, scenario_dir)
        scenario_document = {**document, "proceso": process_id}
    else:
        files = {f"{process_id}.bpmn": _renamed(_empty_diagram(starter or ""), EMPTY_ID, process_id, name)}
        forms, scenario_document = {}, scenarios.empty(process_id)
    row = ProcedureDraft(
        process_id=process_id,
        base_version_id=None,
        bpmn=files,
        forms=forms,
        scenarios=scenario_document,
        updated_by=actor,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def derived_id(name: str) -> str:
    """The process id a name suggests: «Poda de árboles» → «poda_de_arboles» (``create`` still checks it)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "_".join(re.findall(r"[a-z0-9]+", plain))[:60].strip("_")


def unpublished(session: Session) -> list[Draft]:
    """The drafts of procedures created in the editor and not deployed yet, by process id."""
    rows = session.scalars(
        select(ProcedureDraft.process_id)
        .where(ProcedureDraft.base_version_id.is_(None))
        .order_by(ProcedureDraft.process_id)
    )
    return [d for d in (current(session, pid) for pid in rows) if d.is_new]


EMPTY_ID = "Proceso_nuevo"
_EMPTY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
                  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
                  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_nuevo" targetNamespace="http://bpmn.io/schema/bpmn"
                  exporter="Atiende" exporterVersion="1">
  <bpmn:collaboration id="Collaboration_nuevo">
    <bpmn:participant id="Participant_nuevo" name="" processRef="Proceso_nuevo" />
  </bpmn:collaboration>
  <bpmn:process id="Proceso_nuevo" name="" isExecutable="true">
    <bpmn:laneSet id="LaneSet_nuevo">
      <bpmn:lane id="Lane_inicio" name="">
        <bpmn:flowNodeRef>StartEvent_inicio</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Script_cerrar</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>EndEvent_fin</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_inicio" name="Caso recibido">
      <bpmn:outgoing>Flow_inicio_cerrar</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="Script_cerrar" name="Cerrar el caso" scriptFormat="python">
      <bpmn:incoming>Flow_inicio_cerrar</bpmn:incoming>
      <bpmn:outgoing>Flow_cerrar_fin</bpmn:outgoing>
      <bpmn:script>estado_caso = 'cerrado'</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="EndEvent_fin" name="Caso cerrado">
      <bpmn:incoming>Flow_cerrar_fin</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_inicio_cerrar" sourceRef="StartEvent_inicio" targetRef="Script_cerrar" />
    <bpmn:sequenceFlow id="Flow_cerrar_fin" sourceRef="Script_cerrar" targetRef="EndEvent_fin" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_nuevo">
    <bpmndi:BPMNPlane id="Plane_nuevo" bpmnElement="Collaboration_nuevo">
      <bpmndi:BPMNShape id="Participant_nuevo_di" bpmnElement="Participant_nuevo" isHorizontal="true">
        <dc:Bounds x="120" y="80" width="700" height="200" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Lane_inicio_di" bpmnElement="Lane_inicio" isHorizontal="true">
        <dc:Bounds x="150" y="80" width="670" height="200" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="StartEvent_inicio_di" bpmnElement="StartEvent_inicio">
        <dc:Bounds x="202" y="162" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Script_cerrar_di" bpmnElement="Script_cerrar">
        <dc:Bounds x="560" y="140" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="EndEvent_fin_di" bpmnElement="EndEvent_fin">
        <dc:Bounds x="722" y="162" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Flow_inicio_cerrar_di" bpmnElement="Flow_inicio_cerrar">
        <di:waypoint x="238" y="180" />
        <di:waypoint x="560" y="180" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_cerrar_fin_di" bpmnElement="Flow_cerrar_fin">
        <di:waypoint x="660" y="180" />
        <di:waypoint x="722" y="180" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def _empty_diagram(starter: str) -> str:
    """The minimal diagram of a new procedure, in the lane of the role that starts it: a start event, the
    script that closes the case (a case's state is what its scripts say), an end event."""
    root = bpmn.parse_xml(_EMPTY, "nuevo.bpmn").getroot()
    [lane] = root.iter(f"{{{BPMN_NS}}}lane")
    lane.set("name", lane_name(starter))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


def lane_name(role: str) -> str:
    """A lane name that stands for ``role`` (``role_of_lane``): its title when that reads back, else its code."""
    title = ROLES.get(role, role)
    return title if role_of_lane(title) == role else role.replace("_", " ").capitalize()


def _renamed(xml: str, old_id: str, new_id: str, name: str) -> str:
    """A diagram whose process ``old_id`` is ``new_id`` called ``name``, and so are its pool and plane."""
    root = bpmn.parse_xml(xml, f"{new_id}.bpmn").getroot()
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        if process.get("id") == old_id:
            process.set("id", new_id)
            process.set("name", name)
    for participant in root.iter(f"{{{BPMN_NS}}}participant"):
        if participant.get("processRef") == old_id:
            participant.set("processRef", new_id)
            participant.set("name", name)
    for element in root.iter():
        if element.get("bpmnElement") == old_id:
            element.set("bpmnElement", new_id)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


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
    defined = process_ids(draft.bpmn)
    if draft.process_id not in defined:
        problems.append(
            bpmn.Problem(
                main_file(draft.bpmn, draft.process_id),
                f"el borrador ya no define el proceso «{draft.process_id}» (sus diagramas definen "
                f"{', '.join(f'«{pid}»' for pid in defined)}): un procedimiento conserva su identificador; "
                "para crear otro, use «Nuevo procedimiento» con una copia de este",
            )
        )
    return publishing.DiagramSet(dict(draft.bpmn), {**library_forms, **draft.forms}, sets, problems)
