"""A deploy stores each diagram set once; new cases take the latest version, running ones keep theirs."""

import json
import shutil

import pytest
from sqlalchemy import select

from engine.db.models import AuditEvent, ProcedureVersion
from engine.errors import DiagramError
from engine.facade import FORMS_DIR, PROCESSES_DIR
from tests.conftest import START
from tests.fixtures.desk import DAY

THIRTY = "primero(sumar_dias(fecha_inicio, 30, habiles=False), sumar_meses(fecha_inicio, 1))"


@pytest.fixture
def diagrams(tmp_path):
    """A copy of processes/ that a test may edit, as an analyst would."""
    target = tmp_path / "processes"
    shutil.copytree(PROCESSES_DIR, target)
    return target


def edit(diagrams, old, new):
    path = diagrams / "tramitacion_comun.bpmn"  # the common steps every channel calls
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def versions(store):
    with store.read() as s:
        return sorted((v.process_id, v.version, v.deployed_by) for v in s.scalars(select(ProcedureVersion)))


def correo_web(deployed):
    [version] = [v for v in deployed if v.process_id == "atencion_correo_web"]
    return version


def test_deploying_the_same_diagrams_again_stores_nothing_new(atiende, store):
    first = versions(store)
    assert ("atencion_correo_web", 1, "analista") in first
    again = atiende.deploy_directory("otra_persona")
    assert {v.version for v in again} == {1}
    assert versions(store) == first
    with store.read() as s:
        deploys = list(s.scalars(select(AuditEvent).where(AuditEvent.kind == "procedimiento_desplegado")))
    assert len(deploys) == len(first) and {d.actor for d in deploys} == {"analista"}


def test_a_changed_rule_in_the_diagram_changes_new_cases_only(atiende, desk, store, diagrams):
    old_case = desk.start()
    edit(diagrams, THIRTY, "sumar_dias(fecha_inicio, 45, habiles=False)")
    v2 = correo_web(atiende.deploy_directory("analista", note="plazo de 45 días", processes_dir=diagrams))
    assert v2.version == 2 and v2.note == "plazo de 45 días"
    new_case = desk.start()
    assert desk.case(old_case).due_at == START + 30 * DAY
    assert desk.case(new_case).due_at == START + 45 * DAY
    assert desk.case(old_case).procedure_version_id != desk.case(new_case).procedure_version_id
    desk.wait(days=30, seconds=1)
    assert desk.case(old_case).status == "escalado a la unidad"
    assert desk.case(new_case).status == "abierto"
    desk.wait(days=15)
    assert desk.case(new_case).status == "escalado a la unidad"


def test_changing_a_timer_cycle_in_the_diagram_changes_the_follow_up_rhythm(atiende, desk, diagrams):
    edit(diagrams, '"R/P7D"', '"R/P3D"')
    atiende.deploy_directory("analista", processes_dir=diagrams)
    case_id = desk.start()
    desk.to_follow_up(case_id)
    desk.wait(days=3, seconds=1)
    assert "Task_seguimiento_semanal" in desk.ready(case_id)


def test_changing_a_condition_in_the_diagram_changes_the_path(atiende, desk, diagrams):
    edit(diagrams, "decision_hoja == 'devolver'", "decision_hoja == 'devolver' or prioridad == 'alta'")
    edit(diagrams, "decision_hoja == 'aprobar'", "decision_hoja == 'aprobar' and prioridad != 'alta'")
    atiende.deploy_directory("analista", processes_dir=diagrams)
    case_id = desk.start()
    desk.do(case_id, "Task_plantilla_queja_reclamo")
    desk.do(case_id, "Task_confeccionar_hoja", prioridad="alta")
    desk.do(case_id, "Task_aprobar_hoja")
    assert desk.ready(case_id) == ["Task_confeccionar_hoja"]


def test_a_diagram_that_fails_its_checks_is_not_deployed(atiende, store, diagrams):
    before = versions(store)
    edit(diagrams, "decision_hoja == 'aprobar'", "__import__('os').system('id') == 0")
    with pytest.raises(DiagramError) as exc:
        atiende.deploy_directory("analista", processes_dir=diagrams)
    [problem] = exc.value.problems
    assert problem.element_id and "no permitida" in problem.message
    assert versions(store) == before


def test_the_version_keeps_its_diagrams_and_forms(atiende, store):
    with store.read() as s:
        version = s.scalar(select(ProcedureVersion).where(ProcedureVersion.process_id == "atencion_correo_web"))
    assert set(version.bpmn) == {"atencion_correo_web.bpmn", "tramitacion_comun.bpmn"}
    assert "hoja_de_tramite" in version.forms and "captura_correo_web" in version.forms
    assert version.bpmn["atencion_correo_web.bpmn"] == (PROCESSES_DIR / "atencion_correo_web.bpmn").read_text(
        encoding="utf-8"
    )
    assert (
        version.forms["acuse_recibo"]["title"]
        == json.loads((FORMS_DIR / "acuse_recibo.json").read_text(encoding="utf-8"))["title"]
    )
