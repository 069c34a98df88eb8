"""Approving hojas de trámite several at once, from a list.

Each approval is the ordinary completion of that case's approval task (``Atiende.complete_task``):
its own transaction, its own audit event, its remission in the same step. One case failing
(someone else approved it first, it was withdrawn) does not stop the others; each outcome is
reported. Returning a hoja with comments is done one by one, on its task page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.accounts import Actor
from engine.access.permissions import may_work_now
from engine.audit import trail as audit
from engine.db.models import Case, HumanTask
from engine.errors import Forbidden, FormErrors, NotFound, StepFailed, TaskAlreadyDone
from engine.facade import Atiende

log = logging.getLogger(__name__)

APPROVAL_FORM = "aprobacion_hoja"  # the form of the approval step, whatever the diagram calls the task
APPROVE = {"decision_hoja": "aprobar"}


@dataclass(frozen=True)
class Pending:
    task_id: str
    case_id: int
    ticket: str
    subject: str
    case_type: str | None
    direccion: str | None
    summary: str
    waiting_since: datetime
    due_at: datetime | None


@dataclass(frozen=True)
class Outcome:
    task_id: str
    ticket: str
    approved: bool
    message: str


def pending(session: Session, actor: Actor) -> list[Pending]:
    """The hojas awaiting approval that ``actor`` may approve, oldest first."""
    rows = session.execute(
        select(HumanTask, Case)
        .join(Case, Case.id == HumanTask.case_id)
        .where(HumanTask.form == APPROVAL_FORM)
        .order_by(HumanTask.created_at, HumanTask.id)
    )
    return [
        Pending(
            task.id,
            case.id,
            case.ticket,
            case.subject or "",
            case.case_type,
            case.direccion,
            str(case.data.get("resumen", "")),
            task.created_at,
            task.due_at,
        )
        for task, case in rows
        if may_work_now(actor, task)
    ]


def approve_many(atiende: Atiende, task_ids: list[str], actor: Actor, comment: str = "") -> list[Outcome]:
    """Approve each task in its own transaction; one outcome per task, in the order given."""
    with atiende.store.read() as s:
        found = {
            task_id: (ticket, form)
            for task_id, ticket, form in s.execute(
                select(HumanTask.id, Case.ticket, HumanTask.form)
                .join(Case, Case.id == HumanTask.case_id)
                .where(HumanTask.id.in_(task_ids))
            )
        }
        for task_id in set(task_ids) - set(found):  # done already: name its case from the audit trail
            done = audit.completion_of(s, task_id)
            if done is not None and done.case_id is not None:
                found[task_id] = (s.get(Case, done.case_id).ticket, APPROVAL_FORM)
    submitted = {**APPROVE, **({"comentarios_aprobacion": comment} if comment.strip() else {})}
    outcomes = []
    for task_id in dict.fromkeys(task_ids):  # once each, in order
        ticket, form = found.get(task_id, ("—", APPROVAL_FORM))
        if form != APPROVAL_FORM:
            outcomes.append(Outcome(task_id, ticket, False, "No es una aprobación de hoja de trámite."))
            continue
        try:
            atiende.complete_task(task_id, submitted, actor)
        except (TaskAlreadyDone, NotFound, Forbidden) as exc:
            outcomes.append(Outcome(task_id, ticket, False, _sentence(str(exc))))
        except FormErrors as invalid:
            outcomes.append(Outcome(task_id, ticket, False, "; ".join(invalid.errors.values())))
        except StepFailed as failed:  # rolled back and recorded as an incident: its message names it
            outcomes.append(Outcome(task_id, ticket, False, str(failed)))
        except Exception:  # noqa: BLE001 - one case's failure is reported, the others go on
            log.exception("approval of task %s failed", task_id)
            outcomes.append(
                Outcome(
                    task_id,
                    ticket,
                    False,
                    "No se pudo aprobar por un error del sistema; intente de nuevo desde la tarea.",
                )
            )
        else:
            outcomes.append(Outcome(task_id, ticket, True, "Aprobada y remitida a la dirección."))
    return outcomes


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text
