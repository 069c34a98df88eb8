"""The coordinator's decision on a hoja de trámite, read back from the case's trail.

The approval form (``forms/aprobacion_hoja.json``) records the decision in ``decision_hoja``
(``aprobar`` or ``devolver``) and the reason in ``comentarios_aprobacion``, and the completion
event keeps both (``tarea_completada``, ``detail["datos"]``). A return sends the case back to the
task that makes the hoja (form ``hoja_de_tramite``): that task shows who returned it, when and
why on top, and the case's timeline names the return with its comment, so the operador and every
reader of the case see it, not only the auditor. Pure functions of the events: nothing is stored
twice, and a case returned before this module existed reads the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.db.models import AuditEvent

DECISION = "decision_hoja"
APPROVED, RETURNED = "aprobar", "devolver"
COMMENT = "comentarios_aprobacion"
HOJA_FORM = "hoja_de_tramite"  # the form of the task a return sends the case back to


def decision(event: AuditEvent) -> str | None:
    """``aprobar`` or ``devolver`` when the event completed a hoja's approval; else None."""
    if event.kind != "tarea_completada":
        return None
    found = ((event.detail or {}).get("datos") or {}).get(DECISION)
    return found if found in (APPROVED, RETURNED) else None


def comment(event: AuditEvent) -> str:
    """The coordinator's comment on the decision, as written."""
    return str(((event.detail or {}).get("datos") or {}).get(COMMENT) or "").strip()


def latest(events: list[AuditEvent]) -> AuditEvent | None:
    """The case's latest decision on its hoja (``events`` oldest first), if it has one."""
    return next((e for e in reversed(events) if decision(e) is not None), None)


def to_answer(events: list[AuditEvent], task: Any) -> AuditEvent | None:
    """The return ``task`` must answer: the case's latest decision, when it returned the hoja and
    ``task`` (a ``HumanTask``) is the hoja's task it reopened; else None."""
    last = latest(events)
    if last is None or decision(last) != RETURNED or task.form != HOJA_FORM or task.created_at < last.at:
        return None
    return last
