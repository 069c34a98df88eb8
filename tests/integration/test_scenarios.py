"""Diagram tests: the scenarios beside a diagram run on every validate and deploy, which refuse on failure."""

import json
import shutil

import pytest
from sqlalchemy import select

from engine import cli
from engine.bpm import parsing as bpmn
from engine.bpm.state.serializer import InstanceSerializer
from engine.db.models import ProcedureScenarios, ProcedureVersion
from engine.errors import DiagramError
from engine.facade import FORMS_DIR, PROCESSES_DIR
from engine.procedures import publishing

TERM = "sumar_dias(fecha_inicio, 30"
TERM_STEP = 'name="Registrar ticket y plazo legal"'
SCENARIOS = "atencion_correo_web.scenarios.json"


@pytest.fixture
def diagrams(tmp_path):
    """A copy of processes/ (diagrams and scenarios) that a test may edit."""
    target = tmp_path / "processes"
    shutil.copytree(PROCESSES_DIR, target)
    return target


def edit_term(diagrams, days: int) -> None:
    """Change the legal term in whichever diagram holds it (the script «Registrar ticket y plazo legal»)."""
    [path] = [
        p for p in diagrams.glob("*.bpmn") if TERM in (text := p.read_text(encoding="utf-8")) and TERM_STEP in text
    ]
    path.write_text(
        path.read_text(encoding="utf-8").replace(TERM, f"sumar_dias(fecha_inicio, {days}"), encoding="utf-8"
    )


def scenario_document(diagrams) -> dict:
    return json.loads((diagrams / SCENARIOS).read_text(encoding="utf-8"))


def write_scenarios(diagrams, document) -> None:
    (diagrams / SCENARIOS).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


def refused(diagrams) -> list[bpmn.Problem]:
    with pytest.raises(DiagramError) as exc:
        publishing.validate(publishing.read_directory(diagrams, FORMS_DIR), InstanceSerializer())
    return exc.value.problems


def test_the_real_scenarios_of_the_email_procedure_pass():
    diagram_set = publishing.read_directory(PROCESSES_DIR, FORMS_DIR)
    names = [s["nombre"] for s in diagram_set.scenario_sets["atencion_correo_web"].scenarios]
    assert len(names) >= 4 and any("30 días" in n for n in names)
    candidates = publishing.validate(diagram_set, InstanceSerializer())
    assert "atencion_correo_web" in {c.process_id for c in candidates}


def test_a_changed_deadline_fails_the_scenarios_that_state_it(diagrams):
    edit_term(diagrams, 45)
    found = refused(diagrams)
    assert {p.file for p in found} == {SCENARIOS}
    messages = " | ".join(p.message for p in found)
    assert "escenario «Queja respondida a tiempo»: paso 1: se esperaba un plazo de 30 días y es de " in messages
    assert "«Sin respuesta al vencer los 30 días: el caso se escala a la unidad»" in messages
    assert "se esperaba el estado «escalado a la unidad»" in messages


def test_data_a_form_no_longer_accepts_fails_the_scenario_naming_the_field(diagrams):
    document = scenario_document(diagrams)
    del document["escenarios"][0]["pasos"][1]["datos"]["hechos"]
    write_scenarios(diagrams, document)
    [problem] = refused(diagrams)
    assert (
        "paso 2: los datos de «Task_plantilla_queja_reclamo» no son válidos: hechos: Este campo es obligatorio."
        in problem.message
    )


def test_a_step_on_a_task_that_is_not_pending_says_what_is_pending(diagrams):
    document = scenario_document(diagrams)
    document["escenarios"][0]["pasos"].insert(1, {"tarea": "Task_respuesta_final", "datos": {}})
    write_scenarios(diagrams, document)
    [problem] = refused(diagrams)
    assert (
        "paso 2: la tarea «Task_respuesta_final» no está pendiente (pendientes: Task_plantilla_queja_reclamo)"
        in problem.message
    )


def test_a_malformed_scenario_file_is_refused_before_anything_runs(diagrams):
    document = scenario_document(diagrams)
    document["escenarios"][1]["pasos"][0] = {"esperar": "treinta días"}
    document["escenarios"][2]["pasos"][0] = {"hacer": "algo"}
    write_scenarios(diagrams, document)
    messages = [p.message for p in refused(diagrams)]
    assert any("paso 1: «esperar» debe ser una duración ISO 8601" in m for m in messages)
    assert any(
        "paso 1: cada paso debe tener exactamente una de «tarea», «esperar» o «comprobar»" in m for m in messages
    )
    (diagrams / SCENARIOS).write_text("{ no es json", encoding="utf-8")
    [problem] = refused(diagrams)
    assert problem.file == SCENARIOS and problem.message.startswith("JSON inválido")


def test_the_command_line_validates_without_a_database_and_exits_non_zero_with_the_list(diagrams, capsys):
    assert cli.main(["validate", "--processes", str(diagrams)]) == 0
    assert "atencion_correo_web: válido" in capsys.readouterr().out
    edit_term(diagrams, 45)
    assert cli.main(["validate", "--processes", str(diagrams)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Los diagramas no pasan la validación:") and "Queja respondida a tiempo" in err


def test_the_command_line_deploy_refuses_a_failing_set_and_stores_a_passing_one(store, diagrams, capsys):
    edit_term(diagrams, 45)
    assert cli.main(["--database-url", store.url, "deploy", "--processes", str(diagrams), "--by", "ana"]) == 1
    assert "No se puede desplegar:" in capsys.readouterr().err
    with store.read() as s:
        assert s.scalar(select(ProcedureVersion.id)) is None
    edit_term_back = diagrams.parent / "back"
    shutil.copytree(PROCESSES_DIR, edit_term_back)
    assert (
        cli.main(
            [
                "--database-url",
                store.url,
                "deploy",
                "--processes",
                str(edit_term_back),
                "--by",
                "ana",
                "--note",
                "desde git",
            ]
        )
        == 0
    )
    with store.read() as s:
        version = s.scalar(select(ProcedureVersion).where(ProcedureVersion.process_id == "atencion_correo_web"))
        kept = s.get(ProcedureScenarios, "atencion_correo_web")
    assert (version.version, version.deployed_by, version.note) == (1, "ana", "desde git")
    assert kept.scenarios == scenario_document(edit_term_back)
