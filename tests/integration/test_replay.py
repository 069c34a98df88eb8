"""What-if before a deploy: real cases replayed on a draft, nothing written (engine.procedures.replay)."""

import pytest
from sqlalchemy import func, select

from engine.bpm import runtime
from engine.clock import PANAMA
from engine.db.models import Base
from engine.errors import DiagramError, FormErrors
from engine.procedures import replay
from engine.procedures import versions as procedures
from tests.fixtures.desk import BY_ROLE, PROCESS

TERM = "sumar_dias(fecha_inicio, 30"
APPROVED = "decision_hoja == 'aprobar'"
RETURNED = "decision_hoja == 'devolver'"
ARCHIVE = "<bpmn:script>hoja_archivada = True</bpmn:script>"


def deployed(atiende):
    """The files and forms of the version in force: what a fresh draft holds."""
    with atiende.store.read() as s:
        version = procedures.latest_version(s, PROCESS)
        return dict(version.bpmn), dict(version.forms)


def edited(files: dict[str, str], old: str, new: str) -> dict[str, str]:
    """The draft with ``old`` replaced in whichever diagram holds it (exactly one must)."""
    [name] = [n for n, text in files.items() if old in text]
    return {**files, name: files[name].replace(old, new)}


@pytest.fixture
def cases(desk):
    """Three cases at different points: after the template, after the hoja's approval, after the acuse."""
    started = desk.start()
    desk.do(started, "Task_plantilla_queja_reclamo")
    approved = desk.start()
    desk.do(approved, "Task_plantilla_queja_reclamo")
    desk.do(approved, "Task_confeccionar_hoja")
    desk.do(approved, "Task_aprobar_hoja")
    desk.wait(days=2)
    answered = desk.start()
    desk.to_follow_up(answered)
    desk.wait(hours=3)
    return {"started": started, "approved": approved, "answered": answered}


def by_case(outcomes) -> dict[int, replay.Outcome]:
    return {o.case_id: o for o in outcomes}


def row_counts(store) -> dict[str, int]:
    with store.read() as s:
        return {table.name: s.scalar(select(func.count()).select_from(table)) for table in Base.metadata.sorted_tables}


def test_an_unchanged_draft_replays_every_case_the_same_and_writes_nothing(atiende, cases):
    files, forms = deployed(atiende)
    before = row_counts(atiende.store)
    outcomes = replay.replay(atiende, PROCESS, files, forms)
    assert row_counts(atiende.store) == before
    assert {o.case_id: o.kind for o in outcomes} == dict.fromkeys(cases.values(), replay.SAME)


def test_a_changed_condition_sends_the_approved_cases_elsewhere(atiende, cases):
    files, forms = deployed(atiende)
    draft = edited(edited(files, RETURNED, "decision_hoja in ('devolver', 'aprobar')"), APPROVED, "False")
    before = row_counts(atiende.store)
    outcomes = by_case(replay.replay(atiende, PROCESS, draft, forms))
    assert row_counts(atiende.store) == before
    assert outcomes[cases["started"]].kind == replay.SAME
    for key in ("approved", "answered"):
        outcome = outcomes[cases[key]]
        assert outcome.kind == replay.OTHER_PATH, outcome
        assert outcome.detail.startswith("tras el paso 4 («Aprobar hoja de trámite»): "), outcome.detail
        assert "la nueva espera «Confeccionar hoja de trámite»" in outcome.detail
        assert (outcome.element_id, outcome.element_name) == ("Task_confeccionar_hoja", "Confeccionar hoja de trámite")


def test_a_changed_term_moves_every_deadline(atiende, cases, desk):
    files, forms = deployed(atiende)
    outcomes = replay.replay(atiende, PROCESS, edited(files, TERM, "sumar_dias(fecha_inicio, 45"), forms)
    assert {o.kind for o in outcomes} == {replay.OTHER_DEADLINE}
    for outcome in outcomes:
        recorded = desk.case(outcome.case_id).due_at
        assert outcome.deadline_before == recorded
        assert outcome.deadline_after > recorded
        assert outcome.detail == (
            f"{recorded.astimezone(PANAMA):%d/%m/%Y} → {outcome.deadline_after.astimezone(PANAMA):%d/%m/%Y}"
        )


