"""Demo cases of every procedure beyond the e-mail/web channel, and valid data for their forms.

``seed`` runs after ``engine.demo.seed.seed`` when ``make run`` (or ``atiende demo``) fills an empty
database: a call waiting for the back office, a counter case, Defensa del Usuario cases on
each branch, a lotes baldíos operativo, a seguimiento run and a meeting of sugerencias. It is
kept out of ``engine.demo.seed.seed`` because the web tests count that seed's e-mail cases,
tickets and mail. ``SUBMISSIONS`` holds a valid submission of every task form named here;
tests drive whole cases with them (``tests.fixtures.desk``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from engine import clock
from engine.access.accounts import Actor
from engine.cases import runs
from engine.db.models import HumanTask

STARTS = {
    "atencion_llamadas": {
        "tipo_caso": "queja_reclamo",
        "ciudadano_nombre": "Pedro Castillo",
        "ciudadano_telefono": "6123-4567",
        "lugar_notificaciones": "Calle 12 de Pueblo Nuevo, casa 45; o al 6123-4567",
        "corregimiento": "pueblo_nuevo",
        "asunto": "Fuga de agua sin atender",
        "descripcion": "Llama para quejarse de una fuga de agua en la vía que reportó hace un mes y nadie ha atendido.",
    },
    "atencion_directa": {
        "tipo_caso": "reporte",
        "ciudadano_nombre": "Carmen Díaz",
        "ciudadano_cedula": "8-456-789",
        "ciudadano_telefono": "6555-1234",
        "lugar_notificaciones": "Barriada Don Bosco, calle 3, casa 12",
        "corregimiento": "juan_diaz",
        "domicilio": "Vía Domingo Díaz, frente a la estación",
        "asunto": "Vía en mal estado",
        "descripcion": "Huecos profundos en la calzada frente a la estación; ya hubo dos accidentes.",
    },
    "defensa_usuario_311": {
        "canal": "plataforma_311",
        "tipo_caso": "denuncia",
        "ciudadano_nombre": "Rogelio Vega",
        "ciudadano_telefono": "6987-6543",
        "lugar_notificaciones": "rogelio.vega@example.com",
        "ciudadano_email": "rogelio.vega@example.com",
        "corregimiento": "san_francisco",
        "domicilio": "Calle 74, edificio en construcción",
        "asunto": "Construcción sin permiso",
        "descripcion": "Construyen de noche, sin letrero de permiso, y ocupan la acera con materiales.",
    },
    "lotes_baldios": {
        "corregimiento": "pedregal",
        "asunto": "Operativo de lotes baldíos en Pedregal",
        "observaciones_programacion": "Lotes reportados por los vecinos de la calle principal.",
    },
}
QUEJA_311 = {
    **STARTS["defensa_usuario_311"],
    "canal": "presencial",
    "tipo_caso": "queja",
    "asunto": "Cobro indebido en el mercado",
    "descripcion": "Le cobraron dos veces la tasa del puesto.",
}
SUGERENCIA_311 = {
    **STARTS["defensa_usuario_311"],
    "canal": "presencial",
    "tipo_caso": "sugerencia",
    "asunto": "Horario extendido los sábados",
    "descripcion": "Atender también los sábados en la mañana.",
}

SUBMISSIONS: dict[str, dict[str, Any]] = {
    "revision_ticket_llamada": {
        "tipo_caso": "queja_reclamo",
        "ciudadano_email": "pedro.castillo@example.com",
        "domicilio": "Calle 12, casa 45",
        "observaciones_back_office": "Confirmado por teléfono.",
    },
    "actualizacion_seguimiento": {
        "seguimiento_actualizado": True,
        "casos_resueltos": 1,
        "resumen_avance": "Un caso resuelto; dos en inspección.",
    },
    "revision_consolidado": {"valoracion_consolidado": "al_dia"},
    "evaluacion_denuncia": {"decision_denuncia": "inspeccion", "fundamento_decision": "Hay riesgo para los peatones."},
    "informe_inspeccion": {
        "fecha_inspeccion": "2026-03-04",
        "hallazgos": "Materiales sobre la acera; sin permiso visible.",
        "resultado_inspeccion": "confirmado",
        "medidas_adoptadas": "Se citó al propietario.",
    },
    "respuesta_remision": {
        "respuesta_departamento": "Se ordenó la suspensión de la obra.",
        "fecha_respuesta_departamento": "2026-03-10",
    },
    "acta_reunion": {"fecha_reunion": "2026-03-04", "participantes": "Jefa del departamento y personal de atención."},
    "informe_homologado": {
        "resultados_operativos": "Dos operativos previos; cinco lotes notificados.",
        "lotes_reportados": "Calle principal y sector 3.",
    },
    "retiro_informe": {"fecha_retiro_informe": "2026-03-06", "entregado_por": "Secretaria de la Coordinación"},
    "ubicacion_lotes": {
        "fecha_ubicacion": "2026-03-09",
        "lotes": [
            {
                "ubicacion": "Calle principal, finca 12345",
                "corregimiento": "pedregal",
                "descripcion_lote": "Maleza alta.",
            },
            {"ubicacion": "Sector 3, lote 7", "corregimiento": "pedregal", "descripcion_lote": "Desechos y llantas."},
        ],
    },
    "informe_coordinacion": {
        "fecha_comunicacion": "2026-03-10",
        "instrucciones_gestion_ambiental": "Limpiar los dos lotes.",
        "informacion_call_center": "Dos lotes con propietarios notificados.",
    },
    "limpieza_lote": {"estado_limpieza": "limpiado", "fecha_limpieza": "2026-03-12"},
    "resultados_operativo": {
        "resultados_operativo": "Dos lotes ubicados y limpiados.",
        "sanciones": [
            {
                "ubicacion": "Calle principal, finca 12345",
                "tipo_sancion": "multa",
                "monto": 150,
                "numero_boleta": "CP-0012",
            }
        ],
    },
}

OPERADOR = Actor(
    "operador", frozenset({"operador", "operador_front", "operador_back_office", "operador_gestion_ciudadano"})
)
DEFENSA = Actor("defensa", frozenset({"defensa_usuario", "inspector"}))
LOTES = Actor(
    "lotes", frozenset({"coordinacion_corregidores", "planificacion_urbana", "gestion_ambiental", "call_center"})
)


def seed(atiende) -> list[str]:
    """Start the demo cases of every procedure beyond e-mail/web; the tickets, in order."""
    started = [
        atiende.start_case(process, STARTS[process], OPERADOR).ticket
        for process in ("atencion_llamadas", "atencion_directa")
    ]
    started += [
        atiende.start_case("defensa_usuario_311", data, DEFENSA).ticket
        for data in (STARTS["defensa_usuario_311"], QUEJA_311, SUGERENCIA_311)
    ]
    remitted = atiende.start_case(
        "defensa_usuario_311", {**STARTS["defensa_usuario_311"], "asunto": "Ruido nocturno"}, DEFENSA
    )
    _complete(
        atiende,
        remitted.case_id,
        "Task_evaluar_denuncia",
        DEFENSA,
        decision_denuncia="remitir",
        direccion="planificacion_urbana",
    )
    visit = (clock.now().astimezone(clock.PANAMA) + timedelta(days=7)).date().isoformat()
    started += [
        remitted.ticket,
        atiende.start_case("lotes_baldios", {**STARTS["lotes_baldios"], "fecha_visita": visit}, LOTES).ticket,
    ]
    # The seguimiento and the meeting would wait for their calendar: start one run of each now.
    started += runs.start_now(atiende, "seguimiento_consolidado", "StartEvent_semanal", "sistema")
    started += runs.start_now(atiende, "reunion_sugerencias", "StartEvent_reunion", "sistema")
    return started


def _complete(atiende, case_id: int, bpmn_id: str, actor: Actor, **data) -> None:
    with atiende.store.read() as s:
        task = s.scalar(select(HumanTask).where(HumanTask.case_id == case_id, HumanTask.bpmn_id == bpmn_id))
    atiende.complete_task(task.id, {**SUBMISSIONS[task.form], **data}, actor)
