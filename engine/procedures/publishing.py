"""Validate-and-deploy of a diagram set, the same from a draft in the browser and from git.

A deploy is refused unless the whole set passes: the XSD and the lint of
``engine.procedures.versions.check`` (every problem listed in Spanish against its element) and
then every scenario of every procedure in the set (``engine.procedures.scenarios``). Only then are
the new versions stored, with the scenarios they passed, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpm import parsing as bpmn
from engine.bpm.state.serializer import InstanceSerializer
from engine.db.models import ProcedureDraft, ProcedureScenarios, ProcedureVersion
from engine.errors import DiagramError
from engine.procedures import scenarios
from engine.procedures import versions as procedures


@dataclass
class DiagramSet:
    """What a deploy needs: diagrams by file name, forms by name, scenario sets by procedure."""

    files: dict[str, str]
    forms: dict[str, dict]
    scenario_sets: dict[str, scenarios.ScenarioSet] = field(default_factory=dict)
    problems: list[bpmn.Problem] = field(default_factory=list)  # found while reading it


# The text of a diagram file, which must be UTF-8 (DiagramError naming the file otherwise): for the web's
# uploads, as ``read_directory`` reads every file.
diagram_text = bpmn.decode


def read_directory(processes_dir: Path, forms_dir: Path) -> DiagramSet:
    """The diagrams, forms and scenario files of two directories (as kept in git)."""
    files, forms = procedures.read_directory(processes_dir, forms_dir)
    sets, problems = scenarios.load_directory(processes_dir)
    return DiagramSet(files, forms, sets, problems)


def validate(diagrams: DiagramSet, serializer: InstanceSerializer) -> list[procedures.Candidate]:
    """The candidates of a set that passes every check and scenario; else DiagramError with every problem."""
    try:
        candidates = procedures.check(diagrams.files, diagrams.forms, serializer)
    except DiagramError as exc:
        raise DiagramError(diagrams.problems + exc.problems) from None
    if diagrams.problems:
        raise DiagramError(diagrams.problems)
    failures = scenarios.run(candidates, diagrams.scenario_sets)
    if failures:
        raise DiagramError(failures)
    return candidates


def validate_with_callers(atiende, diagrams: DiagramSet) -> list[procedures.Candidate]:
    """``validate``, then every procedure in force that calls one the set changes, rebuilt to bundle it
    (``versions.with_callers``), checked and with its scenarios run like the set's own.

    A caller's scenarios are those of its saved draft when it has one (the analyst brings them up
    to the change there, then deploys the change), else the ones it last passed.
    """
    candidates = validate(diagrams, atiende.serializer)
    with atiende.store.read() as s:
        candidates = procedures.with_callers(s, candidates, atiende.serializer)
        rebuilt = [c for c in candidates if c.rebuilt]
        diagrams.scenario_sets.update(_drafted_scenarios(s, [c.process_id for c in rebuilt if c.because]))
    failures = scenarios.run(rebuilt, diagrams.scenario_sets)
    if failures:
        sources = {
            diagrams.scenario_sets[c.process_id].source: c for c in rebuilt if c.process_id in diagrams.scenario_sets
        }
        raise DiagramError([_as_caller(problem, sources.get(problem.file)) for problem in failures])
    return candidates


def publish(
    atiende, diagrams: DiagramSet, actor: str, note: str = "", then: Callable[[Session], None] | None = None
) -> list[ProcedureVersion]:
    """Validate the set and its callers, then store their new versions and scenarios (and ``then``'s
    changes) in one transaction."""
    candidates = validate_with_callers(atiende, diagrams)
    with atiende.unit_of_work() as s:
        now = atiende.now()
        versions = procedures.deploy(s, candidates, actor, now, note)
        for candidate in candidates:
            found = diagrams.scenario_sets.get(candidate.process_id)
            if found is not None:
                _keep_scenarios(s, found, actor, now)
        if then is not None:
            then(s)
    return versions


def _drafted_scenarios(session: Session, process_ids: list[str]) -> dict[str, scenarios.ScenarioSet]:
    found = {}
    for row in session.scalars(select(ProcedureDraft).where(ProcedureDraft.process_id.in_(process_ids))):
        parsed, problems = scenarios.parse(row.scenarios, f"{row.process_id}{scenarios.SUFFIX} (borrador)")
        if parsed is not None and not problems:
            found[row.process_id] = parsed
    return found


def _as_caller(problem: bpmn.Problem, caller: procedures.Candidate | None) -> bpmn.Problem:
    """A rebuilt caller's failed scenario, saying why it ran and how to deploy the change with it."""
    if caller is None:
        return problem
    return bpmn.Problem(
        problem.file,
        f"{problem.message} — «{caller.name}» llama a un procedimiento que cambia y sus casos nuevos tomarán "
        f"el cambio: lleve sus escenarios al cambio en su editor («Guardar») y vuelva a desplegar",
    )


def _keep_scenarios(session: Session, found: scenarios.ScenarioSet, actor: str, now) -> None:
    document = {"proceso": found.process_id, "escenarios": found.scenarios}
    row = session.get(ProcedureScenarios, found.process_id)
    if row is None:
        session.add(
            ProcedureScenarios(process_id=found.process_id, scenarios=document, updated_by=actor, updated_at=now)
        )
    elif row.scenarios != document:
        row.scenarios, row.updated_by, row.updated_at = document, actor, now


def stored_scenarios(session: Session) -> dict[str, scenarios.ScenarioSet]:
    """The scenario sets the last deploys passed, by procedure."""
    found = {}
    for row in session.scalars(select(ProcedureScenarios)):
        parsed, _problems = scenarios.parse(row.scenarios, f"{row.process_id}{scenarios.SUFFIX}")
        if parsed is not None:
            found[row.process_id] = parsed
    return found
