"""The case row, its workflow state and its task projection on a step's path, read and written with plain statements.

Every task completion reads its task and its case and writes the case back, and its new
workflow state. Done through the ORM's unit of work (two identity-map loads, a flush that
diffs every attribute, task rows built as mapped objects) this cost more than the
workflow step itself (bench/engine.py --profile). Here one SELECT reads the task with its
case; the case is given to the runtime as a *detached* ``Case``, so no flush ever touches
it; and ``save`` writes exactly the columns that changed in one UPDATE. The workflow state,
a row of its own (``CaseState``), is read only when the runtime does not hold the workflow
in memory (``stored_workflow``), and written by every step (``save_workflow``).

A new case is inserted the same way and is detached from then on. Cases the ORM loads
(the timer sweep's batches, a migration, a message's recipient) stay the session's to flush.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, insert, inspect, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from engine.db.models import Case, CaseState, HumanTask
from engine.db.statements import NewRow, Statement, detached, together

_CASES = cast(Table, Case.__table__)
_TASKS = cast(Table, HumanTask.__table__)
_STATES = cast(Table, CaseState.__table__)
_CASE_WRITABLE = frozenset(column.key for column in _CASES.c if column.key != "id")
_PREFIX = "case__"

_TASK_JOINED = (  # a task's row and its case's, the case's columns prefixed (``_joined_case``)
    select(*_TASKS.c, *(column.label(_PREFIX + column.key) for column in _CASES.c))
    .join_from(_TASKS, _CASES, _TASKS.c.case_id == _CASES.c.id)
    .where(_TASKS.c.id == bindparam("task_id"))
)
# SQLite has no row locks: its writers are serialised by BEGIN IMMEDIATE
_TASK_WITH_CASE = Statement(_TASK_JOINED.with_for_update(of=_CASES))
_TASK_TO_SHOW = Statement(_TASK_JOINED)  # for a page: no lock
_TASK = Statement(select(*_TASKS.c).where(_TASKS.c.id == bindparam("task_id")))
_CASE = Statement(select(*_CASES.c).where(_CASES.c.id == bindparam("case_id")))
_WORKFLOW = Statement(select(_STATES.c.workflow).where(_STATES.c.case_id == bindparam("case_id")))
_INSERT_WORKFLOW = Statement(insert(_STATES).values(case_id=bindparam("id"), workflow=bindparam("state")))
_UPDATE_WORKFLOW = Statement(
    _STATES.update().where(_STATES.c.case_id == bindparam("id")).values(workflow=bindparam("state"))
)
_UPDATE = Statement(_CASES.update().where(_CASES.c.id == bindparam("case_id")))
_INSERT_CASE = NewRow(Case)
_INSERT_TASKS = Statement(insert(_TASKS))
_TASK_COLUMNS = tuple(column.key for column in _TASKS.c)
if TYPE_CHECKING:

    class TaskRow(NamedTuple):
        """A human_task row, to read: at run time made from ``HumanTask``'s columns, these, in this order."""

        id: str
        case_id: int
        bpmn_id: str
        name: str
        lane: str
        form: str | None
        direccion: str | None
        case_type: str | None
        channel: str | None
        corregimiento: str | None
        assignee: str | None
        created_at: datetime
        due_at: datetime | None
        procedure_version_id: int | None
        opened_at: datetime | None

else:
    TaskRow = namedtuple("TaskRow", _TASK_COLUMNS)  # a human_task row, to read
_DELETE_TASK = Statement(_TASKS.delete().where(_TASKS.c.id == bindparam("task_id")))


def insert_case(session: Session, case: Case) -> None:
    """Insert a new ``case``; it gets its id and is detached, every column loaded, for ``save`` to update."""
    values = {key: getattr(case, key, None) for key in _CASE_WRITABLE}
    case.id = _INSERT_CASE.id(session, values)
    for key, value in values.items():
        setattr(case, key, value)  # the columns never set become None, not expired
    make_transient_to_detached(case)


