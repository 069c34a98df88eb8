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

from engine.access.accounts import access_changed
from engine.audit import trail as audit
from engine.bpm import parsing as bpmn
from engine.bpm import rules as diagram_rules
from engine.bpm import start_events
from engine.bpm.scripting import budget
from engine.bpm.state.serializer import InstanceSerializer
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
    """The diagrams (file name → XML) and forms (name → schema) of two directories; DiagramError naming
    every file that is not UTF-8 (or, for a form, not JSON) instead of a traceback."""
    files, forms, problems = {}, {}, []
    for path in sorted(Path(processes_dir).glob("*.bpmn")):
        try:
            files[path.name] = bpmn.decode(path.read_bytes(), path.name)
        except DiagramError as exc:
            problems.extend(exc.problems)
    for path in sorted(Path(forms_dir).glob("*.json")):  # as form_schemas.load_directory, each file's fault said
        try:
            forms[path.stem] = json.loads(bpmn.decode(path.read_bytes(), path.name))
        except DiagramError as exc:
            problems.extend(exc.problems)
        except json.JSONDecodeError as exc:
            problems.append(bpmn.Problem(path.name, f"JSON inválido: {exc.msg}", line=exc.lineno, original=str(exc)))
    if problems:
        raise DiagramError(problems)
    return files, forms


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
    # Set by with_callers: rebuilt to bundle the procedures it calls as deployed now; ``because`` names the
    # called procedures that changed when the caller itself was not in the diagram set.
    rebuilt: bool = False
    because: tuple[str, ...] = ()


@budget.metered(budget.VALIDATION_CPU_SECONDS)  # every expression evaluated here, together
def check(files: dict[str, str], forms: dict[str, dict], serializer: InstanceSerializer) -> list[Candidate]:
    """Parse, validate and lint a diagram set; raise DiagramError listing every problem."""
    parser = bpmn.parser_for(files)
    problems = [
        bpmn.Problem(file=name, message=msg)
        for name, schema in forms.items()
        for msg in form_schemas.schema_problems(name, schema)
    ]
    problems.extend(bpmn.Problem(file=name, message=msg) for name, msg in form_schemas.set_problems(forms))
    calls = diagram_rules.unresolved_calls(parser) + diagram_rules.recursive_calls(parser)
    problems.extend(calls)
    candidates = []
    for process_id in parser.get_process_ids():
        try:
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
        except Exception as exc:  # noqa: BLE001 - SpiffWorkflow raises several kinds here
            filename = parser.process_parsers[process_id].filename or process_id
            if not any(p.file == filename for p in calls):
                problems.append(bpmn.library_problem(exc, filename))
            continue
        specs = [spec, *subprocess_specs.values()]
        problems.extend(bpmn.lint(lambda s: s.file or "", specs, forms))
        problems.extend(diagram_rules.unnamed_starters(spec))
        problems.extend(diagram_rules.unusable_task_forms(lambda s: s.file or "", specs, forms))
        problems.extend(diagram_rules.unchecked_expressions(lambda s: s.file or "", specs))
        problems.extend(diagram_rules.loops_without_wait(lambda s: s.file or "", specs))
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
    """Store each candidate as a new version unless the same content is already deployed.

    Called procedures are stored before their callers, so each new version records the version of
    every procedure it calls (``calls``), and a caller re-versioned for them says so in its note.
    """
    stored = []
    deployed = False
    # A caller's subprocess specs hold every procedure it calls, and theirs: always more than each callee's.
    for c in sorted(candidates, key=lambda c: len(c.spec["subprocess_specs"])):
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
        called = {
            name: found
            for name in c.spec["subprocess_specs"]
            if name != c.process_id and (found := latest_version(session, name)) is not None
        }
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
            note=_note(note, [called[name] for name in c.because if name in called]),
            calls={name: found.version for name, found in called.items()},
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            at,
            actor,
            "procedimiento_desplegado",
            detail={"proceso": c.process_id, "version": row.version, "hash": c.content_hash, "nota": row.note},
        )
        start_events.sync(session, c.process_id, c.schedules, at)
        deployed = True
        stored.append(row)
    if deployed:
        access_changed(session)  # who may start what: every process reads its people again
    return stored


def _note(note: str, changed: list[ProcedureVersion]) -> str:
    """A re-versioned caller's note: which called versions it takes, then the deploy's own note."""
    if not changed:
        return note
    cause = "Por cambio en " + ", ".join(f"{v.name} v{v.version}" for v in changed)
    return f"{cause}: {note}" if note else cause


