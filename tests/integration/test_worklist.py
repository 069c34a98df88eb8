"""The bandeja's query and task assignment, on SQLite and PostgreSQL."""

import threading

import pytest
from sqlalchemy import select

from engine.access.accounts import Actor, create_user
from engine.cases import assignment
from engine.cases.finding import worklist
from engine.db.models import AuditEvent, HumanTask
from engine.errors import AssignmentRefused, Forbidden
from tests.fixtures.desk import COORDINADOR, ENLACE, OPERADOR

OTRO = Actor("operador2", frozenset({"operador"}))
AMBIENTAL = Actor("enlace_ambiental", frozenset({"enlace"}), "gestion_ambiental")


def page(atiende, actor, **filters):
    with atiende.store.read() as s:
        return worklist.page(s, actor, worklist.Filters(**filters), atiende.now())


def templates(desk, n, **overrides):
    return [desk.start(**overrides) for _ in range(n)]


def test_counts_filters_and_paging(atiende, desk, frozen_clock):
    quejas = templates(desk, 3)
    reportes = templates(desk, 2, tipo_caso="reporte", canal="pagina_web", corregimiento="calidonia")
    result = page(atiende, OPERADOR)
    assert result.counts.total == 5 and result.counts.unclaimed == 5 and result.counts.mine == 0
    assert sorted(r.case_id for r in result.rows) == quejas + reportes
    assert {r.case_id for r in page(atiende, OPERADOR, case_type="reporte").rows} == set(reportes)
    assert {r.case_id for r in page(atiende, OPERADOR, channel="pagina_web", corregimiento="calidonia").rows} == set(
        reportes
    )
    assert page(atiende, OPERADOR, corregimiento="tocumen").counts.total == 0

    paged = page(atiende, OPERADOR, page=2, order="recibido_desc")
    assert paged.pages == 1 and paged.filters.page == 1  # a page past the end shows the last one
    with atiende.store.read() as s:
        pages = [worklist.page(s, OPERADOR, worklist.Filters(page=n), atiende.now(), size=2) for n in (1, 2, 3)]
    assert [p.pages for p in pages] == [3, 3, 3] and [len(p.rows) for p in pages] == [2, 2, 1]
    assert sorted(r.case_id for p in pages for r in p.rows) == quejas + reportes  # each task on one page

    frozen_clock.advance(hours=23)  # the templates' one-day plazo is near
    assert page(atiende, OPERADOR, due="pronto").counts.total == 5
    assert page(atiende, OPERADOR).counts.due_soon == 5
    frozen_clock.advance(hours=2)
    assert page(atiende, OPERADOR, due="vencidas").counts.total == 5
    assert page(atiende, OPERADOR, due="a_tiempo").counts.total == 0
    assert page(atiende, COORDINADOR).counts.total == 0  # not the coordinator's lane


def test_an_enlace_sees_only_the_tasks_of_their_direccion(atiende, desk):
    case_id = desk.start()
    for bpmn_id in (
        next(t for t in desk.ready(case_id) if t.startswith("Task_plantilla_")),
        "Task_confeccionar_hoja",
        "Task_aprobar_hoja",
    ):
        desk.do(case_id, bpmn_id)
    assert [r.name for r in page(atiende, ENLACE).rows] == ["Confirmar acuse de recibo"]
    assert page(atiende, AMBIENTAL).counts.total == 0  # the same shape's statements, another dirección
    assert page(atiende, Actor("sin_direccion", frozenset({"enlace"}))).counts.total == 0


