"""The roles of the office and how a diagram's lane names map to them."""

from __future__ import annotations

import unicodedata

ROLES = {
    "operador": "Operador",
    "operador_front": "Operador de front",
    "operador_back_office": "Operador de back office",
    "operador_gestion_ciudadano": "Operador de gestión al ciudadano",
    "coordinador": "Coordinador",
    "enlace": "Enlace de dirección",
    "defensa_usuario": "Defensa del Usuario",
    "inspector": "Inspector",
    "planificacion_urbana": "Planificación Urbana",
    "gestion_ambiental": "Gestión Ambiental",
    "coordinacion_corregidores": "Coordinación de Corregidores",
    "call_center": "Operador de call center",
    "analista": "Analista de procesos",
    "auditor": "Auditor",
    "admin": "Administrador",
}


def role_of_lane(lane: str | None) -> str | None:
    """The role code a lane name stands for ("Coordinación de Corregidores" → coordinacion_corregidores)."""
    if not lane:
        return None
    plain = unicodedata.normalize("NFKD", lane).encode("ascii", "ignore").decode().lower()
    code = "_".join(w for w in plain.replace("-", " ").split() if w not in {"de", "del", "la", "el", "al"})
    return code if code in ROLES else None