def test_a_failing_script_is_named_with_its_reason(atiende, cases):
    files, forms = deployed(atiende)
    draft = edited(files, ARCHIVE, "<bpmn:script>hoja_archivada = variable_que_no_existe</bpmn:script>")
    outcomes = by_case(replay.replay(atiende, PROCESS, draft, forms))
    failed = outcomes[cases["answered"]]
    assert failed.kind == replay.FAILS
    assert (failed.element_id, failed.element_name) == ("Script_archivar_hoja", "Archivar hoja de trámite")
    assert "variable_que_no_existe" in failed.detail
    assert outcomes[cases["started"]].kind == outcomes[cases["approved"]].kind == replay.SAME


def test_a_submission_the_new_form_refuses_is_a_failure_of_that_task(atiende, cases):
    files, forms = deployed(atiende)
    schema = forms["aprobacion_hoja"]
    forms = {
        **forms,
        "aprobacion_hoja": {
            **schema,
            "required": [*schema.get("required", []), "motivo_nuevo"],
            "properties": {**schema["properties"], "motivo_nuevo": {"type": "string"}},
        },
    }
    outcomes = by_case(replay.replay(atiende, PROCESS, files, forms))
    failed = outcomes[cases["approved"]]
    assert failed.kind == replay.FAILS
    assert failed.element_id == "Task_aprobar_hoja"
    assert "motivo_nuevo" in failed.detail and "no pasan el formulario" in failed.detail


def test_a_case_without_its_submissions_is_not_reproducible(atiende, desk, monkeypatch):
    complete = desk.start()
    desk.do(complete, "Task_plantilla_queja_reclamo")
    recorded = runtime.audit.record

    def without_data(session, at, actor, kind, **kwargs):  # as a trail written before submissions were kept
        if kind == "tarea_completada":
            kwargs["detail"] = {k: v for k, v in kwargs["detail"].items() if k != "datos"}
        recorded(session, at, actor, kind, **kwargs)

    monkeypatch.setattr(runtime.audit, "record", without_data)
    older = desk.start()
    desk.do(older, "Task_plantilla_queja_reclamo")
    monkeypatch.undo()
    files, forms = deployed(atiende)
    outcomes = by_case(replay.replay(atiende, PROCESS, files, forms))
    assert outcomes[older].kind == replay.NOT_REPRODUCIBLE
    assert outcomes[older].detail == "faltan los datos enviados"
    assert outcomes[complete].kind == replay.SAME


def test_a_case_the_version_in_force_does_not_reproduce_is_not_compared(atiende, cases):
    """The control: a case that took the approved branch on v1 cannot be replayed on a v2 that has none."""
    files, forms = deployed(atiende)
    changed = edited(edited(files, RETURNED, "decision_hoja in ('devolver', 'aprobar')"), APPROVED, "False")
    atiende.deploy(changed, forms, "analista", "sin aprobación")
    outcomes = by_case(replay.replay(atiende, PROCESS, changed, forms))
    assert outcomes[cases["started"]].kind == replay.SAME
    for key in ("approved", "answered"):
        assert outcomes[cases[key]].kind == replay.NOT_REPRODUCIBLE
        assert "no reproduce el camino registrado" in outcomes[cases[key]].detail


def test_the_last_n_cases_are_replayed_and_n_is_bounded(atiende, cases):
    files, forms = deployed(atiende)
    assert [o.case_id for o in replay.replay(atiende, PROCESS, files, forms, n=2)] == [
        cases["answered"],
        cases["approved"],
    ]
    for wrong in (0, replay.MAX_CASES + 1):
        with pytest.raises(FormErrors):
            replay.replay(atiende, PROCESS, files, forms, n=wrong)


