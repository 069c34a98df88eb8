"""The acuse de recibo of a hoja de trámite: where it stands, and recording the signed paper.

The enlace confirms receipt by working the case's acuse task (from the task list, or from
the hoja's QR code, which leads to the same task). When the dirección signs the printed
copy instead, the operator records it here: the same task is completed with who received
it and when, and the scan of the signed page joins the case (``engine.cases.attachments``) — one
transaction, audited as an acuse on paper. The acuse task is found by its form
(``acuse_recibo``), so a diagram may call the step what it likes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.accounts import Actor
from engine.audit import trail as audit
from engine.cases import attachments
from engine.db.models import AuditEvent, Case, HumanTask
from engine.errors import FileRefused, Forbidden, FormErrors, NotFound
from engine.facade import Atiende
from engine.forms import catalogs
from engine.forms import schemas as form_schemas

ACUSE_FORM = "acuse_recibo"
RECEIVED_BY = "recibido_por"  # the acuse form's field naming who signed
SCAN_FIELD = "escaneo"  # the paper-acuse page's file field


@dataclass(frozen=True)
class Received:
    """A recorded acuse: who signed, when it was recorded, by whom, on paper or in the app."""

    received_by: str
    received_on: str
    recorded_by: str
    recorded_at: datetime
    on_paper: bool


def case_by_ticket(session: Session, ticket: str) -> Case | None:
    return session.scalar(select(Case).where(Case.ticket == ticket))


def pending_task(session: Session, case_id: int) -> HumanTask | None:
    """The case's acuse task waiting to be done, if any."""
    return session.scalar(
        select(HumanTask)
        .where(HumanTask.case_id == case_id, HumanTask.form == ACUSE_FORM)
        .order_by(HumanTask.created_at.desc())
        .limit(1)
    )


def received(session: Session, case_id: int) -> Received | None:
    """The latest acuse recorded for the case, from the audit trail."""
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.case_id == case_id, AuditEvent.kind.in_(("tarea_completada", "acuse_en_papel")))
            .order_by(AuditEvent.id)
        )
    )
    on_paper = {e.task_id for e in events if e.kind == "acuse_en_papel"}
    for event in reversed(events):
        data = event.detail.get("datos", {})
        if event.kind == "tarea_completada" and RECEIVED_BY in data:
            return Received(
                data[RECEIVED_BY], data.get("fecha_recibo", ""), event.actor, event.at, event.task_id in on_paper
            )
    return None


def record_paper(atiende: Atiende, case_id: int, submitted: dict, scan: tuple[str, bytes] | None, actor: Actor) -> str:
    """The operator records the signed paper acuse; returns the case's ticket.

    ``scan`` is (file name, bytes) of the signed page. Raises Forbidden (not an operator),
    NotFound (no acuse pending), FormErrors (the fields, or a missing or unacceptable scan).
    """
    if not actor.has("operador"):
        raise Forbidden("solo un operador registra el acuse de recibo firmado en papel")
    with atiende.unit_of_work() as s:
        case = s.get(Case, case_id, with_for_update=True)
        task = pending_task(s, case_id) if case is not None else None
        if case is None or task is None:
            raise NotFound("el caso no tiene un acuse de recibo pendiente")
        procedure = atiende.procedure(s, case.procedure_version_id)
        schema = procedure.forms[cast(str, task.form)]  # found by its form, ACUSE_FORM
        needed = {p["x-catalogo"] for p in schema.get("properties", {}).values() if "x-catalogo" in p}
        data = form_schemas.clean(schema, submitted, catalogs.codes(s, needed))
        now = atiende.now()
        if scan is None:
            raise FormErrors({SCAN_FIELD: "Adjunte el escaneo de la hoja con el acuse firmado."})
        try:
            stored = attachments.store(s, scan[1], scan[0], actor.username, now)
        except FileRefused as refused:
            raise FormErrors({SCAN_FIELD: str(refused)}) from None
        attachments.attach(s, [stored.id], case.id)
        audit.record(
            s,
            now,
            actor.username,
            "acuse_en_papel",
            case_id=case.id,
            task_id=task.id,
            detail={"adjunto": stored.id, "archivo": stored.filename, RECEIVED_BY: data.get(RECEIVED_BY)},
        )
        advanced = atiende.runtime.complete(s, case, procedure, task.id, data, actor.username, now)
        ticket = case.ticket
    atiende.runtime.remember(advanced)
    return ticket
