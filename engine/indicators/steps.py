"""The heatmap on a procedure's diagram: per element, the cases waiting there now and the time
tasks spent there (median and 90th percentile), so the step that holds cases longest shows.

*Waiting now* counts the open human tasks (``human_task``: one row per READY user task) of the
procedure's cases, every version, by element, from the task rows alone (each mirrors its case's
procedure version): the ``ix_human_task_bpmn`` index (element, version; migration 0019) answers it.

*Time spent* runs from the moment a task opened (its ``human_task.created_at``, which the
completion's audit event keeps as ``creada``) to its completion (``tarea_completada``). The page
never scans the trail: ``step_time`` counts completions per procedure, element, month of
completion (Panamá's) and duration bucket, written in the transaction of the completion
(``record_completion``, called by ``engine.bpm.runtime``) and back-filled from the trail by
migration 0018 (``rebuild``). A bucket is an hour during the first three days, then a day up to a
year, then one bucket of a year or more; a percentile is given as its bucket (nearest rank: the
bucket holding the ⌈q·n⌉-th shortest completion). Tasks that ended without a completion (a
boundary timer, a case closed elsewhere) count only while they wait.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from engine.clock import PANAMA
from engine.db.models import AuditEvent, Case, HumanTask, ProcedureVersion, StepTime
from engine.db.statements import Tally

HOUR = 3600
DAY = 24 * HOUR
HOURLY_DAYS = 3  # hour buckets for the first three days
DAILY_DAYS = 365  # then day buckets up to a year
LAST_BUCKET = HOURLY_DAYS * 24 + DAILY_DAYS - HOURLY_DAYS  # «a year or more»
HEAT_LEVELS = 3  # the slowest third of the slowest element's median is level 3

# The moves of a case that may open tasks: a completion without ``creada`` (written before
# migration 0018) is taken to have opened at the case's latest move before it.
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_COMPLETIONS = Tally(cast(Table, StepTime.__table__), ("process_id", "bpmn_id", "month", "bucket"), ("completions",))
_MOVES = ("caso_creado", "tarea_completada", "temporizador_disparado", "mensaje_recibido", "caso_migrado")


def bucket_of(seconds: float) -> int:
    """The duration bucket of a time spent, in seconds."""
    seconds = max(seconds, 0.0)
    if seconds < HOURLY_DAYS * DAY:
        return int(seconds // HOUR)
    return HOURLY_DAYS * 24 + min(int(seconds // DAY), DAILY_DAYS) - HOURLY_DAYS


@dataclass(frozen=True)
class Spent:
    """A duration known to its bucket: at least ``low`` seconds, less than ``high`` (None: no bound)."""

    low: int
    high: int | None

    @classmethod
    def of_bucket(cls, bucket: int) -> Spent:
        if bucket < HOURLY_DAYS * 24:
            return cls(bucket * HOUR, (bucket + 1) * HOUR)
        days = bucket - HOURLY_DAYS * 24 + HOURLY_DAYS
        return cls(days * DAY, (days + 1) * DAY if days < DAILY_DAYS else None)

    @property
    def texto(self) -> str:
        """In words, e.g. «5–6 h», «4–5 días», «365 días o más»."""
        if self.high is None:
            return f"{self.low // DAY} días o más"
        if self.high <= HOURLY_DAYS * DAY:
            return f"{self.low // HOUR}–{self.high // HOUR} h"
        return f"{self.low // DAY}–{self.high // DAY} días"


@dataclass(frozen=True)
class StepFigures:
    """One element's figures; ``heat`` 0 (no completions) to ``HEAT_LEVELS`` (the slowest)."""

    bpmn_id: str
    name: str
    waiting: int
    completed: int
    median: Spent | None
    p90: Spent | None
    heat: int


def month_of(moment: datetime) -> int:
    """The Panamá month of a moment as AAAAMM (how ``step_time`` keys it)."""
    local = moment.astimezone(PANAMA)
    return local.year * 100 + local.month