def _canonical(value) -> str:
    """A spec as comparable text: the same whether it was just serialized or read back from the database."""
    return json.dumps(value, sort_keys=True)


def with_callers(session: Session, candidates: list[Candidate], serializer: InstanceSerializer) -> list[Candidate]:
    """The candidates, plus a new candidate of every procedure in force that calls one of them that changed.

    A version bundles the specs of the procedures it calls, so that a case runs on a fixed set
    of diagrams. A called procedure is changed once, though: every caller must bundle its newest
    version. So each caller — in the set or in force — whose bundled copy of a called procedure
    differs from what that procedure will be after this deploy (the set's copy when it is new
    content, else the version in force) is rebuilt from its own diagrams and the called ones, and
    checked again. A set's unchanged copy of a called procedure (a draft made before it changed)
    thus never brings back older common steps.
    """
    in_force = {row.process_id: row for row in _latest_rows(session)}
    changed = {c.process_id: c for c in candidates if not _deployed(session, c)}
    sources: dict[str, Candidate | ProcedureVersion] = {**in_force, **changed}
    in_set = {c.process_id for c in candidates}
    callers: list[Candidate | ProcedureVersion] = [
        *candidates,
        *(row for pid, row in sorted(in_force.items()) if pid not in in_set),
    ]
    result = {c.process_id: c for c in candidates}
    for caller in callers:
        bundled = caller.spec["subprocess_specs"]
        stale = [
            name
            for name in bundled
            if name != caller.process_id
            and name in sources
            and _canonical(bundled[name]) != _canonical(sources[name].spec["spec"])
        ]
        if stale:
            rebuilt = _rebuild(caller, [sources[name] for name in bundled if name in sources], serializer)
            rebuilt.because = () if caller.process_id in in_set else tuple(stale)
            result[caller.process_id] = rebuilt
    return list(result.values())


def _deployed(session: Session, candidate: Candidate) -> bool:
    return (
        session.scalar(
            select(ProcedureVersion.id).where(
                ProcedureVersion.process_id == candidate.process_id,
                ProcedureVersion.content_hash == candidate.content_hash,
            )
        )
        is not None
    )


def _rebuild(caller: Candidate | ProcedureVersion, called: list, serializer: InstanceSerializer) -> Candidate:
    """The caller checked again on its own diagrams and the given versions of the procedures it calls."""
    theirs = {name for source in called for name in source.bpmn}
    files = {name: text for name, text in caller.bpmn.items() if name not in theirs}
    forms = dict(caller.forms)
    for source in called:  # each called procedure's own file: a version's other files are its own copies
        own = source.spec["spec"]["file"]
        files[own] = source.bpmn[own]
        forms.update(source.forms)
    [found] = [c for c in check(files, forms, serializer) if c.process_id == caller.process_id]
    found.rebuilt = True
    return found


def _latest_rows(session: Session) -> list[ProcedureVersion]:
    return list(session.scalars(_newest(ProcedureVersion)))


def _newest(*columns):
    """``columns`` of the latest version of every procedure."""
    newest = (
        select(ProcedureVersion.process_id, func.max(ProcedureVersion.version).label("version"))
        .group_by(ProcedureVersion.process_id)
        .subquery()
    )
    return select(*columns).join(
        newest, (newest.c.process_id == ProcedureVersion.process_id) & (newest.c.version == ProcedureVersion.version)
    )


# Built once: every start asks (who may start what), and building it costs more than running it.
_IN_FORCE = Statement(_newest(ProcedureVersion.id).order_by(ProcedureVersion.process_id))
# Its read, for a start to send with its other first reads (``statements.together``).
IN_FORCE_READ: tuple[Statement, dict] = (_IN_FORCE, {})


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


def latest_id_read(process_id: str) -> tuple[Statement, dict]:
    """``latest_version_id``'s read, for a start to send with its other first reads (``statements.together``)."""
    return _LATEST_ID, {"process_id": process_id}


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


def in_force(session: Session, cache: ProcedureCache, rows: list | None = None) -> list[Procedure]:
    """The latest version of every procedure, parsed (the cache keeps each once); ``rows``: what
    ``IN_FORCE_READ`` gave, when the caller sent it with other reads."""
    found = _IN_FORCE.all(session, {}) if rows is None else rows
    return [cache.get(session, row.id) for row in found]


def called(procedures: list[Procedure]) -> frozenset[str]:
    """The procedures another one in force calls (a call activity): their callers start them, nobody by hand."""
    return frozenset(name for p in procedures for name in p.subprocess_specs if name != p.process_id)
