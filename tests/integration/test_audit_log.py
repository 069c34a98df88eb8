"""The auditor's reading of the trail: what changed from what to what, filters, export, the path taken."""

from datetime import date

from engine.audit import log as audit_log
from engine.db.models import Case
from tests.fixtures.desk import ENLACE


def trail_changes(store, case_id, kind):
    with store.read() as s:
        return [entry.changes for entry in audit_log.trail(s, case_id) if entry.event.kind == kind]


def test_data_a_task_overwrote_is_recorded_and_shown_before_and_after(desk, store):
    case_id = desk.start()
    desk.do(case_id, "Task_plantilla_queja_reclamo")
    desk.do(case_id, "Task_confeccionar_hoja", resumen="Primera versión del resumen.")
    desk.do(case_id, "Task_aprobar_hoja", decision_hoja="devolver", comentarios_aprobacion="Precise el lugar.")
    desk.do(case_id, "Task_confeccionar_hoja", resumen="Resumen corregido con el lugar.", prioridad="alta")
    [*_, redone] = desk.history(case_id, "tarea_completada")
    assert redone.detail["antes"] == {"resumen": "Primera versión del resumen.", "prioridad": "normal"}
    changes = trail_changes(store, case_id, "tarea_completada")[-1]
    assert {(c.field, c.before, c.after) for c in changes} == {
        ("resumen", "Primera versión del resumen.", "Resumen corregido con el lugar."),
        ("prioridad", "normal", "alta"),
    }


def test_status_and_deadline_changes_read_before_and_after(desk, store):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    [deadline] = trail_changes(store, case_id, "plazo_fijado")
    assert deadline[0].field == "fecha_limite" and deadline[0].before is None
    statuses = [c[0] for c in trail_changes(store, case_id, "estado_cambiado")]
    assert [(c.before, c.after) for c in statuses] == [("abierto", "en seguimiento")]


def test_the_log_filters_by_type_user_case_direccion_and_dates(desk, store):
    first = desk.start()
    desk.to_follow_up(first)
    desk.clock.advance(days=3)
    second = desk.start(asunto="Otro caso")
    with store.read() as s:
        ticket = s.get(Case, second).ticket

        def ids(**filters):
            return [row.event.id for row in audit_log.page(s, audit_log.Filters(**filters), size=500)[0]]

        everything = ids()
        assert everything == sorted(everything, reverse=True)
        assert all(r.event.kind == "caso_creado" for r in audit_log.page(s, audit_log.Filters(tipo="caso_creado"))[0])
        assert len(ids(tipo="caso_creado")) == 2
        assert {r.event.actor for r in audit_log.page(s, audit_log.Filters(usuario=ENLACE.username))[0]} == {"enlace"}
        assert {r.ticket for r in audit_log.page(s, audit_log.Filters(ticket=ticket))[0]} == {ticket}
        by_direccion = audit_log.page(s, audit_log.Filters(direccion="planificacion_urbana"), size=500)[0]
        assert by_direccion and {r.event.case_id for r in by_direccion} == {first}
        later = desk.clock.now().astimezone(audit_log.PANAMA).date()
        assert {r.event.case_id for r in audit_log.page(s, audit_log.Filters(desde=later), size=500)[0]} == {second}
        assert audit_log.page(s, audit_log.Filters(hasta=date(2026, 3, 1)))[0] == []


def test_the_log_pages_newest_first_and_exports_everything_oldest_first(desk, store):
    for n in range(3):
        desk.start(asunto=f"Caso {n}")
    with store.read() as s:
        page, more = audit_log.page(s, audit_log.Filters(), size=4)
        rest, last = audit_log.page(s, audit_log.Filters(), before_id=more, size=100)
        exported = [row.event.id for row in audit_log.export(s, audit_log.Filters())]
    assert more == page[-1].event.id and last is None
    assert [r.event.id for r in page + rest] == sorted(exported, reverse=True)
    assert exported == sorted(exported)


def test_the_path_of_a_case_marks_the_steps_done_the_current_task_and_the_armed_timers(desk, atiende, store):
    case_id = desk.start()
    desk.to_follow_up(case_id)
    desk.wait(days=7, hours=1)
    with store.read() as s:
        path = atiende.case_path(s, s.get(Case, case_id))
    assert {
        "Task_plantilla_queja_reclamo",
        "Task_confeccionar_hoja",
        "Task_aprobar_hoja",
        "Task_acuse_recibo",
        "Script_registrar_ticket",
    } <= path.done
    assert {"Task_respuesta_final", "Task_seguimiento_semanal"} <= path.current
    assert {"Timer_vencimiento_30_dias", "Timer_revision_quincenal"} <= path.waiting
    assert "Task_plantilla_reporte" not in path.done | path.current | path.waiting
