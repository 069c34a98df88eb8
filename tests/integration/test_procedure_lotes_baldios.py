"""Lotes baldíos: the informe is picked up the working day before the visit; one cleaning task per lot."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.errors import FormErrors
from tests.fixtures.desk import BY_ROLE
from tests.integration.test_versions import diagrams  # noqa: F401 - the fixture: an editable copy of processes/

PROCESS = "lotes_baldios"
PANAMA = ZoneInfo("America/Panama")
VISIT = "2026-03-09"  # a Monday
FRIDAY_BEFORE = datetime(2026, 3, 6, tzinfo=PANAMA)  # the working day before the visit, from midnight


def operativo(desk, **changes) -> int:
    case_id = desk.start(PROCESS, fecha_visita=VISIT, **changes)
    desk.do(case_id, "Task_preparar_informe")
    return case_id


def to_the_lots(desk, case_id):
    desk.clock.set(FRIDAY_BEFORE + timedelta(seconds=1))
    desk.atiende.run_timer_sweep()
    desk.do(case_id, "Task_retirar_informe")


def test_an_operativo_is_scheduled_for_a_corregiduria_and_a_date(desk):
    case = desk.case(desk.start(PROCESS, fecha_visita=VISIT))
    assert case.ticket == "LB-2026-000001" and case.case_type == "operativo_lotes_baldios"
    assert case.corregimiento == "pedregal" and case.channel is None
    assert desk.ready(case.id) == ["Task_preparar_informe"]
    assert desk.task(case.id, "Task_preparar_informe").lane == "coordinacion_corregidores"


def test_the_pick_up_is_due_the_working_day_before_the_visit_and_not_before(desk):
    case_id = operativo(desk)
    assert desk.ready(case_id) == []
    assert desk.case(case_id).timer_due_at == FRIDAY_BEFORE
    desk.clock.set(FRIDAY_BEFORE - timedelta(seconds=1))
    desk.atiende.run_timer_sweep()
    assert desk.ready(case_id) == []
    desk.clock.set(FRIDAY_BEFORE + timedelta(seconds=1))
    desk.atiende.run_timer_sweep()
    task = desk.task(case_id, "Task_retirar_informe")
    assert task.lane == "planificacion_urbana"
    assert task.due_at == FRIDAY_BEFORE + timedelta(hours=17, seconds=1)  # by 17:00 that Friday
    [fired] = desk.history(case_id, "temporizador_disparado")
    assert fired.detail["temporizadores"] == ["Un día hábil antes de la visita"]


def test_a_late_informe_is_picked_up_at_once(desk):
    desk.clock.set(datetime(2026, 3, 8, 10, tzinfo=PANAMA))  # Sunday: the Friday before has passed
    case_id = operativo(desk)
    assert desk.ready(case_id) == ["Task_retirar_informe"]  # in the same step, no sweep needed
    assert desk.case(case_id).timer_due_at is None


def test_each_lot_located_gets_its_cleaning_task_and_the_call_center_records_the_sanctions(desk):
    case_id = operativo(desk)
    to_the_lots(desk, case_id)
    desk.do(case_id, "Task_ubicar_lotes")
    desk.do(case_id, "Task_informar_operativo")
    assert desk.ready(case_id) == ["Task_limpiar_lote", "Task_limpiar_lote", "Task_registrar_resultados"]
    cleanings = sorted((t for t in desk.tasks(case_id) if t.bpmn_id == "Task_limpiar_lote"), key=lambda t: t.name)
    assert [t.name for t in cleanings] == [
        "Limpiar el lote: Calle principal, finca 12345",
        "Limpiar el lote: Sector 3, lote 7",
    ]
    assert {t.lane for t in cleanings} == {"gestion_ambiental"}
    assert desk.task(case_id, "Task_registrar_resultados").lane == "call_center"
    actor = BY_ROLE["gestion_ambiental"]
    desk.atiende.complete_task(cleanings[1].id, {"estado_limpieza": "propietario_notificado"}, actor)
    desk.atiende.complete_task(cleanings[0].id, {"estado_limpieza": "limpiado", "fecha_limpieza": "12/03/2026"}, actor)
    limpiezas = desk.case(case_id).data["limpiezas"]
    assert [(e["n"], e["lote"]["ubicacion"], e["estado_limpieza"]) for e in limpiezas] == [
        (1, "Calle principal, finca 12345", "limpiado"),
        (2, "Sector 3, lote 7", "propietario_notificado"),
    ]
    assert "estado_limpieza" not in desk.case(case_id).data  # no lot's answer overwrites another's
    assert desk.case(case_id).status == "abierto"
    desk.do(case_id, "Task_registrar_resultados")
    case = desk.case(case_id)
    assert case.status == "cerrado" and case.data["sanciones"][0]["numero_boleta"] == "CP-0012"


def test_with_no_lot_located_only_the_call_center_has_work(desk):
    case_id = operativo(desk)
    to_the_lots(desk, case_id)
    desk.do(case_id, "Task_ubicar_lotes", lotes=[])
    desk.do(case_id, "Task_informar_operativo")
    assert desk.ready(case_id) == ["Task_registrar_resultados"]
    desk.do(case_id, "Task_registrar_resultados")
    assert desk.case(case_id).status == "cerrado"


def test_a_lot_must_name_a_corregimiento_of_the_catalogue(desk):
    case_id = operativo(desk)
    to_the_lots(desk, case_id)
    with pytest.raises(FormErrors) as exc:
        desk.do(
            case_id,
            "Task_ubicar_lotes",
            lotes=[
                {"ubicacion": "Finca 1", "corregimiento": "narnia", "descripcion_lote": "Maleza."},
                {"ubicacion": "Finca 2", "descripcion_lote": "Maleza."},
            ],
        )
    assert exc.value.errors == {
        "lotes.0.corregimiento": "Elija una opción válida de la lista.",
        "lotes.1.corregimiento": "Este campo es obligatorio.",
    }


def test_changing_the_pick_up_day_in_the_diagram_moves_the_timer(atiende, desk, diagrams):  # noqa: F811
    path = diagrams / "lotes_baldios.bpmn"
    text = path.read_text(encoding="utf-8")
    rule = "sumar_dias(fecha_visita, -1, habiles=True)"
    assert rule in text
    path.write_text(text.replace(rule, "sumar_dias(fecha_visita, -2, habiles=False)"), encoding="utf-8")
    atiende.deploy_directory("analista", note="retiro dos días antes", processes_dir=diagrams)
    case_id = operativo(desk)
    assert desk.case(case_id).timer_due_at == datetime(2026, 3, 7, tzinfo=PANAMA)  # Saturday 7 March
