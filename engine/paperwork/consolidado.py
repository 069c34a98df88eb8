"""The consolidado de seguimiento of a dirección: its open cases and how far each one got.

A case is in a dirección's consolidado from the moment it is remitted ("en seguimiento")
until it is closed; escalated cases stay in it. The last follow-up is the latest report
the enlace gave in the app (the ``avance_semanal`` field of the follow-up form), dated by
the audit trail. One query for the cases and one for their completed tasks' details, whose
follow-up dates are picked in Python: a consolidado of 10,000 cases never loads a workflow.
"""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import chain as audit_chain
from engine.cases import queries
from engine.clock import PANAMA
from engine.db.models import AuditEvent, Case, record_text
from engine.paperwork import documents

OPEN_STATUSES = ("en seguimiento", "escalado a la unidad")
FOLLOW_UP_FIELD = "avance_semanal"  # the follow-up form's report of progress
SUMMARY_FIELD = "resumen"  # the hoja de trámite's summary
PERIODS = {"semanal": "Consolidado semanal", "quincenal": "Consolidado quincenal"}


def _days(start: datetime, end: datetime) -> int:
    return (end.astimezone(PANAMA).date() - start.astimezone(PANAMA).date()).days


def build(session: Session, direccion: str, now: datetime, periodo: str = "") -> documents.Consolidado:
    """The consolidado of ``direccion`` at ``now``, oldest case first."""
    in_consolidado = (Case.direccion == direccion) & Case.status.in_(OPEN_STATUSES)
    stored = session.execute(  # details are packed (engine.db.packing): read in Python
        select(AuditEvent.case_id, AuditEvent.at, AuditEvent.detail).where(
            AuditEvent.kind == "tarea_completada",
            AuditEvent.case_id.in_(select(Case.id).where(in_consolidado)),
        )
    )
    # Follow-ups recorded in this same transaction count too, read where they wait: writing them
    # first would take the audit chain's lock in the middle of a step (engine.audit.chain).
    waiting = (
        (e["case_id"], e["at"], e["detail"]) for e in audit_chain.pending(session) if e["kind"] == "tarea_completada"
    )
    last_follow_up: dict[int | None, datetime] = {}
    for case_id, at, detail in itertools.chain(stored, waiting):
        datos = detail.get("datos") if isinstance(detail, dict) else None  # a detail of another shape counts as none
        if isinstance(datos, dict) and datos.get(FOLLOW_UP_FIELD) is not None:
            last_follow_up[case_id] = max(at, last_follow_up.get(case_id, at))
    types = queries.catalog_labels(session, "tipos_caso")
    rows = session.execute(
        select(
            Case.id,
            Case.ticket,
            Case.opened_at,
            Case.case_type,
            Case.status,
            Case.due_at,
            Case.subject,
            Case.data,  # packed (engine.db.packing): its summary and follow-up read in Python
        )
        .where(in_consolidado)
        .order_by(Case.opened_at, Case.id)
    )
    filas = [
        documents.FilaConsolidado(
            ticket=ticket,
            fecha=opened_at,
            tipo_caso=types.get(case_type, case_type or ""),
            resumen=record_text(data, SUMMARY_FIELD) or subject or "",
            estado=status.capitalize(),
            dias_transcurridos=_days(opened_at, now),
            dias_restantes=_days(now, due_at) if due_at is not None else None,
            ultimo_seguimiento=record_text(data, FOLLOW_UP_FIELD) or "",
            fecha_ultimo_seguimiento=last_follow_up.get(case_id),
        )
        for case_id, ticket, opened_at, case_type, status, due_at, subject, data in rows
    ]
    name = queries.catalog_labels(session, "direcciones").get(direccion, direccion)
    return documents.Consolidado(
        direccion=name, generado_el=now, periodo=PERIODS.get(periodo, periodo.capitalize()), filas=filas
    )
