"""Diagram tests: scenarios kept beside a diagram, run on every deploy, which refuses on failure.

A scenario file (``processes/<diagrama>.scenarios.json``) names its procedure and lists
scenarios; each gives the start form's data, then steps — a task completed with the data
its form would submit, time that passes (timers fire as the worker would fire them), a
check — and what is expected at the end (status, pending tasks exactly or at least, the
deadline in days). They run on the diagram
set being deployed, in a throwaway in-memory database with a frozen clock, through the
same facade the office uses, so a form that no longer accepts the data, a branch that
goes elsewhere or a deadline that moved is caught before any case sees it::

    {"proceso": "atencion_correo_web",
     "escenarios": [{"nombre": "Queja respondida a tiempo",
                     "inicio": {...},
                     "pasos": [{"tarea": "Task_plantilla_queja_reclamo", "datos": {...}},
                               {"esperar": "P7D"},
                               {"comprobar": {"pendientes": ["Task_respuesta_final", ...]}}],
                     "final": {"estado": "cerrado", "pendientes": []}}]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from engine.access.accounts import Actor
from engine.bpm import runtime
from engine.bpm.parsing import Problem, decode
from engine.clock import FrozenClock
from engine.db.models import Base, Case, HumanTask
from engine.db.store import Store
from engine.errors import DiagramError, FormErrors, ScenarioFailure
from engine.facade import Atiende
from engine.forms import catalogs
from engine.procedures import versions as procedures

SUFFIX = ".scenarios.json"
DEFAULT_START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in Panamá
EXPECTATIONS = {"estado", "pendientes", "pendientes_incluye", "plazo_dias"}
TESTER = "escenario"


@dataclass(frozen=True)
class ScenarioSet:
    """The scenarios of one procedure and where they were read from (a file, a draft)."""

    source: str
    process_id: str
    scenarios: list


def empty(process_id: str) -> dict:
    """A scenario document with no scenarios yet."""
    return {"proceso": process_id, "escenarios": []}


def parse(document, source: str) -> tuple[ScenarioSet | None, list[Problem]]:
    """A scenario document checked for shape; problems say which scenario and step are wrong."""
    if not isinstance(document, dict) or not isinstance(document.get("proceso"), str):
        return None, [Problem(source, "el documento de escenarios debe ser un objeto con «proceso» y «escenarios»")]
    items = document.get("escenarios")
    if not isinstance(items, list):
        return None, [Problem(source, "«escenarios» debe ser una lista")]
    problems = [Problem(source, message) for n, item in enumerate(items, 1) for message in _shape(n, item)]
    return ScenarioSet(source, document["proceso"], items), problems


def _shape(n: int, item) -> list[str]:
    if not isinstance(item, dict):
        return [f"el escenario {n} debe ser un objeto"]
    name = item.get("nombre")
    label = f"escenario «{name}»" if isinstance(name, str) and name.strip() else f"escenario {n}"
    problems = [] if label != f"escenario {n}" else [f"{label}: le falta «nombre»"]
    if not isinstance(item.get("inicio"), dict):
        problems.append(f"{label}: «inicio» debe ser un objeto con los datos del formulario de inicio")
    steps = item.get("pasos", [])
    if not isinstance(steps, list):
        return problems + [f"{label}: «pasos» debe ser una lista"]
    for i, step in enumerate(steps, 1):
        problems.extend(f"{label}, paso {i}: {m}" for m in _step_shape(step))
    if "final" in item:
        problems.extend(f"{label}, final: {m}" for m in _expectation_shape(item["final"]))
    return problems


def _step_shape(step) -> list[str]:
    if not isinstance(step, dict) or len(set(step) & {"tarea", "esperar", "comprobar"}) != 1:
        return ["cada paso debe tener exactamente una de «tarea», «esperar» o «comprobar»"]
    if "tarea" in step:
        ok = isinstance(step["tarea"], str) and isinstance(step.get("datos", {}), dict)
        return [] if ok else ["«tarea» es el id de la tarea y «datos» un objeto"]
    if "esperar" in step:
        return (
            []
            if runtime.duration(step["esperar"], DEFAULT_START) is not None
            else [f'«esperar» debe ser una duración ISO 8601 como "P7D" o "PT2H" (se recibió {step["esperar"]!r})']
        )
    return _expectation_shape(step["comprobar"])


def _expectation_shape(expected) -> list[str]:
    if not isinstance(expected, dict) or not expected:
        return ["debe ser un objeto con «estado», «pendientes», «pendientes_incluye» o «plazo_dias»"]
    unknown = set(expected) - EXPECTATIONS
    return [f"claves desconocidas: {', '.join(sorted(unknown))}"] if unknown else []


def load_directory(processes_dir: Path) -> tuple[dict[str, ScenarioSet], list[Problem]]:
    """Every ``*.scenarios.json`` beside the diagrams, by the procedure it names."""
    sets, problems = {}, []
    for path in sorted(Path(processes_dir).glob(f"*{SUFFIX}")):
        try:
            document = json.loads(decode(path.read_bytes(), path.name))
        except DiagramError as exc:  # not UTF-8
            problems.extend(exc.problems)
            continue
        except json.JSONDecodeError as exc:
            problems.append(Problem(path.name, f"JSON inválido: {exc.msg} (línea {exc.lineno})"))
            continue
        found, shape = parse(document, path.name)
        problems.extend(shape)
        if found is not None:
            sets[found.process_id] = found
    return sets, problems


def run(candidates: list[procedures.Candidate], sets: dict[str, ScenarioSet]) -> list[Problem]:
    """Run the scenarios of every candidate procedure on a throwaway database; one problem per failure."""
    wanted = [sets[c.process_id] for c in candidates if c.process_id in sets and sets[c.process_id].scenarios]
    if not wanted:
        return []
    store = Store("sqlite://")
    try:
        Base.metadata.create_all(store.engine)
        with store.unit_of_work() as s:
            catalogs.seed(s)
            procedures.deploy(s, candidates, TESTER, DEFAULT_START, "escenarios")
        problems = []
        for scenario_set in wanted:
            for item in scenario_set.scenarios:
                try:
                    _play(Atiende(store, FrozenClock(DEFAULT_START)), scenario_set.process_id, item)
                except ScenarioFailure as failure:
                    problems.append(Problem(scenario_set.source, f"escenario «{item['nombre']}»: {failure}"))
                except Exception as exc:  # noqa: BLE001 - a procedure error is a failed scenario
                    problems.append(
                        Problem(scenario_set.source, f"escenario «{item['nombre']}»: error del procedimiento: {exc}")
                    )
        return problems
    finally:
        store.dispose()


def _play(atiende, process_id: str, item: dict) -> None:
    try:
        case_id = atiende.start_case(process_id, item["inicio"], Actor(TESTER, frozenset(), system=True)).case_id
    except FormErrors as invalid:
        raise ScenarioFailure(f"los datos de inicio no son válidos: {invalid}") from None
    for n, step in enumerate(item.get("pasos", []), 1):
        if "tarea" in step:
            _complete(atiende, case_id, n, step["tarea"], step.get("datos", {}))
        elif "esperar" in step:
            wait = runtime.duration(step["esperar"], DEFAULT_START)
            if wait is None:  # parse() reports it; a set nobody checked can still get here
                raise ScenarioFailure(
                    f"paso {n}: «esperar» debe ser una duración ISO 8601 (se recibió {step['esperar']!r})"
                )
            atiende.clock.advance(seconds=wait.total_seconds())
            result = atiende.run_timer_sweep()
            if result.failed:
                raise ScenarioFailure(f"paso {n}: falló un temporizador al esperar {step['esperar']}")
        else:
            _expect(atiende, case_id, step["comprobar"], f"paso {n}: ")
    if "final" in item:
        _expect(atiende, case_id, item["final"], "al final: ")


def _pending(atiende, case_id: int) -> list[HumanTask]:
    with atiende.store.read() as s:
        return list(s.scalars(select(HumanTask).where(HumanTask.case_id == case_id).order_by(HumanTask.created_at)))


def _complete(atiende, case_id: int, n: int, bpmn_id: str, data: dict) -> None:
    pending = _pending(atiende, case_id)
    task = next((t for t in pending if t.bpmn_id == bpmn_id), None)
    if task is None:
        raise ScenarioFailure(
            f"paso {n}: la tarea «{bpmn_id}» no está pendiente "
            f"(pendientes: {', '.join(sorted(t.bpmn_id for t in pending)) or 'ninguna'})"
        )
    actor = Actor(TESTER, frozenset({task.lane}), task.direccion)
    try:
        atiende.complete_task(task.id, data, actor)
    except FormErrors as invalid:
        raise ScenarioFailure(f"paso {n}: los datos de «{bpmn_id}» no son válidos: {invalid}") from None


def _expect(atiende, case_id: int, expected: dict, where: str) -> None:
    with atiende.store.read() as s:
        case = s.get(Case, case_id)
    if "estado" in expected and case.status != expected["estado"]:
        raise ScenarioFailure(f"{where}se esperaba el estado «{expected['estado']}» y el caso está «{case.status}»")
    if "pendientes" in expected:
        pending = sorted(t.bpmn_id for t in _pending(atiende, case_id))
        if pending != sorted(expected["pendientes"]):
            raise ScenarioFailure(
                f"{where}se esperaban pendientes [{', '.join(sorted(expected['pendientes']))}] "
                f"y hay [{', '.join(pending)}]"
            )
    if "pendientes_incluye" in expected:
        pending = [t.bpmn_id for t in _pending(atiende, case_id)]
        missing = sorted(set(expected["pendientes_incluye"]) - set(pending))
        if missing:
            raise ScenarioFailure(
                f"{where}faltan pendientes [{', '.join(missing)}]; hay [{', '.join(sorted(pending))}]"
            )
    if "plazo_dias" in expected:
        days = None if case.due_at is None else (case.due_at - case.opened_at) / timedelta(days=1)
        if days != expected["plazo_dias"]:
            shown = "ninguno" if days is None else f"{days:g} días"
            raise ScenarioFailure(f"{where}se esperaba un plazo de {expected['plazo_dias']} días y es de {shown}")