def record_completion(session: Session, process_id: str, bpmn_id: str, opened: datetime, completed: datetime) -> None:
    """Count one completion in the roll-up, in the caller's transaction (one upsert)."""
    _add(session, [(process_id, bpmn_id, month_of(completed), bucket_of((completed - opened).total_seconds()), 1)])


def _add(session: Session, rows: Iterable[tuple[str, str, int, int, int]]) -> None:
    _COMPLETIONS.add(
        session, [{"process_id": p, "bpmn_id": b, "month": m, "bucket": k, "completions": n} for p, b, m, k, n in rows]
    )


def scan_trail(session: Session, batch: int = 5000) -> Iterator[tuple[str, str, datetime, datetime]]:
    """Every completion of the trail as (process_id, bpmn_id, opened, completed), read case by case.

    What ``rebuild`` counts, and what the roll-up must always equal. A completion written before
    migration 0018 names neither its process nor its opening: the process is the one whose diagram
    draws the element in the case's version, the opening the case's latest move before it.
    """
    version_of = dict(session.execute(select(Case.id, Case.procedure_version_id)).all())
    owners: dict[int, dict[str, str]] = {}
    events = (
        select(AuditEvent.case_id, AuditEvent.kind, AuditEvent.at, AuditEvent.detail)
        .where(AuditEvent.kind.in_(_MOVES), AuditEvent.case_id.is_not(None))
        .order_by(AuditEvent.case_id, AuditEvent.id)
        .execution_options(yield_per=batch)
    )
    case_id, last_move = None, None
    for event_case, kind, at, detail in session.execute(events):
        if event_case != case_id:
            case_id, last_move = event_case, None
        if kind == "tarea_completada" and event_case in version_of:
            bpmn_id = detail.get("tarea", "")
            process_id = detail.get("proceso")
            if process_id is None:
                version_id = version_of[event_case]
                if version_id not in owners:
                    owners[version_id] = _drawn_by(session, version_id)
                process_id = owners[version_id].get(bpmn_id, "")
            opened = detail.get("creada")
            yield process_id, bpmn_id, datetime.fromisoformat(opened) if opened else (last_move or at), at
        last_move = at


def _drawn_by(session: Session, version_id: int) -> dict[str, str]:
    """Element id → the id of the ``bpmn:process`` that draws it, over a version's diagram files."""
    from engine.bpm.parsing import parse_xml  # only for the trail written before 0018

    files = session.scalar(select(ProcedureVersion.bpmn).where(ProcedureVersion.id == version_id)) or {}
    owner: dict[str, str] = {}
    for name, xml in sorted(files.items()):
        for process in parse_xml(xml, name).iter(f"{{{BPMN_NS}}}process"):
            for element in process.iter():
                if element.get("id"):
                    owner.setdefault(element.get("id"), process.get("id"))
    return owner


def rebuild(session: Session) -> None:
    """Recount ``step_time`` from the trail (migration 0018's back-fill, and a repair)."""
    session.execute(delete(StepTime))
    counts: Counter[tuple[str, str, int, int]] = Counter()
    for process_id, bpmn_id, opened, completed in scan_trail(session):
        counts[(process_id, bpmn_id, month_of(completed), bucket_of((completed - opened).total_seconds()))] += 1
    rows = [(*key, n) for key, n in counts.items()]
    for start in range(0, len(rows), 1000):
        _add(session, rows[start : start + 1000])


def _percentile(histogram: dict[int, int], q: float) -> Spent | None:
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = math.ceil(q * total), 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return Spent.of_bucket(bucket)
    raise AssertionError("unreachable: the ranks add up to the total")


