"""A case's audit trail in Spanish words: what happened, who did it, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from engine.audit.trail import SYSTEM
from engine.paperwork import devolucion
from web.ui.filters import fecha

if TYPE_CHECKING:
    from engine.db.models import AuditEvent
    from web.ui.record import Labels

EVENT_NAMES = {
    "caso_creado": "Caso creado",
    "tarea_completada": "Tarea completada",
    "paso_automatico": "Paso sin acción del sistema (tarea simple o manual)",
    "estado_cambiado": "Cambio de estado",
    "plazo_fijado": "Plazo fijado",
    "temporizador_disparado": "Temporizador",
    "tarea_renovada": "Tarea renovada",
    "error_temporizador": "Error de temporizador",
    "incidencia_registrada": "Incidencia registrada",
    "incidencia_reintentada": "Incidencia reintentada",
    "incidencia_resuelta": "Incidencia resuelta",
    "cadena_sellada": "Cadena de auditoría sellada",
    "caso_migrado": "Caso migrado de versión",
    "procedimiento_desplegado": "Procedimiento desplegado",
    "tarea_tomada": "Tarea tomada",
    "tarea_liberada": "Tarea liberada",
    "tarea_reasignada": "Tarea reasignada",
    "borrador_guardado": "Borrador guardado",
    "nota_interna": "Nota interna",
    "correo_recibido": "Correo del ciudadano",
    "entrada_convertida": "Registrado desde el buzón",
    "consentimiento_datos": "Consentimiento de datos personales",
    "caso_vinculado": "Vinculado como duplicado",
    "documento_renderizado": "Documento listo para descargar",
    "correo_direccion_invalida": "Correo no enviado: dirección no válida",
}
SYSTEM_NAME = "Sistema"
# A completion that decided on a hoja de trámite reads as the decision, with the coordinator's comment.
HOJA_DECISIONS = {
    devolucion.APPROVED: "Hoja de trámite aprobada",
    devolucion.RETURNED: "Hoja de trámite devuelta para corrección",
}


# Fields of the case record whose values are catalogue codes whoever set them: a form's field, or a
# start event's property (``canal``, ``tipo_caso``: engine.bpm.start_events.RECORD_PROPERTIES), which
# no form titles. People read the catalogue's label, never the code.
RECORD_CATALOGS = {
    "canal": "canales",
    "tipo_caso": "tipos_caso",
    "corregimiento": "corregimientos",
    "direccion": "direcciones",
}
RECORD_TITLES = {"canal": "Canal de recepción"}


def record_label(labels: Labels, field: str, value) -> str | None:
    """The catalogue label of a code of the case record (``presencial`` → «Atención directa (presencial)»);
    None for a field no catalogue holds, or a value that is not a code."""
    catalog = RECORD_CATALOGS.get(field)
    return labels(catalog, value) if catalog and isinstance(value, str) and value else None


@dataclass(frozen=True)
class Entry:
    at: datetime
    who: str
    what: str
    detail: str


def entries(events: list[AuditEvent], names: dict[str, str]) -> list[Entry]:
    """One entry per event, the actor by full name when known."""
    return [Entry(e.at, _who(e.actor, names), _what(e), _detail(e)) for e in events]


def _what(event: AuditEvent) -> str:
    decided = devolucion.decision(event)
    if decided is not None:
        return HOJA_DECISIONS[decided]
    return EVENT_NAMES.get(event.kind) or event.kind.replace("_", " ").capitalize()


def _who(actor: str, names: dict[str, str]) -> str:
    if actor == SYSTEM:
        return SYSTEM_NAME
    return f"{names[actor]} ({actor})" if actor in names else actor


def _detail(event: AuditEvent) -> str:
    detail = event.detail or {}
    if devolucion.decision(event) is not None:
        return devolucion.comment(event)
    if event.kind == "caso_creado":
        return f"Ticket {detail.get('ticket', '')}"
    if event.kind in ("tarea_completada", "tarea_tomada", "borrador_guardado", "paso_automatico"):
        return detail.get("nombre") or detail.get("tarea") or ""
    if event.kind in ("tarea_liberada", "tarea_reasignada"):
        moved = f"{detail.get('antes') or 'nadie'} → {detail.get('despues') or 'disponible'}"
        return f"{detail.get('tarea') or ''} ({moved})"
    if event.kind == "estado_cambiado":
        return f"{detail.get('antes') or '—'} → {detail.get('despues') or '—'}"
    if event.kind == "plazo_fijado":
        return f"Fecha límite: {fecha(detail.get('despues'))}"
    if event.kind == "temporizador_disparado":
        return ", ".join(detail.get("temporizadores") or [])
    if event.kind == "tarea_renovada":  # a follow-up renewed instead of piled up (engine.bpm.repeats)
        name = detail.get("nombre") or detail.get("tarea") or ""
        return f"{name}: sigue abierta, ahora vence el {fecha(detail.get('despues'))}"
    if event.kind == "caso_migrado":
        return f"Versión {detail.get('antes', {}).get('version')} → {detail.get('despues', {}).get('version')}"
    if event.kind == "correo_recibido":
        files = ", ".join(f.get("nombre", "") for f in detail.get("adjuntos") or [])
        return f"{detail.get('asunto', '')}: {detail.get('cuerpo', '')}" + (f" (adjuntos: {files})" if files else "")
    if event.kind == "entrada_convertida":
        return f"Mensaje de {detail.get('de', '')}: {detail.get('asunto', '')}"
    if event.kind == "consentimiento_datos":
        return detail.get("ley", "")
    if event.kind == "caso_vinculado":
        return f"Con el caso {detail.get('con', '')}" + (f": {detail['nota']}" if detail.get("nota") else "")
    if event.kind in ("documento_generado", "documento_renderizado"):
        return detail.get("archivo", "")
    if event.kind.startswith("incidencia_"):
        return _incident(event.kind, detail)
    if event.kind == "error_temporizador":
        # The exception text is for the logs and the auditor, not for every reader of the case.
        return "Se reintentará automáticamente."
    return ""


def _incident(kind: str, detail: dict) -> str:
    """«N.º 3: "Decidir" no pudo completarse: …», «N.º 3: resuelta», «N.º 3: marcada resuelta»."""
    number, reason = detail.get("incidencia"), detail.get("motivo") or ""
    if kind == "incidencia_registrada":
        return f'N.º {number}: "{detail.get("nombre") or ""}" no pudo completarse: {reason}'
    if kind == "incidencia_reintentada":
        return f"N.º {number}: " + (
            "resuelta" if detail.get("resultado") == "resuelta" else f"volvió a fallar: {reason}"
        )
    return f"N.º {number}: {detail.get('como') or ''}"