def task_with_case(
    session: Session, task_id: str, locked_again: bool, also: tuple[tuple[Statement, dict[str, Any]], ...] = ()
) -> tuple[TaskRow, Case, list[list[Any]]] | None:
    """The READY task and its case (locked on PostgreSQL), or None when the task is not pending.

    ``locked_again``: read the task once more after the case's row lock is held (both reads
    in one round trip: the second starts when the first has the lock). On PostgreSQL, whoever
    held that lock may just have completed the task, and the joined read still shows the row
    as it was when the statement began. The task is a ``TaskRow`` or the joined row, which
    has the same fields first, by the same names. ``also``: reads the caller's step needs,
    sent with these (``together``; after the lock, so they see what its holder committed):
    their rows come third.
    """
    key = {"task_id": task_id}
    if locked_again:
        joined, again, *more = together(session, (_TASK_WITH_CASE, key), (_TASK, key), *also)
        row, task = (joined or [None])[0], (again or [None])[0]
    else:
        joined, *more = together(session, (_TASK_WITH_CASE, key), *also)
        row = task = (joined or [None])[0]
    if row is None or task is None:
        return None
    return task, _joined_case(row), more


def task_to_show(session: Session, task_id: str) -> HumanTask | None:
    """The pending task with its case, for a page, as detached objects (``detached``), or None.

    One read on the driver's cursor: through the ORM (``session.get`` with the case joined) it cost
    a task page a fifth of its CPU. Detached, nothing a page does with them is ever written.
    """
    row = _TASK_TO_SHOW.first(session, {"task_id": task_id})
    if row is None:
        return None
    return detached(HumanTask, {**{key: getattr(row, key) for key in _TASK_COLUMNS}, "case": _joined_case(row)})


def _joined_case(row: Any) -> Case:
    """The case of a row of ``_TASK_JOINED``, detached."""
    return detached(Case, {column.key: getattr(row, _PREFIX + column.key) for column in _CASES.c})


def case_read(case_id: int) -> tuple[Statement, dict[str, Any]]:
    """The read of a case's row, to send with others (``together``); ``case_of`` makes its row a ``Case``."""
    return _CASE, {"case_id": case_id}


def case_of(row: Any) -> Case:
    """The ``Case`` of a row ``case_read`` gave: detached."""
    return detached(Case, row._asdict())


def stored_workflow(session: Session, case_id: int) -> bytes:
    """The case's stored workflow state (``engine.bpm.state``), as its last step wrote it."""
    return _WORKFLOW.scalar(session, {"case_id": case_id})


def save_workflow(session: Session, case_id: int, state: bytes, first: bool) -> None:
    """Write the case's workflow state now: inserted by its ``first`` step, which creates it, updated by every
    other."""
    (_INSERT_WORKFLOW if first else _UPDATE_WORKFLOW).execute(session, {"id": case_id, "state": state})


def save(session: Session, case: Case) -> None:
    """Write the columns of a detached ``case`` that changed since it was read, in one UPDATE, now.

    A case the session loaded is left to the session's flush, which writes a sweep's two
    hundred cases in one batch (one UPDATE each was slower: bench/timers.py).
    """
    state = inspect(case)
    if state.persistent:
        return
    changed = tuple(sorted(_CASE_WRITABLE - state.unmodified))
    if not changed:
        return
    values = {key: getattr(case, key) for key in changed}
    _UPDATE.execute(session, {"case_id": case.id, **values}, column_keys=changed)
    for key, value in values.items():
        set_committed_value(case, key, value)


def insert_tasks(session: Session, rows: list[dict[str, Any]]) -> list[TaskRow]:
    """Insert task projection rows; returns them as ``TaskRow`` named tuples, like the rows read back."""
    if not rows:
        return []
    _INSERT_TASKS.execute_many(session, rows, column_keys=_TASK_COLUMNS)
    return [TaskRow(**row) for row in rows]


def delete_tasks(session: Session, task_ids: Iterable[str]) -> None:
    """Delete task projection rows by id."""
    _DELETE_TASK.execute_many(session, [{"task_id": task_id} for task_id in task_ids])
