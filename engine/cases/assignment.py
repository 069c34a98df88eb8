"""Who is working a task: claim it, release it, or (a coordinator) hand it to someone else.

A claimed task leaves the other people's bandejas and only its assignee may complete it
(``Atiende.complete_task`` checks ``HumanTask.assignee``). Every change locks the case row,
exactly as a completion does, so a claim and a completion of the same task never cross, and
each change is written with its audit event in one transaction.

Several tasks at once (the bandeja's action bar) are changed one by one, each in its own
transaction, and every task gets an ``Outcome``: one refused (taken by someone else meanwhile,
not for this person, already done) never stops the others and is never silently skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.accounts import Actor, actor_of
from engine.access.permissions import may_coordinate, may_work
from engine.audit import trail as audit
from engine.cases.finding.worklist import TaskLane
from engine.cases.queries import full_names
from engine.db.models import Case, HumanTask, User, UserRole
from engine.db.statements import Statement
from engine.errors import AssignmentRefused, Forbidden, NotFound, TaskAlreadyDone
from engine.facade import Atiende

NOT_YOURS = "no tiene permiso para esta tarea"
MAX_AT_ONCE = 100  # tasks changed by one request: four pages of the bandeja


@dataclass(frozen=True)
class Outcome:
    """What became of one task of a change asked for several: ``reason`` says why not (a clause,
    «ya la tomó Ana Operadora») when it was refused."""

    task_id: str
    ticket: str
    done: bool
    reason: str = ""


def locked_task(atiende: Atiende, session: Session, task_id: str) -> HumanTask:
    """The open task, read again under its case's lock; raises NotFound or TaskAlreadyDone if gone."""
    task = session.get(HumanTask, task_id)
    if task is None:
        raise atiende.missing_task(session, task_id)
    session.get(Case, task.case_id, with_for_update=True)
    if session.scalar(select(HumanTask.id).where(HumanTask.id == task_id)) is None:
        raise atiende.missing_task(session, task_id)
    session.refresh(task)
    return task


def claim(atiende: Atiende, task_id: str, actor: Actor) -> None:
    """Take the task: it becomes the actor's alone. Claiming one's own task again changes nothing."""
    with atiende.unit_of_work() as s:
        task = locked_task(atiende, s, task_id)
        reason = _claim_refusal(s, task, actor)
        if reason == NOT_YOURS:
            raise Forbidden(reason)
        if reason is not None:
            raise AssignmentRefused(_sentence(reason))
        _take(atiende, s, task, actor)


def claim_many(atiende: Atiende, task_ids: list[str], actor: Actor) -> list[Outcome]:
    """Take each task in its own transaction; one outcome per task, in the order given."""

    def change(s: Session, task: HumanTask) -> str | None:
        reason = _claim_refusal(s, task, actor)
        if reason is None:
            _take(atiende, s, task, actor)
        return reason

    return _each(atiende, task_ids, change)


def _claim_refusal(session: Session, task: HumanTask, actor: Actor) -> str | None:
    """Why ``actor`` may not take ``task`` (a clause), or None; taking one's own task again is no change."""
    if not may_work(actor, task):
        return NOT_YOURS
    if task.assignee is not None and task.assignee != actor.username:
        return f"ya la tomó {_name(session, task.assignee)}"
    return None


def _take(atiende: Atiende, session: Session, task: HumanTask, actor: Actor) -> None:
    if task.assignee == actor.username:
        return
    task.assignee = actor.username
    audit.record(
        session,
        atiende.now(),
        actor.username,
        "tarea_tomada",
        case_id=task.case_id,
        task_id=task.id,
        detail={"tarea": task.name},
    )


def release(atiende: Atiende, task_id: str, actor: Actor) -> None:
    """Give the task back to its role: by its assignee, or by a coordinator."""
    with atiende.unit_of_work() as s:
        task = locked_task(atiende, s, task_id)
        unclaimed_and_workable = task.assignee is None and may_work(actor, task)
        if not (task.assignee == actor.username or may_coordinate(actor) or unclaimed_and_workable):
            raise Forbidden("solo quien tomó la tarea o un coordinador puede liberarla")
        if task.assignee is not None:
            _release(s, task, actor.username, atiende.now())


def reassign(atiende: Atiende, task_id: str, username: str, actor: Actor) -> None:
    """A coordinator hands the task to ``username``, who must be active, allowed to work it, and
    not already its assignee (a «reassignment» that changes nothing is refused, not reported done)."""
    with atiende.unit_of_work() as s:
        person = _person_to_hand_to(s, username, actor)
        task = locked_task(atiende, s, task_id)
        reason = _reassign_refusal(task, person)
        if reason is not None:
            raise AssignmentRefused(_sentence(reason))
        _hand(atiende, s, task, person, actor)


def reassign_many(atiende: Atiende, task_ids: list[str], username: str, actor: Actor) -> list[Outcome]:
    """Hand each task to ``username`` in its own transaction; one outcome per task, in the order given.
    Refused as a whole (nothing changed) when the actor is no coordinator or the person is unknown."""
    with atiende.store.read() as s:
        _person_to_hand_to(s, username, actor)

    def change(s: Session, task: HumanTask) -> str | None:
        person = s.scalar(select(User).where(User.username == username, User.active.is_(True)))
        if person is None:  # deactivated since the batch began
            return f"{username} ya no está activo"
        reason = _reassign_refusal(task, person)
        if reason is None:
            _hand(atiende, s, task, person, actor)
        return reason

    return _each(atiende, task_ids, change)


