"""The common tramitación: one diagram that every Atención al Ciudadano channel calls."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.db.models import ProcedureVersion
from tests.conftest import START
from tests.integration.test_versions import diagrams  # noqa: F401 - the fixture: an editable copy of processes/

CHANNELS = {"atencion_correo_web": {}, "atencion_llamadas": {}, "atencion_directa": {}}


def to_template(desk, process: str) -> int:
    case_id = desk.start(process)
    if process == "atencion_llamadas":
        desk.do(case_id, "Task_revisar_ticket_llamada")
    return case_id


def test_every_channel_version_carries_the_common_diagram(atiende, store):
    with store.read() as s:
        versions = {v.process_id: v for v in s.scalars(select(ProcedureVersion))}
    for process in CHANNELS:
        assert set(versions[process].bpmn) == {f"{process}.bpmn", "tramitacion_comun.bpmn"}
        assert "hoja_de_tramite" in versions[process].forms


def test_a_change_to_the_common_diagram_is_made_once_for_every_channel(atiende, desk, diagrams):  # noqa: F811
    path = diagrams / "tramitacion_comun.bpmn"
    text = path.read_text(encoding="utf-8")
    assert text.count('"R/P7D"') == 1
    path.write_text(text.replace('"R/P7D"', '"R/P2D"'), encoding="utf-8")
    deployed = {v.process_id: v.version for v in atiende.deploy_directory("analista", processes_dir=diagrams)}
    assert {process: deployed[process] for process in CHANNELS} == {process: 2 for process in CHANNELS}
    assert deployed["defensa_usuario_311"] == 1  # Defensa del Usuario does not call it
    for process in CHANNELS:
        case_id = to_template(desk, process)
        desk.to_follow_up(case_id)
        desk.wait(days=2, seconds=1)
        assert "Task_seguimiento_semanal" in desk.ready(case_id), process


@pytest.mark.parametrize(
    "opened,due",
    [
        (
            datetime(2026, 2, 2, 14, tzinfo=UTC),
            datetime(2026, 3, 2, 14, tzinfo=UTC),
        ),  # the month first
        (datetime(2026, 3, 2, 14, tzinfo=UTC), datetime(2026, 4, 1, 14, tzinfo=UTC)),  # 30 days first
    ],
)
def test_the_legal_term_is_30_days_or_the_month_whichever_comes_first(desk, opened, due):
    desk.clock.set(opened)
    case_id = desk.start()
    assert desk.case(case_id).due_at == due == desk.case(case_id).timer_due_at
    desk.clock.set(due)
    desk.atiende.run_timer_sweep()
    assert desk.case(case_id).status == "abierto"
    desk.wait(seconds=1)
    assert desk.case(case_id).status == "escalado a la unidad"


def test_the_enlace_task_inside_the_called_diagram_carries_the_direccion_of_the_case(desk):
    case_id = to_template(desk, "atencion_llamadas")
    desk.do(case_id, "Task_plantilla_queja_reclamo")
    desk.do(case_id, "Task_confeccionar_hoja", direccion="gestion_ambiental")
    desk.do(case_id, "Task_aprobar_hoja")
    assert desk.case(case_id).status == "en seguimiento"  # set by a script of the called diagram
    assert desk.task(case_id, "Task_acuse_recibo").direccion == "gestion_ambiental"
    # The timers inside the called diagram are indexed like any other: first the acuse's, then the legal term.
    assert desk.case(case_id).timer_due_at == START + timedelta(days=3)
    assert desk.wait(days=3, seconds=1).fired == 1
    assert desk.case(case_id).timer_due_at == desk.case(case_id).due_at == START + timedelta(days=30)