def test_claim_release_and_reassign_are_audited_and_move_the_task_between_bandejas(atiende, desk):
    with atiende.store.unit_of_work() as s:
        create_user(s, "operador2", "Olga Operadora", "x" * 12, ["operador"])
        create_user(s, "enlace_ambiental", "Ernesto", "x" * 12, ["enlace"], direccion="gestion_ambiental")
    case_id = desk.start()
    [task] = desk.tasks(case_id)
    assignment.claim(atiende, task.id, OPERADOR)
    assignment.claim(atiende, task.id, OPERADOR)  # again: nothing changes, nothing audited
    assert page(atiende, OPERADOR, scope="mias").counts.total == 1
    assert page(atiende, OTRO).counts.total == 0  # claimed by someone else: gone from Olga's bandeja
    with pytest.raises(AssignmentRefused, match="La tarea ya la tomó operador"):
        assignment.claim(atiende, task.id, OTRO)
    with pytest.raises(Forbidden):
        assignment.release(atiende, task.id, OTRO)
    with pytest.raises(Forbidden, match="la tarea está asignada a operador"):
        desk.do(case_id, task.bpmn_id, actor=OTRO)

    with pytest.raises(Forbidden):
        assignment.reassign(atiende, task.id, "operador2", OPERADOR)
    with pytest.raises(AssignmentRefused, match="no puede atender esta tarea"):
        assignment.reassign(atiende, task.id, "enlace_ambiental", COORDINADOR)
    with pytest.raises(AssignmentRefused, match="No hay un usuario activo"):
        assignment.reassign(atiende, task.id, "nadie", COORDINADOR)
    assignment.reassign(atiende, task.id, "operador2", COORDINADOR)
    equipo = page(atiende, COORDINADOR, scope="equipo")
    assert [(r.task_id, r.assignee) for r in equipo.rows] == [(task.id, "operador2")]
    assert page(atiende, OPERADOR, scope="equipo").filters.scope == "todas"  # only coordinators see the team

    assignment.release(atiende, task.id, COORDINADOR)
    assert page(atiende, OTRO, scope="disponibles").counts.total == 1
    kinds = [
        (e.kind, e.actor, e.detail.get("antes"), e.detail.get("despues"))
        for e in desk.history(case_id)
        if e.kind.startswith("tarea_")
    ]
    assert kinds == [
        ("tarea_tomada", "operador", None, None),
        ("tarea_reasignada", "coordinador", "operador", "operador2"),
        ("tarea_liberada", "coordinador", "operador2", None),
    ]


def test_two_people_claiming_at_once_one_wins(atiende, desk):
    case_id = desk.start()
    [task] = desk.tasks(case_id)
    outcomes, barrier = [], threading.Barrier(2)

    def try_claim(actor):
        barrier.wait()
        try:
            assignment.claim(atiende, task.id, actor)
            outcomes.append(actor.username)
        except AssignmentRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=try_claim, args=(a,)) for a in (OPERADOR, OTRO)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes)[1] == "refused" and len(outcomes) == 2
    with atiende.store.read() as s:
        assert s.get(HumanTask, task.id).assignee == sorted(outcomes)[0]
        claims = s.scalars(select(AuditEvent).where(AuditEvent.kind == "tarea_tomada")).all()
        assert len(claims) == 1


def test_a_claimed_task_completed_leaves_no_assignment_behind(atiende, desk):
    case_id = desk.start()
    [task] = desk.tasks(case_id)
    assignment.claim(atiende, task.id, OPERADOR)
    desk.do(case_id, task.bpmn_id)
    assert all(t.assignee is None for t in desk.tasks(case_id))  # the next task is for anyone again


def test_people_of_one_shape_share_its_statements_and_each_reads_their_own(atiende, desk, store, frozen_clock):
    """The statements are built once for everyone whose page has the same shape (their lanes, the filters
    set, the order): each person's and each filter's values are parameters, and so is the moment."""
    first, second = desk.start(), desk.start()
    with store.unit_of_work() as s:
        s.get(HumanTask, desk.tasks(first)[0].id).assignee = OPERADOR.username
        s.get(HumanTask, desk.tasks(second)[0].id).assignee = OTRO.username
    worklist._statements.cache_clear()
    for person, case_id in ((OPERADOR, first), (OTRO, second), (OPERADOR, first)):
        mine = page(atiende, person, scope="mias")
        assert [r.case_id for r in mine.rows] == [case_id] and mine.counts.mine == 1, person.username
    assert worklist._statements.cache_info().currsize == 1  # one shape, built once
    reporte = desk.start(tipo_caso="reporte")
    for tipo, expected in (("reporte", {reporte}), ("queja_reclamo", {first})):
        assert {r.case_id for r in page(atiende, OPERADOR, case_type=tipo).rows} == expected, tipo
    assert page(atiende, OPERADOR, due="vencidas").counts.total == 0
    frozen_clock.advance(hours=25)  # the templates' one-day plazo has passed
    assert page(atiende, OPERADOR, due="vencidas").counts.total == 2