def figures(
    session: Session,
    process_id: str,
    elements: dict[str, str],
    desde: date | None = None,
    hasta: date | None = None,
) -> list[StepFigures]:
    """The figures of each element of ``elements`` (bpmn id → name), in that order.

    Waiting counts the open tasks of the cases of every version of the procedure and of every
    procedure version that calls it (``procedure_version.calls``).

    ``desde``/``hasta`` limit the time spent to the completions of their months (the roll-up
    keeps months); waiting counts are always now's.
    """
    versions = [
        version_id
        for version_id, owner, calls in session.execute(
            select(ProcedureVersion.id, ProcedureVersion.process_id, ProcedureVersion.calls)
        )
        if owner == process_id or process_id in (calls or {})
    ]
    waiting = dict(
        session.execute(
            select(HumanTask.bpmn_id, func.count())
            .where(HumanTask.bpmn_id.in_(list(elements)), HumanTask.procedure_version_id.in_(versions))
            .group_by(HumanTask.bpmn_id)
        ).all()
    )
    spent = select(StepTime.bpmn_id, StepTime.bucket, func.sum(StepTime.completions)).where(
        StepTime.process_id == process_id, StepTime.bpmn_id.in_(list(elements))
    )
    if desde is not None:
        spent = spent.where(StepTime.month >= desde.year * 100 + desde.month)
    if hasta is not None:
        spent = spent.where(StepTime.month <= hasta.year * 100 + hasta.month)
    histograms: dict[str, dict[int, int]] = {}
    for bpmn_id, bucket, count in session.execute(spent.group_by(StepTime.bpmn_id, StepTime.bucket)):
        histograms.setdefault(bpmn_id, {})[bucket] = int(count)
    medians = {b: _percentile(h, 0.5) for b, h in histograms.items()}
    slowest = max((_middle(m) for m in medians.values() if m is not None), default=0.0)
    result = []
    for bpmn_id, name in elements.items():
        histogram = histograms.get(bpmn_id, {})
        median = medians.get(bpmn_id)
        heat = 0 if median is None else max(1, math.ceil(HEAT_LEVELS * _middle(median) / slowest - 1e-9))
        result.append(
            StepFigures(
                bpmn_id=bpmn_id,
                name=name,
                waiting=int(waiting.get(bpmn_id, 0)),
                completed=sum(histogram.values()),
                median=median,
                p90=_percentile(histogram, 0.9),
                heat=heat,
            )
        )
    return result


def _middle(spent: Spent) -> float:
    """Where a bucket stands, to compare elements (a year or more stands at its lower bound)."""
    return (spent.low + spent.high) / 2 if spent.high is not None else float(spent.low)


@dataclass(frozen=True)
class Diagram:
    """The newest version's diagram of a procedure: what the heatmap is drawn on."""

    process_id: str
    name: str
    version: int
    xml: str
    elements: dict[str, str]  # its user tasks, bpmn id → name, in the order the procedure lists them
    calls: tuple[str, ...]  # the procedures it calls, which draw (and time) their own steps


def procedures(session: Session) -> list[tuple[str, str]]:
    """(process_id, name of its newest version) of every deployed procedure, by name: the maps there are."""
    newest = (
        select(ProcedureVersion.process_id, func.max(ProcedureVersion.version).label("version"))
        .group_by(ProcedureVersion.process_id)
        .subquery()
    )
    rows = session.execute(
        select(ProcedureVersion.process_id, ProcedureVersion.name).join(
            newest,
            (newest.c.process_id == ProcedureVersion.process_id) & (newest.c.version == ProcedureVersion.version),
        )
    ).all()
    return sorted(((p, n) for p, n in rows), key=lambda row: (row[1].lower(), row[0]))


def diagram(session: Session, process_id: str, steps: dict[str, str]) -> Diagram | None:
    """The newest deployed diagram of ``process_id`` (None if none), ``steps`` narrowed to its file."""
    row = session.execute(
        select(ProcedureVersion.name, ProcedureVersion.version, ProcedureVersion.bpmn, ProcedureVersion.calls)
        .where(ProcedureVersion.process_id == process_id)
        .order_by(ProcedureVersion.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    marker = f'id="{process_id}"'  # the file that defines the process (as engine.procedures.drafts.main_file)
    xml = next((text for _name, text in sorted(row.bpmn.items()) if marker in text), "")
    elements = {bpmn_id: name for bpmn_id, name in steps.items() if f'id="{bpmn_id}"' in xml}
    return Diagram(process_id, row.name, row.version, xml, elements, tuple(sorted(row.calls or {})))
