"""Procedure versions: a deploy stores each diagram set once, by content hash.

New cases start on the latest version of their procedure; a running case stays on the
version it started with. Specs are parsed once per version and kept in memory, so loading
a case costs only its instance state.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from engine.audit import trail as audit
from engine.bpm import parsing as bpmn
from engine.bpm import rules as diagram_rules
from engine.bpm import start_events
from engine.bpm.serializer import InstanceSerializer
from engine.db.models import ProcedureVersion
from engine.db.statements import Statement
from engine.errors import DiagramError
from engine.forms import schemas as form_schemas


@dataclass
class Procedure:
    """A deployed version, parsed: its specs, forms and user-task metadata."""

    version_id: int
    process_id: str
    name: str
    version: int
    spec: object
    subprocess_specs: dict
    forms: dict[str, dict]
    start_form: str | None
    steps: dict[str, bpmn.StepInfo] = field(default_factory=dict)
    starters: frozenset[str] = frozenset()  # who starts it by hand: its start event's lane (start_events.starters)


def _start_form(spec) -> str | None:
    start = spec.start.outputs[0] if spec.start.outputs else None
    return bpmn.form_of(start) if start is not None else None


def read_directory(processes_dir: Path, forms_dir: Path) -> tuple[dict[str, str], dict[str, dict]]:
    """The diagrams (file name → XML) and forms (name → schema) of two directories."""
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(processes_dir).glob("*.bpmn"))}
    return files, form_schemas.load_directory(forms_dir)


@dataclass
class Candidate:
    """One process of a diagram set, checked and ready to be stored as a version."""

    process_id: str
    name: str
    bpmn: dict[str, str]
    forms: dict[str, dict]
    spec: dict
    content_hash: str
    schedules: dict[str, str] = field(default_factory=dict)  # timer start event → calendar (engine.bpm.start_events)


def check(files: dict[str, str], forms: dict[str, dict], serializer: InstanceSerializer) -> list[Candidate]:
    """Parse, validate and lint a diagram set; raise DiagramError listing every problem."""
    parser = bpmn.parser_for(files)
    problems = [
        bpmn.Problem(file=name, message=msg)
        for name, schema in forms.items()
        for msg in form_schemas.schema_problems(name, schema)
    ]
    calls = diagram_rules.unresolved_calls(parser)
    problems.extend(calls)
    candidates = []
    for process_id in parser.get_process_ids():
        try:
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
        except Exception as exc:  # noqa: BLE001 - SpiffWorkflow raises several kinds here
            if not any(p.file == parser.process_parsers[process_id].filename for p in calls):
                problems.append(bpmn.Problem(file=process_id, message=f"no se pudo construir el proceso: {exc}"))
            continue
        specs = [spec, *subprocess_specs.values()]
        problems.extend(bpmn.lint(lambda s: s.file or "", specs, forms))
        problems.extend(diagram_rules.unnamed_starters(spec))
        problems.extend(diagram_rules.unusable_task_forms(lambda s: s.file or "", specs, forms))
        problems.extend(diagram_rules.unchecked_expressions(lambda s: s.file or "", specs))
        used_forms = cast(
            "set[str]", {s.form for s in bpmn.user_steps(specs).values() if s.form} | {_start_form(spec)} - {None}
        )
        used = {name: forms[name] for name in sorted(used_forms) if name in forms}
        sources = {s.file: files[s.file] for s in specs if s.file in files}
        spec_dict = serializer.spec_to_dict(spec, subprocess_specs)
        digest = hashlib.sha256(json.dumps({"spec": spec_dict, "forms": used}, sort_keys=True).encode()).hexdigest()
        candidates.append(
            Candidate(process_id, spec.description or process_id, sources, used, spec_dict, digest, _schedules(spec))
        )
    if problems:
        # A called diagram (tramitacion_comun) is linted with every caller: say each problem once.
        raise DiagramError(list(dict.fromkeys(problems)))
    return candidates


def deploy(
    session: Session, candidates: list[Candidate], actor: str, at: datetime, note: str = ""
) -> list[ProcedureVersion]:
    """Store each candidate as a new version unless the same content is already deployed."""
    stored = []
    for c in candidates:
        existing = session.scalar(
            select(ProcedureVersion).where(
                ProcedureVersion.process_id == c.process_id, ProcedureVersion.content_hash == c.content_hash
            )
        )
        if existing is not None:
            stored.append(existing)
            continue
        last = session.scalar(
            select(func.max(ProcedureVersion.version)).where(ProcedureVersion.process_id == c.process_id)
        )
        row = ProcedureVersion(
            process_id=c.process_id,
            name=c.name,
            version=(last or 0) + 1,
            content_hash=c.content_hash,
            bpmn=c.bpmn,
            forms=c.forms,
            spec=c.spec,
            deployed_by=actor,
            deployed_at=at,
            note=note,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            at,
            actor,
            "procedimiento_desplegado",
            detail={"proceso": c.process_id, "version": row.version, "hash": c.content_hash, "nota": note},
        )
        start_events.sync(session, c.process_id, c.schedules, at)
        stored.append(row)
    return stored


def _schedules(spec) -> dict[str, str]:
    try:
        return start_events.cycles_of(spec)
    except Exception:  # noqa: BLE001 - a calendar that does not evaluate is bpmn.lint's problem to report
        return {}


def latest_version(session: Session, process_id: str) -> ProcedureVersion | None:
    return session.scalar(
        select(ProcedureVersion)
        .where(ProcedureVersion.process_id == process_id)
        .order_by(ProcedureVersion.version.desc())
        .limit(1)
    )


_VERSIONS = ProcedureVersion.__table__
_LATEST_ID = Statement(
    select(_VERSIONS.c.id)
    .where(_VERSIONS.c.process_id == bindparam("process_id"))
    .order_by(_VERSIONS.c.version.desc())
    .limit(1)
)


def latest_version_id(session: Session, process_id: str) -> int | None:
    """The id of the newest version, without reading its diagrams, forms and spec (every new case asks)."""
    return _LATEST_ID.scalar(session, {"process_id": process_id})


class ProcedureCache:
    """Parsed procedures by version id; a version never changes, so entries never go stale."""

    def __init__(self, serializer: InstanceSerializer):
        self._serializer = serializer
        self._by_id: dict[int, Procedure] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, version_id: int) -> Procedure:
        found = self._by_id.get(version_id)
        if found is not None:
            return found
        row = session.get(ProcedureVersion, version_id)
        assert row is not None  # ids come from cases' foreign keys or from versions just read; none is ever deleted
        spec, subprocess_specs = self._serializer.spec_from_dict(row.spec)
        procedure = Procedure(
            version_id=row.id,
            process_id=row.process_id,
            name=row.name,
            version=row.version,
            spec=spec,
            subprocess_specs=subprocess_specs,
            forms=row.forms,
            start_form=_start_form(spec),
            steps=bpmn.user_steps([spec, *subprocess_specs.values()]),
            starters=start_events.starters(spec),
        )
        with self._lock:
            return self._by_id.setdefault(version_id, procedure)


def in_force(session: Session, cache: ProcedureCache) -> list[Procedure]:
    """The latest version of every procedure, parsed (the cache keeps each once)."""
    newest = (
        select(ProcedureVersion.process_id, func.max(ProcedureVersion.version).label("version"))
        .group_by(ProcedureVersion.process_id)
        .subquery()
    )
    ids = session.scalars(
        select(ProcedureVersion.id)
        .join(
            newest,
            (newest.c.process_id == ProcedureVersion.process_id) & (newest.c.version == ProcedureVersion.version),
        )
        .order_by(ProcedureVersion.process_id)
    )
    return [cache.get(session, version_id) for version_id in ids]


def called(procedures: list[Procedure]) -> frozenset[str]:
    """The procedures another one in force calls (a call activity): their callers start them, nobody by hand."""
    return frozenset(name for p in procedures for name in p.subprocess_specs if name != p.process_id)
