"""Who may work a task is one rule, read by the row check and by the queries that list tasks."""

from __future__ import annotations

from sqlalchemy import select, update

from engine.access.accounts import Actor
from engine.access.permissions import (
    SEES_ALL_DIRECCIONES,
    direccion_scope,
    may_reach,
    may_work,
    may_work_now,
    refusal,
    workable,
    workable_lanes,
)
from engine.db.models import HumanTask

PEOPLE = [
    Actor("operador", frozenset({"operador"})),
    Actor("coordinador", frozenset({"coordinador"})),
    Actor("elena", frozenset({"enlace"}), "planificacion_urbana"),
    Actor("ernesto", frozenset({"enlace"}), "gestion_ambiental"),
    Actor("sin_direccion", frozenset({"enlace"})),
    Actor("varios", frozenset({"operador", "enlace"}), "gestion_ambiental"),
    Actor("auditor", frozenset({"auditor"})),
    Actor("enlace_coordinador", frozenset({"coordinador", "enlace"}), "gestion_ambiental"),
    Actor("enlace_operador_sin_direccion", frozenset({"operador", "enlace"})),
    # Two roles' lanes and an enlace's dirección: the lanes' parameters beside the «enlace» constant's.
    Actor("tres_roles", frozenset({"operador", "operador_front", "enlace"}), "gestion_ambiental"),
    Actor("cuatro_roles", frozenset({"operador", "coordinador", "auditor", "enlace"}), "planificacion_urbana"),
]


def test_the_query_and_the_row_check_agree_on_every_task_and_person(desk, store):
    """Tasks of several lanes and direcciones: the SQL condition selects exactly what may_work allows."""
    for direccion in ("planificacion_urbana", "gestion_ambiental"):
        case_id = desk.start()
        desk.do(case_id, "Task_plantilla_queja_reclamo")
        desk.do(case_id, "Task_confeccionar_hoja", direccion=direccion)
        desk.do(case_id, "Task_aprobar_hoja")  # the acuse now waits for that dirección's enlace
        desk.start()  # one more at its first task
    with store.read() as s:
        rows = list(s.scalars(select(HumanTask)))
        assert {t.lane for t in rows} >= {"operador", "enlace"}
        assert {t.direccion for t in rows if t.lane == "enlace"} == {"planificacion_urbana", "gestion_ambiental"}
        # One statement per shape, as the bandeja keeps them, each person's values given to it.
        statements = {}
        for person in PEOPLE:
            shape, values = workable_lanes(person)
            statement = statements.setdefault(shape, select(HumanTask.id).where(workable(shape)))
            by_query = set(s.scalars(statement, values))
            assert by_query == {t.id for t in rows if may_work(person, t)}, person.username
        assert len(statements) < len(PEOPLE)  # some people share a shape (elena and ernesto: an enlace each)
    assert any(may_work(PEOPLE[2], t) for t in rows) and not any(may_work(PEOPLE[4], t) for t in rows)
    # An enlace who is also an operador works the operador's tasks of their own dirección's cases only.
    varios = {t.direccion for t in rows if may_work(PEOPLE[5], t)}
    assert varios == {"gestion_ambiental"}, varios
    assert not any(may_work(PEOPLE[8], t) for t in rows)
    # A coordinator who is also an enlace approves for every dirección (coordinador sees all).
    assert {t.direccion for t in rows if t.lane == "coordinador"} <= {
        t.direccion for t in rows if may_work(PEOPLE[7], t)
    }


def test_a_task_claimed_by_someone_else_may_not_be_worked_now(desk, store):
    case_id = desk.start()
    task = desk.tasks(case_id)[0]
    operador, otro = PEOPLE[0], Actor("otro", frozenset({"operador"}))
    assert may_work_now(operador, task) and refusal(operador, task) is None
    with store.unit_of_work() as s:
        s.execute(update(HumanTask).where(HumanTask.id == task.id).values(assignee="otro"))
    claimed = desk.tasks(case_id)[0]
    assert may_work(operador, claimed) and not may_work_now(operador, claimed)
    assert refusal(operador, claimed) == "la tarea está asignada a otro"
    assert may_work_now(otro, claimed)
    assert refusal(PEOPLE[6], claimed) == "no tiene permiso para esta tarea"


def test_the_direccion_scope_of_combined_roles():
    """An enlace's dirección limits them whatever else they are, unless a role that sees all was granted."""
    for extra in ("operador", "analista", "defensa_usuario", "inspector", "call_center", "admin"):
        assert direccion_scope(Actor("x", frozenset({"enlace", extra}), "gestion_ambiental")) == "gestion_ambiental"
    for extra in sorted(SEES_ALL_DIRECCIONES):
        assert direccion_scope(Actor("x", frozenset({"enlace", extra}), "gestion_ambiental")) is None
    assert direccion_scope(Actor("x", frozenset({"operador"}))) is None
    assert direccion_scope(Actor("x", frozenset({"enlace", "operador"}))) == ""  # no dirección: no case
    assert may_reach(Actor("x", frozenset({"enlace", "operador"}), "gestion_ambiental"), "gestion_ambiental")
    assert not may_reach(Actor("x", frozenset({"enlace", "operador"}), "gestion_ambiental"), None)
    assert not may_reach(Actor("x", frozenset({"enlace", "operador"})), None)
    assert {"coordinador", "auditor"} == SEES_ALL_DIRECCIONES
