"""Waiting cases move to a new version only when asked, with a preview, and keep their armed deadlines."""

import shutil

import pytest
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from sqlalchemy import select

from engine import clock
from engine.audit import chain as audit_chain
from engine.bpm.runtime import timer_due, waiting_timers
from engine.db import case_rows
from engine.db.models import AuditEvent, Case
from engine.facade import PROCESSES_DIR
from engine.procedures import case_migration
from tests.conftest import START
from tests.fixtures.desk import DAY

BIWEEKLY = '"R/P14D"'


@pytest.fixture
def diagrams(tmp_path):
    target = tmp_path / "processes"
    shutil.copytree(PROCESSES_DIR, target)
    return target


def edit(diagrams, old: str, new: str) -> None:
    """Replace ``old`` in the one diagram of the e-mail procedure's set that holds it."""
    paths = [
        p
        for p in diagrams.glob("*.bpmn")
        if old in p.read_text(encoding="utf-8") and p.name in {"atencion_correo_web.bpmn", "tramitacion_comun.bpmn"}
    ]
    assert paths, f"{old} not found"
    for path in paths:
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def deploy_v2(atiende, diagrams) -> int:
    versions = atiende.deploy_directory("analista", note="v2", processes_dir=diagrams)
    return next(v.id for v in versions if v.process_id == "atencion_correo_web")


def plan_for(atiende, case_id, target_id):
    with atiende.store.read() as s:
        return case_migration.preview(atiende, s, s.get(Case, case_id), atiende.procedure(s, target_id))


def armed(atiende, case_id) -> dict[str, object]:
    with atiende.store.read() as s:
        case = s.get(Case, case_id)
        procedure = atiende.procedure(s, case.procedure_version_id)
        workflow = atiende.serializer.loads(
            case_rows.stored_workflow(s, case_id), procedure.spec, procedure.subprocess_specs
        )
    return {t.task_spec.bpmn_id: timer_due(t) for t in waiting_timers(workflow)}


def test_spiffworkflow_alone_would_move_an_armed_timer(atiende, desk, diagrams):
    """Why the product restores timers: the library re-arms a migrated timer from the migration time."""
    case_id = desk.start()
    desk.to_follow_up(case_id)
    edit(diagrams, BIWEEKLY, '"R/P10D"')
    target_id = deploy_v2(atiende, diagrams)
    desk.clock.advance(days=2)
    with atiende.store.read() as s, clock.using(desk.clock):
        case = s.get(Case, case_id)
        old, new = atiende.procedure(s, case.procedure_version_id), atiende.procedure(s, target_id)
        workflow = atiende.serializer.loads(case_rows.stored_workflow(s, case_id), old.spec, old.subprocess_specs)
        top, subs = diff_workflow(atiende.serializer.spec_registry, workflow, new.spec, new.subprocess_specs)
        migrate_workflow(top, workflow, new.spec)
        for sub_id, sub_diff in subs.items():
            sub = workflow.subprocesses[sub_id]
            migrate_workflow(sub_diff, sub, new.subprocess_specs[sub.spec.name])
        moved = {t.task_spec.bpmn_id: timer_due(t) for t in waiting_timers(workflow)}
    assert moved["Timer_revision_quincenal"] == START + 2 * DAY + 10 * DAY  # not START + 14 days