def _person_to_hand_to(session: Session, username: str, actor: Actor) -> User:
    if not may_coordinate(actor):
        raise Forbidden("solo un coordinador puede reasignar tareas")
    if not username:
        raise AssignmentRefused("Elija a quién asignar la tarea.")
    person = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if person is None:
        raise AssignmentRefused(f"No hay un usuario activo «{username}».")
    return person


def _reassign_refusal(task: HumanTask, person: User) -> str | None:
    if not may_work(actor_of(person), task):
        return f"{person.full_name} no puede atender esta tarea (rol o dirección distintos)"
    if task.assignee == person.username:
        return f"ya está asignada a {person.full_name}"
    return None


def _hand(atiende: Atiende, session: Session, task: HumanTask, person: User, actor: Actor) -> None:
    audit.record(
        session,
        atiende.now(),
        actor.username,
        "tarea_reasignada",
        case_id=task.case_id,
        task_id=task.id,
        detail={"tarea": task.name, "antes": task.assignee, "despues": person.username},
    )
    task.assignee = person.username


def _each(atiende: Atiende, task_ids: list[str], change: Callable[[Session, HumanTask], str | None]) -> list[Outcome]:
    """``change`` each task (once, in the order given) in a transaction of its own, under its case's
    lock; it returns why it refused (a clause) or None. A task gone meanwhile is reported, not skipped."""
    wanted = list(dict.fromkeys(task_ids))
    if len(wanted) > MAX_AT_ONCE:
        raise AssignmentRefused(f"Marque como máximo {MAX_AT_ONCE} tareas a la vez.")
    outcomes = []
    for task_id in wanted:
        try:
            with atiende.unit_of_work() as s:
                task = locked_task(atiende, s, task_id)
                ticket = task.case.ticket
                reason = change(s, task)
        except (NotFound, TaskAlreadyDone) as gone:
            with atiende.store.read() as s:
                done = audit.completion_of(s, task_id)
                case = s.get(Case, done.case_id) if done is not None and done.case_id is not None else None
                by = _name(s, done.actor) if done is not None else ""
            reason = f"ya la completó {by}" if isinstance(gone, TaskAlreadyDone) else "ya no está pendiente"
            outcomes.append(Outcome(task_id, case.ticket if case else "—", False, reason))
        else:
            outcomes.append(Outcome(task_id, ticket, reason is None, reason or ""))
    return outcomes


def _name(session: Session, username: str) -> str:
    return full_names(session, [username]).get(username, username)


def _sentence(reason: str) -> str:
    """A refusal clause as the sentence a single change shows: «ya la tomó Ana» → «La tarea ya la tomó Ana.»"""
    return f"La tarea {reason}." if reason.startswith("ya ") else f"{reason[:1].upper()}{reason[1:]}."


def task_to_reassign(atiende: Atiende, session: Session, task_id: str, actor: Actor) -> HumanTask:
    """The open task a coordinator wants to hand over, whatever its lane; Forbidden to others."""
    if not may_coordinate(actor):
        raise Forbidden("solo un coordinador puede reasignar tareas")
    task = session.get(HumanTask, task_id)
    if task is None:
        raise atiende.missing_task(session, task_id)
    return task


def candidates(session: Session, task: HumanTask) -> list[Candidate]:
    """The active people who may work ``task``, by name: whom a coordinator may hand it to."""
    return people_for_any(session, [task])


def release_all_of(session: Session, username: str, by: str, now: datetime) -> int:
    """Give back every task claimed by ``username`` (when the account is deactivated)."""
    tasks = list(session.scalars(select(HumanTask).where(HumanTask.assignee == username)))
    for task in tasks:
        _release(session, task, by, now)
    return len(tasks)


def _release(session: Session, task: HumanTask, by: str, now: datetime) -> None:
    audit.record(
        session,
        now,
        by,
        "tarea_liberada",
        case_id=task.case_id,
        task_id=task.id,
        detail={"tarea": task.name, "antes": task.assignee},
    )
    task.assignee = None


@dataclass(frozen=True)
class Candidate:
    """A person a task may be handed to, as the pages name them."""

    username: str
    full_name: str


# Each active person's roles, one row per role, a person's rows together: the plain values ``may_work``
# needs. Every bandeja page of a coordinator asks, and loading each account and its roles as mapped
# objects cost a tenth of such a page.
_ACTIVE_ROLES = Statement(
    select(User.username, User.full_name, User.direccion, UserRole.role)
    .join(UserRole, UserRole.user_id == User.id)
    .where(User.active.is_(True))
    .order_by(User.full_name, User.username)
)


def people_for_any(session: Session, tasks: Iterable[Any]) -> list[Candidate]:
    """The active people who may work at least one of ``tasks`` (rows with a lane and a dirección), by
    name: whom the bandeja's «Reasignar a…» offers for the tasks of its page."""
    lanes = [TaskLane(lane, direccion) for lane, direccion in {(task.lane, task.direccion) for task in tasks}]
    found = []
    for (username, full_name, direccion), rows in groupby(_ACTIVE_ROLES.all(session, {}), key=lambda r: r[:3]):
        person = Actor(username, frozenset(row.role for row in rows), direccion)
        if any(may_work(person, lane) for lane in lanes):
            found.append(Candidate(username, full_name))
    return found
