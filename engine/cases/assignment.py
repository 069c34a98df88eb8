"""Who is working a task: claim it, release it, or (a coordinator) hand it to someone else.

A claimed task leaves the other people's bandejas and only its assignee may complete it
(``Atiende.complete_task`` checks ``HumanTask.assignee``). Every change locks the case row,
exactly as a completion does, so a claim and a completion of the same task never cross, and
each change is written with its audit event in one transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.accounts import Actor, actor_of
from engine.access.permissions import may_coordinate, may_work
from engine.audit import trail as audit
from engine.db.models import Case, HumanTask, User
from engine.errors import AssignmentRefused, Forbidden
from engine.facade import Atiende


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
        if not may_work(actor, task):
            raise Forbidden("no tiene permiso para esta tarea")
        if task.assignee == actor.username:
            return
        if task.assignee is not None:
            raise AssignmentRefused(f"La tarea ya la tomó {task.assignee}.")
        task.assignee = actor.username
        audit.record(
            s,
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
    """A coordinator hands the task to ``username``, who must be active and allowed to work it."""
    if not may_coordinate(actor):
        raise Forbidden("solo un coordinador puede reasignar tareas")
    with atiende.unit_of_work() as s:
        task = locked_task(atiende, s, task_id)
        person = s.scalar(select(User).where(User.username == username, User.active.is_(True)))
        if person is None:
            raise AssignmentRefused(f"No hay un usuario activo «{username}».")
        if not may_work(actor_of(person), task):
            raise AssignmentRefused(f"{person.full_name} no puede atender esta tarea (rol o dirección distintos).")
        if task.assignee == username:
            return
        audit.record(
            s,
            atiende.now(),
            actor.username,
            "tarea_reasignada",
            case_id=task.case_id,
            task_id=task.id,
            detail={"tarea": task.name, "antes": task.assignee, "despues": username},
        )
        task.assignee = username


def task_to_reassign(atiende: Atiende, session: Session, task_id: str, actor: Actor) -> HumanTask:
    """The open task a coordinator wants to hand over, whatever its lane; Forbidden to others."""
    if not may_coordinate(actor):
        raise Forbidden("solo un coordinador puede reasignar tareas")
    task = session.get(HumanTask, task_id)
    if task is None:
        raise atiende.missing_task(session, task_id)
    return task


def candidates(session: Session, task: HumanTask) -> list[User]:
    """The active people who may work ``task``, by name: whom a coordinator may hand it to."""
    people = session.scalars(select(User).where(User.active.is_(True)).order_by(User.full_name))
    return [p for p in people if may_work(actor_of(p), task)]


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
