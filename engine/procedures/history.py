"""Procedures as analysts and auditors read them: every version, its cases, and what it changed.

Read-only lookups for the procedures pages; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, cast

from sqlalchemy import case as when
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpm import diff as procedure_diff
from engine.db.models import Case, ProcedureDraft, ProcedureVersion


class VersionRef(NamedTuple):
    """A version of a procedure, as the history names it."""

    process_id: str
    name: str
    version: int


@dataclass(frozen=True)
class VersionRow:
    """One version: who deployed it, when, why, and how many cases run on it.

    A version bundles the procedures it calls (``engine.procedures.versions.with_callers``):
    ``uses`` are those, ``affects`` the callers whose latest version bundles this one (their new
    cases run it), ``used_by`` their older versions that did.
    """

    id: int
    version: int
    deployed_by: str
    deployed_at: datetime
    note: str
    open_cases: int
    all_cases: int
    uses: tuple[VersionRef, ...] = ()
    affects: tuple[VersionRef, ...] = ()
    used_by: tuple[VersionRef, ...] = ()


@dataclass
class ProcedureRow:
    process_id: str
    name: str
    versions: list[VersionRow] = field(default_factory=list)  # newest first
    draft_by: str | None = None
    draft_at: datetime | None = None

    @property
    def latest(self) -> VersionRow:
        return self.versions[0]

    @property
    def waiting_elsewhere(self) -> int:
        """Open cases on versions older than the latest: the ones a migration could move."""
        return sum(v.open_cases for v in self.versions[1:])


@dataclass(frozen=True)
class VersionChange:
    """A version and its differences from the one before (none for the first)."""

    row: VersionRow
    summary: procedure_diff.SpecSummary | None
    diagrams: list[procedure_diff.TextDiff]
    forms: list[procedure_diff.TextDiff]


def overview(session: Session, process_id: str | None = None) -> list[ProcedureRow]:
    """Every procedure (or one) with its versions, newest first, and the cases on each."""
    counts = {
        vid: (open_, all_)
        for vid, open_, all_ in session.execute(
            select(
                Case.procedure_version_id, func.sum(when((Case.status != "cerrado", 1), else_=0)), func.count()
            ).group_by(Case.procedure_version_id)
        )
    }
    query = select(
        ProcedureVersion.id,
        ProcedureVersion.process_id,
        ProcedureVersion.name,
        ProcedureVersion.version,
        ProcedureVersion.deployed_by,
        ProcedureVersion.deployed_at,
        ProcedureVersion.note,
    )
    if process_id is not None:
        query = query.where(ProcedureVersion.process_id == process_id)
    uses, callers = _calls(session)
    procedures: dict[str, ProcedureRow] = {}
    for vid, pid, name, number, by, at, note in session.execute(
        query.order_by(ProcedureVersion.process_id, ProcedureVersion.version.desc())
    ):
        row = procedures.setdefault(pid, ProcedureRow(pid, name))
        open_, all_ = counts.get(vid, (0, 0))
        mine = callers.get((pid, number), [])
        row.versions.append(
            VersionRow(
                vid,
                number,
                by,
                at,
                note or "",
                int(open_ or 0),
                all_,
                uses=tuple(uses.get(vid, ())),
                affects=tuple(ref for ref, current in mine if current),
                used_by=tuple(ref for ref, current in mine if not current),
            )
        )
    for draft in session.scalars(select(ProcedureDraft).where(ProcedureDraft.process_id.in_(procedures))):
        procedures[draft.process_id].draft_by, procedures[draft.process_id].draft_at = (
            draft.updated_by,
            draft.updated_at,
        )
    return sorted(procedures.values(), key=lambda p: p.name)


def _calls(
    session: Session,
) -> tuple[dict[int, list[VersionRef]], dict[tuple[str, int], list[tuple[VersionRef, bool]]]]:
    """What each version calls (by version id), and the callers of each called version: (caller, is it
    its procedure's latest version)."""
    rows = session.execute(
        select(
            ProcedureVersion.id,
            ProcedureVersion.process_id,
            ProcedureVersion.name,
            ProcedureVersion.version,
            ProcedureVersion.calls,
        ).order_by(ProcedureVersion.process_id, ProcedureVersion.version)
    ).all()
    names = {(pid, number): name for _vid, pid, name, number, _calls in rows}
    newest = {pid: number for _vid, pid, _name, number, _calls in rows}  # ordered by version: the last wins
    uses: dict[int, list[VersionRef]] = {}
    callers: dict[tuple[str, int], list[tuple[VersionRef, bool]]] = {}
    for vid, pid, name, number, calls in rows:
        for called, called_number in sorted((calls or {}).items()):
            uses.setdefault(vid, []).append(
                VersionRef(called, names.get((called, called_number), called), called_number)
            )
            callers.setdefault((called, called_number), []).append(
                (VersionRef(pid, name, number), newest[pid] == number)
            )
    return uses, callers


def version(session: Session, process_id: str, number: int) -> ProcedureVersion | None:
    return session.scalar(
        select(ProcedureVersion).where(ProcedureVersion.process_id == process_id, ProcedureVersion.version == number)
    )


def history(atiende, session: Session, process_id: str) -> list[VersionChange]:
    """Every version of a procedure, newest first, each with its diff from the previous one."""
    [procedure] = cast("list[ProcedureRow | None]", overview(session, process_id) or [None])
    if procedure is None:
        return []
    rows = list(reversed(procedure.versions))
    changes = []
    for previous, row in zip([None, *rows], rows, strict=False):
        current = session.get(ProcedureVersion, row.id)
        if previous is None:
            changes.append(VersionChange(row, None, [], []))
            continue
        before = session.get(ProcedureVersion, previous.id)
        # Both were just read by overview(), in this transaction, and versions are never deleted.
        assert before is not None and current is not None
        summary = procedure_diff.spec_summary(
            atiende.serializer.spec_registry,
            atiende.procedure(session, before.id),
            atiende.procedure(session, current.id),
        )
        changes.append(
            VersionChange(
                row,
                summary,
                procedure_diff.text_diffs(before.bpmn, current.bpmn),
                procedure_diff.text_diffs(
                    procedure_diff.form_texts(before.forms), procedure_diff.form_texts(current.forms)
                ),
            )
        )
    return list(reversed(changes))
