"""Who may do what: work a task, read cases, write notes, coordinate, administer, edit procedures.

One place for the role rules that pages and engine functions share, so a page's menu,
its route check and the engine's refusal never disagree.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, and_, bindparam, false, or_

from engine.access.accounts import Actor
from engine.access.roles import ROLES
from engine.db.models import HumanTask


# -- working a task ---------------------------------------------------------------------------
def may_work(actor: Actor, task: Any) -> bool:
    """Whether a task is for this person: a lane of one of their roles; an enlace's task, or any task of
    a person limited to a dirección (``direccion_scope``), of their own dirección's cases only.

    ``task``: a human_task row, mapped (``HumanTask``) or read as a named tuple (``engine.db.statements``).
    """
    if not actor.has(task.lane):
        return False
    if task.lane == "enlace" or direccion_scope(actor) is not None:
        return bool(actor.direccion) and actor.direccion == task.direccion
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


# What a condition on human_task rows needs of a person to say ``may_work``: how many lanes of their
# roles (an enlace's apart), whether they work their dirección's enlace tasks, and whether they are
# limited to one dirección (True), to none (False) or not limited (None). No value of the person's.
LanesShape = tuple[int, bool, bool | None]


def workable_lanes(actor: Actor) -> tuple[LanesShape, dict[str, str]]:
    """``may_work`` for the queries that list many tasks, in two parts: the shape of its condition on
    human_task rows (``workable``) and the values of that condition's parameters, by name.

    Split so that a statement built once for a shape serves every person of that shape with their own
    values (``engine.cases.finding.worklist``): building the bandeja's statements anew for each page
    cost more than running them. The shape holds no value of the person's, so none can reach another.
    """
    roles = sorted(actor.roles - {"enlace"})
    enlace = "enlace" in actor.roles and bool(actor.direccion)
    scope = direccion_scope(actor)
    values = {_role_lane_parameter(i): role for i, role in enumerate(roles)}
    if enlace:
        values["enlace_direccion"] = cast(str, actor.direccion)
    if scope:
        values["scope_direccion"] = scope
    return (len(roles), enlace, None if scope is None else bool(scope)), values


def _role_lane_parameter(n: int) -> str:
    """The name of the parameter of a person's ``n``-th role's lane: never one SQLAlchemy makes itself
    (``lane_1`` for the «enlace» constant compared with the lane column), with which the statement
    would not compile."""
    return f"role_lane_{n}"


def workable(shape: LanesShape) -> ColumnElement[bool]:
    """The condition on human_task rows of the people of ``shape`` (``workable_lanes``), its values as
    parameters: the lanes of their roles; an enlace's, of their dirección; of their dirección alone, if
    limited to one."""
    role_lanes, enlace, scoped = shape
    allowed: list[ColumnElement[bool]] = (
        [HumanTask.lane.in_([bindparam(_role_lane_parameter(i)) for i in range(role_lanes)])] if role_lanes else []
    )
    if enlace:
        allowed.append(and_(HumanTask.lane == "enlace", HumanTask.direccion == bindparam("enlace_direccion")))
    condition = or_(*allowed) if allowed else false()
    if scoped is None:
        return condition
    return and_(condition, HumanTask.direccion == bindparam("scope_direccion")) if scoped else false()


# -- starting a case ---------------------------------------------------------------------------
def start_refusal(actor: Actor, procedure: Any, called: frozenset[str]) -> str | None:
    """Why this actor may not start ``procedure`` (Spanish), or None when they may.

    Who starts a procedure is declared in its diagram: the lane its start event sits in
    (``procedure.starters``, ``engine.bpm.start_events.starters``). A procedure another one in
    force calls (``called``) is started by its callers, and one with only a calendar by the
    scheduler: by hand, by nobody. The office itself (``actor.system``: the public channels,
    the scenario runner) starts what its code names; the scheduler and call activities do not
    come this way at all. ``procedure``: an ``engine.procedures.versions.Procedure``.
    """
    if actor.system:
        return None
    if procedure.process_id in called:
        return f"«{procedure.name}» lo inicia otro procedimiento; no se registra a mano"
    if not procedure.starters:
        return f"«{procedure.name}» lo inicia su calendario; no se registra a mano"
    if not actor.roles & procedure.starters:
        names = ", ".join(sorted(ROLES.get(role, role) for role in procedure.starters))
        return f"su rol no permite iniciar «{procedure.name}»; lo inicia: {names}"
    return None


def may_start(actor: Actor, procedure: Any, called: frozenset[str]) -> bool:
    return start_refusal(actor, procedure, called) is None


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


# Who sees the cases of every dirección. An enlace is limited to their own dirección's cases, whatever
# other role they also hold (an operador, an analyst, Defensa del Usuario...): in every case they reach
# (case page, attachments, documents and consolidado, search, bandeja and tasks, history, acuse).
# Only one of these roles, granted on purpose, lifts the limit: the coordinator watches the whole desk
# and the auditor inspects every case. (The administrator and the analyst read no case at all.)
SEES_ALL_DIRECCIONES = frozenset({"coordinador", "auditor"})


def direccion_scope(actor: Actor) -> str | None:
    """The only dirección whose cases the actor may reach, or None when not limited to one.

    An enlace without a role of ``SEES_ALL_DIRECCIONES`` is limited to their own dirección;
    one without a dirección reaches none, which the empty string expresses.
    """
    if "enlace" in actor.roles and not actor.roles & SEES_ALL_DIRECCIONES:
        return actor.direccion or ""
    return None


def may_reach(actor: Actor, direccion: str | None) -> bool:
    """Whether the actor's dirección scope lets them reach a case (or document) of ``direccion``."""
    scope = direccion_scope(actor)
    return scope is None or (bool(scope) and direccion == scope)


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


# Incidents: steps that failed at run time (engine.cases.incidents). The analyst fixes
# the procedure and the coordinator watches the desk: both retry a step or mark it resolved; the
# auditor reads them and changes nothing.
INCIDENT_HANDLERS = frozenset({"analista", "coordinador"})
INCIDENT_READERS = INCIDENT_HANDLERS | AUDITORS


def may_read_incidents(actor: Actor) -> bool:
    return bool(actor.roles & INCIDENT_READERS)


def may_handle_incidents(actor: Actor) -> bool:
    return bool(actor.roles & INCIDENT_HANDLERS)


# Indicators: those who watch the office's figures; an enlace too, limited to their own
# dirección by ``direccion_scope``. The time per step on the diagram is the whole office's, so an
# enlace does not see it, and the analyst, who changes the procedures, does. The citizens' survey
# comments are read by the coordination only, never linked to a case.
INDICATOR_READERS = frozenset({"coordinador", "auditor", "admin", "enlace"})
STEP_TIME_READERS = frozenset({"coordinador", "auditor", "admin", "analista"})
SURVEY_COMMENT_READERS = COORDINATORS


def may_read_indicators(actor: Actor) -> bool:
    return bool(actor.roles & INDICATOR_READERS)


def may_read_step_times(actor: Actor) -> bool:
    return bool(actor.roles & STEP_TIME_READERS)


def may_read_survey_comments(actor: Actor) -> bool:
    return bool(actor.roles & SURVEY_COMMENT_READERS)
