"""Drafts of task forms: what someone typed, kept until they come back, seen only by them.

A draft keeps the form exactly as posted, invalid or not (validation happens on completion).
It belongs to one task and one person; when the task leaves the list (completed, or withdrawn
by the procedure) the database deletes its drafts (``ON DELETE CASCADE``), whoever removed it.
(Not to be confused with ``engine.procedures.drafts``: an analyst's draft of a diagram.)
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, select

from engine.access.accounts import Actor
from engine.access.permissions import may_work_now
from engine.audit import trail as audit
from engine.cases import attachments
from engine.cases.assignment import locked_task
from engine.db.models import HumanTask, TaskDraft
from engine.db.statements import Statement
from engine.errors import Forbidden
from engine.facade import Atiende


def save(
    atiende: Atiende, task_id: str, values: dict, actor: Actor, uploads: attachments.Uploads | None = None
) -> None:
    """Keep ``values`` as the actor's draft of the task (replacing their previous one), its new files with it."""
    with atiende.unit_of_work() as s:
        task = locked_task(atiende, s, task_id)
        if not may_work_now(actor, task):
            raise Forbidden("no tiene permiso para esta tarea")
        now = atiende.now()
        values = attachments.with_uploads(s, values, uploads, actor.username, now)
        draft = s.get(TaskDraft, (task_id, actor.username))
        if draft is None:
            s.add(TaskDraft(task_id=task_id, author=actor.username, form_values=values, saved_at=now))
        else:
            draft.form_values, draft.saved_at = values, now
        # The event says that a draft exists, not what it holds: a draft is its author's alone.
        audit.record(
            s,
            now,
            actor.username,
            "borrador_guardado",
            case_id=task.case_id,
            task_id=task_id,
            detail={"tarea": task.name},
        )


_DRAFTS = cast(Table, TaskDraft.__table__)
_TASKS = cast(Table, HumanTask.__table__)
_OF_CASE = Statement(
    select(*_DRAFTS.c)
    .join_from(_DRAFTS, _TASKS, _TASKS.c.id == _DRAFTS.c.task_id)
    .where(_TASKS.c.case_id == bindparam("case_id"), _DRAFTS.c.author == bindparam("username"))
)


def of_case_read(case_id: int, username: str) -> tuple[Statement, dict]:
    """The read of the person's own drafts of the case's tasks (``task_draft`` rows), for a page to send
    with its other reads (``statements.together``)."""
    return _OF_CASE, {"case_id": case_id, "username": username}
