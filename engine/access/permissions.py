"""Who may do what: work a task, read cases, write notes, coordinate, administer, edit procedures.

One place for the role rules that pages and engine functions share, so a page's menu,
its route check and the engine's refusal never disagree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from engine.access.accounts import Actor
from engine.access.roles import ROLES
from engine.db.models import HumanTask


# -- working a task ---------------------------------------------------------------------------
def may_work(actor: Actor, task: Any) -> bool:
    """Whether a task is for this person: a lane of one of their roles; for an enlace, their own dirección.

    ``task``: a human_task row, mapped (``HumanTask``) or read as a named tuple (``engine.db.statements``).
    """
    if not actor.has(task.lane):
        return False
    if task.lane == "enlace":
        return actor.direccion is not None and actor.direccion == task.direccion
    return True


def refusal(actor: Actor, task: Any) -> str | None:
    """Why this person may not work this task now (Spanish).

    None when they may: it is theirs to do, and not claimed by another.
    """
    if not may_work(actor, task):
        return "no tiene permiso para esta tarea"
    if task.assignee is not None and task.assignee != actor.username:
        return f"la tarea está asignada a {task.assignee}"
    return None


def may_work_now(actor: Actor, task: Any) -> bool:
    return refusal(actor, task) is None


def workable(actor: Actor) -> ColumnElement[bool]:
    """``may_work`` as a condition on human_task rows, for the queries that list many tasks."""
    roles = sorted(actor.roles - {"enlace"})
    allowed: list[ColumnElement[bool]] = [HumanTask.lane.in_(roles)] if roles else []
    if "enlace" in actor.roles and actor.direccion:
        allowed.append(and_(HumanTask.lane == "enlace", HumanTask.direccion == actor.direccion))
    return or_(*allowed) if allowed else false()


# -- reading and managing ------------------------------------------------------------------------

# Everyone who works or inspects cases may read them (an enlace only their dirección's);
# the analyst edits diagrams and the administrator manages people: neither reads citizens' data.
CASE_READERS = frozenset(ROLES) - {"analista", "admin"}
# Internal notes are written by the people who work cases; the auditor reads and changes nothing.
NOTE_WRITERS = CASE_READERS - {"auditor"}
# A coordinator watches the whole desk: sees every open task and hands tasks to people.
COORDINATORS = frozenset({"coordinador"})
ADMINISTRATORS = frozenset({"admin"})


def may_read_cases(actor: Actor) -> bool:
    return bool(actor.roles & CASE_READERS)


def may_write_notes(actor: Actor) -> bool:
    return bool(actor.roles & NOTE_WRITERS)


def may_coordinate(actor: Actor) -> bool:
    return bool(actor.roles & COORDINATORS)


def may_administer(actor: Actor) -> bool:
    return bool(actor.roles & ADMINISTRATORS)


def direccion_scope(actor: Actor) -> str | None:
    """The only dirección whose cases the actor may read, or None when not limited to one.

    An enlace reads only their own dirección's cases (the same rule as ``Atiende.case_for``);
    an enlace without a dirección reads none, which the empty string expresses.
    """
    if actor.roles and actor.roles <= {"enlace"}:
        return actor.direccion or ""
    return None


# Procedures and audit (issue 7). The analyst edits, tests and deploys diagrams and moves
# waiting cases to a new version; the auditor reads every version and the whole audit trail
# and changes nothing. The administrator does neither: whoever manages the accounts is not
# also the one who changes the procedures or inspects the trail of what people did.
PROCEDURE_EDITORS = frozenset({"analista"})
PROCEDURE_READERS = PROCEDURE_EDITORS | {"auditor"}
AUDITORS = frozenset({"auditor"})


def may_edit_procedures(actor: Actor) -> bool:
    return bool(actor.roles & PROCEDURE_EDITORS)


def may_read_procedures(actor: Actor) -> bool:
    return bool(actor.roles & PROCEDURE_READERS)


def may_audit(actor: Actor) -> bool:
    return bool(actor.roles & AUDITORS)