def test_a_draft_that_does_not_validate_or_define_the_procedure_is_refused(atiende, cases):
    files, forms = deployed(atiende)
    with pytest.raises(DiagramError):
        replay.replay(atiende, PROCESS, edited(files, ARCHIVE, "<bpmn:script>import os</bpmn:script>"), forms)
    with pytest.raises(DiagramError) as refused:
        replay.replay(atiende, PROCESS, edited(files, f'id="{PROCESS}"', 'id="otro_proceso"'), forms)
    assert "no define el proceso" in str(refused.value.problems)


def test_a_change_to_the_common_steps_replays_the_cases_of_every_caller(atiende, desk):
    """What a deploy of «Tramitación común» would reach (versions.with_callers): each channel's cases."""
    by_mail, by_phone = desk.start(), desk.start("atencion_llamadas")
    desk.do(by_phone, "Task_revisar_ticket_llamada")  # on to the common steps, which set the term
    with atiende.store.read() as s:
        common = procedures.latest_version(s, "tramitacion_comun")
        files, forms = dict(common.bpmn), dict(common.forms)
    outcomes = by_case(
        replay.replay(atiende, "tramitacion_comun", edited(files, TERM, "sumar_dias(fecha_inicio, 45"), forms)
    )
    assert {(o.process_id, o.kind) for o in outcomes.values()} == {
        ("atencion_correo_web", replay.OTHER_DEADLINE),
        ("atencion_llamadas", replay.OTHER_DEADLINE),
    }
    assert set(outcomes) == {by_mail, by_phone}


def test_cases_moved_by_a_message_by_loop_items_and_by_timers_replay_the_same(atiende, desk, store):
    """The control reproduces them: the acta's messages received, each lot's cleaning, the informe's timer."""
    from tests.integration.test_procedure_defensa_usuario import MEETING_DAY, SUGERENCIA_311, meeting
    from tests.integration.test_procedure_lotes_baldios import VISIT, to_the_lots

    sugerencia = desk.start("defensa_usuario_311", **SUGERENCIA_311)
    desk.wait(seconds=MEETING_DAY.total_seconds())
    acta = meeting(store)
    [task] = desk.tasks(acta.id)
    ticket = desk.case(sugerencia).ticket
    desk.do(acta.id, task.bpmn_id, tomadas_en_cuenta=[ticket], acuerdo_reunion="Se abrirá un piloto.")
    operativo = desk.start("lotes_baldios", fecha_visita=VISIT)
    desk.do(operativo, "Task_preparar_informe")
    to_the_lots(desk, operativo)
    desk.do(operativo, "Task_ubicar_lotes")
    desk.do(operativo, "Task_informar_operativo")
    cleanings = sorted((t for t in desk.tasks(operativo) if t.bpmn_id == "Task_limpiar_lote"), key=lambda t: t.name)
    actor = BY_ROLE["gestion_ambiental"]
    atiende.complete_task(cleanings[1].id, {"estado_limpieza": "propietario_notificado"}, actor)
    atiende.complete_task(cleanings[0].id, {"estado_limpieza": "limpiado", "fecha_limpieza": "12/03/2026"}, actor)
    desk.do(operativo, "Task_registrar_resultados")  # closed: its loop items are read from a settled state
    assert desk.case(operativo).status == "cerrado"
    assert [h.kind for h in desk.history(sugerencia, "mensaje_recibido")] == ["mensaje_recibido"]
    for process, case_id in (
        ("defensa_usuario_311", sugerencia),
        ("reunion_sugerencias", acta.id),
        ("lotes_baldios", operativo),
    ):
        with store.read() as s:
            version = procedures.latest_version(s, process)
            files, forms = dict(version.bpmn), dict(version.forms)
        outcomes = by_case(replay.replay(atiende, process, files, forms))
        assert outcomes[case_id].kind == replay.SAME, outcomes[case_id]