def test_the_preview_shows_what_changes_and_the_migration_keeps_every_armed_deadline(atiende, desk, diagrams):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    before = armed(atiende, case_id)
    assert before["Timer_revision_quincenal"] == START + 14 * DAY
    edit(diagrams, BIWEEKLY, '"R/P10D"')
    edit(diagrams, "sumar_dias(fecha_inicio, 30", "sumar_dias(fecha_inicio, 45")
    target_id = deploy_v2(atiende, diagrams)
    desk.clock.advance(days=2)

    plan = plan_for(atiende, case_id, target_id)
    assert plan.migratable and (plan.from_version, plan.to_version) == (1, 2)
    assert plan.pending_before == plan.pending_after == ["Registrar respuesta final al ciudadano"]
    assert {t.name: (t.before, t.kept) for t in plan.timers}["Revisión quincenal"] == (START + 14 * DAY, True)
    assert all(t.kept for t in plan.timers)
    assert "Revisión quincenal" in {c.element.name for c in plan.changed_pending}
    assert "Registrar ticket y plazo legal" in {e.name for e in plan.changed_done}  # already ran: not re-run

    [outcome] = case_migration.migrate(atiende, [case_id], target_id, "analista")
    assert outcome.migrated, outcome.message
    case = desk.case(case_id)
    assert case.procedure_version_id == target_id
    assert armed(atiende, case_id) == before  # the 30-day deadline and both follow-ups stay where they were
    assert case.due_at == START + 30 * DAY
    desk.wait(days=12, hours=1)  # day 14: the biweekly review fires when it was armed to
    assert "Task_revision_quincenal" in desk.ready(case_id)
    desk.wait(days=10)  # then the new rhythm: every 10 days
    assert desk.ready(case_id).count("Task_revision_quincenal") == 1  # renewed, not piled up
    renewed = desk.history(case_id, "tarea_renovada")
    assert [e.detail["tarea"] for e in renewed if e.detail["tarea"] == "Task_revision_quincenal"]
    desk.wait(days=7)  # day 31: the legal term of the case's own version, not 45 days
    assert desk.case(case_id).status == "escalado a la unidad"


def test_a_case_waiting_on_a_step_the_new_version_removed_is_left_as_it_was(atiende, desk, diagrams):
    waiting = desk.start()
    desk.to_follow_up(waiting)
    early = desk.start()
    edit(diagrams, "Task_respuesta_final", "Task_respuesta_definitiva")
    target_id = deploy_v2(atiende, diagrams)

    plan = plan_for(atiende, waiting, target_id)
    assert not plan.migratable
    assert any(
        "«Registrar respuesta final al ciudadano»" in b and "ya no existe en la versión 2" in b for b in plan.blockers
    )
    revision = desk.case(waiting).revision

    outcomes = {o.case_id: o for o in case_migration.migrate(atiende, [waiting, early], target_id, "analista")}
    assert not outcomes[waiting].migrated and outcomes[early].migrated
    assert desk.case(waiting).procedure_version_id != target_id and desk.case(waiting).revision == revision
    assert desk.case(early).procedure_version_id == target_id
    for step in ("Task_plantilla_queja_reclamo", "Task_confeccionar_hoja", "Task_aprobar_hoja", "Task_acuse_recibo"):
        desk.do(early, step)
    assert desk.ready(early) == ["Task_respuesta_definitiva"]  # the migrated case follows the new version


def test_each_migration_is_an_audit_event_with_the_versions_before_and_after(atiende, desk, diagrams, store):
    case_id = desk.start()
    edit(diagrams, BIWEEKLY, '"R/P10D"')
    target_id = deploy_v2(atiende, diagrams)
    case_migration.migrate(atiende, [case_id], target_id, "analista")
    with store.read() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.kind == "caso_migrado"))
        assert audit_chain.verify(s).intact
    assert (event.actor, event.case_id) == ("analista", case_id)
    assert event.detail["antes"] == {"version": 1} and event.detail["despues"] == {"version": 2}
    assert {t["nombre"] for t in event.detail["temporizadores_conservados"]} >= {"Vencen los 30 días"}
    assert [c.id for c in _waiting(store, target_id)] == []


def test_closed_cases_are_not_offered_and_cannot_be_migrated(atiende, desk, diagrams, store):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    desk.do(case_id, "Task_respuesta_final")
    edit(diagrams, BIWEEKLY, '"R/P10D"')
    target_id = deploy_v2(atiende, diagrams)
    assert _waiting(store, target_id) == []
    [outcome] = case_migration.migrate(atiende, [case_id], target_id, "analista")
    assert not outcome.migrated and "cerrado" in outcome.message


def _waiting(store, target_id):
    with store.read() as s:
        return case_migration.waiting_cases(s, "atencion_correo_web", target_id)
