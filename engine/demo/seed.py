"""Demo data for a first look: one user per role, the procedures deployed, a few cases."""

from __future__ import annotations

from sqlalchemy import select

from engine.access.accounts import Actor, create_user
from engine.db.models import User
from engine.demo import procedures as demo_procedures
from engine.facade import Atiende
from engine.forms import catalogs

DEMO_PASSWORD = "atiende2026"

# username, full name, roles, dirección (for enlaces)
DEMO_USERS = [
    (
        "operador",
        "Ana Operadora",
        ["operador", "operador_front", "operador_back_office", "operador_gestion_ciudadano"],
        None,
    ),
    ("coordinador", "Carlos Coordinador", ["coordinador"], None),
    ("enlace", "Elena Enlace (Planificación Urbana)", ["enlace"], "planificacion_urbana"),
    ("enlace_ambiental", "Ernesto Enlace (Gestión Ambiental)", ["enlace"], "gestion_ambiental"),
    ("analista", "Alicia Analista", ["analista"], None),
    ("auditor", "Aurelio Auditor", ["auditor"], None),
    ("admin", "Admin del Sistema", ["admin"], None),
    ("defensa", "Diana Defensa del Usuario", ["defensa_usuario", "inspector"], None),
    (
        "lotes",
        "Luis Planificación Urbana",
        ["planificacion_urbana", "coordinacion_corregidores", "gestion_ambiental", "call_center"],
        None,
    ),
]

DEMO_CASES = [
    {
        "canal": "correo_electronico",
        "tipo_caso": "queja_reclamo",
        "ciudadano_nombre": "María Pérez",
        "ciudadano_cedula": "8-123-4567",
        "ciudadano_email": "maria.perez@example.com",
        "ciudadano_telefono": "6123-4567",
        "lugar_notificaciones": "Calle 50, edificio Plaza, apto 3B, Bella Vista",
        "corregimiento": "bella_vista",
        "domicilio": "Calle 50, Bella Vista",
        "asunto": "Basura sin recoger",
        "descripcion": "Hace dos semanas no pasa el camión recolector por la calle 50.",
    },
    {
        "canal": "pagina_web",
        "tipo_caso": "reporte",
        "ciudadano_nombre": "José Rodríguez",
        "ciudadano_email": "jose.r@example.com",
        "lugar_notificaciones": "jose.r@example.com",
        "corregimiento": "san_francisco",
        "domicilio": "Vía Porras",
        "asunto": "Luminaria apagada",
        "descripcion": "La luminaria frente al parque está apagada desde hace un mes.",
    },
    {
        "canal": "correo_electronico",
        "tipo_caso": "solicitud_informacion",
        "ciudadano_nombre": "Luisa Gómez",
        "ciudadano_cedula": "PE-12-345",
        "ciudadano_email": "luisa.gomez@example.com",
        "lugar_notificaciones": "luisa.gomez@example.com",
        "corregimiento": "calidonia",
        "asunto": "Permisos de construcción",
        "descripcion": "Solicito información sobre los requisitos del permiso de construcción.",
    },
]


# A valid submission of every task form of the e-mail/web procedure: the demo advances its
# cases with them, and tests and benchmarks drive whole cases with them.
SAMPLE_SUBMISSIONS = {
    "plantilla_queja_reclamo": {
        "hechos": "El camión recolector no pasa desde hace dos semanas.",
        "fecha_hechos": "2026-02-16",
        "dependencia_o_funcionario": "Recolección de desechos",
        "pretension": "Que se restablezca la recolección semanal.",
    },
    "plantilla_solicitud_informacion": {
        "informacion_solicitada": "Requisitos del permiso de construcción.",
        "formato_entrega": "copia_digital",
        "finalidad": "Construir una vivienda.",
    },
    "plantilla_sugerencia": {"sugerencia": "Instalar bancas en el parque.", "area_mejora": "Parques"},
    "plantilla_reporte": {
        "tipo_reporte": "alumbrado",
        "detalle_reporte": "Luminaria apagada.",
        "referencia_ubicacion": "Frente al parque de Vía Porras",
        "fecha_observado": "2026-02-20",
    },
    "hoja_de_tramite": {
        "direccion": "planificacion_urbana",
        "resumen": "Ciudadana reporta falta de recolección.",
        "informacion_ciudadano_relevante": "Notificar en Calle 50, Bella Vista.",
        "prioridad": "normal",
    },
    "aprobacion_hoja": {"decision_hoja": "aprobar"},
    "acuse_recibo": {"recibido_por": "Elena Enlace", "fecha_recibo": "2026-03-03"},
    "reclamo_acuse": {"gestion_acuse": "Se llamó al enlace; confirmará hoy en Atiende."},
    "seguimiento_semanal": {"avance_semanal": "La dirección programó la inspección.", "estado_gestion": "en_tramite"},
    "revision_quincenal": {"accion_quincenal": "continuar", "observaciones_quincenal": "Avance adecuado."},
    "respuesta_final": {
        "respuesta_final": "Se restableció la recolección.",
        "medio_respuesta": "correo_electronico",
        "fecha_respuesta": "2026-03-20",
    },
    "atender_escalado": {"acciones_tomadas": "Se llamó al director.", "instruccion_escalado": "Responder esta semana."},
    **demo_procedures.SUBMISSIONS,  # the forms of the other procedures
}


def seed(atiende: Atiende) -> bool:
    """Load the demo data into an empty database; returns False if it already had users."""
    with atiende.store.unit_of_work() as s:
        catalogs.seed(s)
        if s.scalar(select(User.id).limit(1)) is not None:
            return False
        for username, full_name, roles, direccion in DEMO_USERS:
            create_user(
                s, username, full_name, DEMO_PASSWORD, roles, email=f"{username}@atiende.example", direccion=direccion
            )
    atiende.deploy_directory("sistema", note="Versión inicial (datos de demostración)")
    operador = Actor("operador", frozenset({"operador"}))
    for data in DEMO_CASES:
        atiende.start_case("atencion_correo_web", data, operador)
    return True
