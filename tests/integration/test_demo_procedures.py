"""`make run` shows a case of every procedure: the demo seed starts them on an empty database."""

from sqlalchemy import select

from engine.db.models import Case, HumanTask
from engine.demo import procedures as demo_procedures
from engine.demo import seed as demo
from engine.facade import Atiende


def test_the_demo_starts_a_case_of_every_procedure_each_waiting_for_someone(store, frozen_clock):
    atiende = Atiende(store, frozen_clock)
    assert demo.seed(atiende)
    tickets = demo_procedures.seed(atiende)
    assert [t[:2] for t in tickets] == ["AC", "AC", "DU", "DU", "DU", "DU", "LB", "SG", "RS"]
    with store.read() as s:
        cases = {c.ticket: c for c in s.scalars(select(Case))}
        waiting = {
            (cases[t].version.process_id, task.lane)
            for t in tickets
            for task in s.scalars(select(HumanTask).where(HumanTask.case_id == cases[t].id))
        }
    assert {process for process, _lane in waiting} == {
        "atencion_llamadas",
        "atencion_directa",
        "defensa_usuario_311",
        "lotes_baldios",
        "seguimiento_consolidado",
        "reunion_sugerencias",
    }
    assert ("seguimiento_consolidado", "enlace") in waiting and ("defensa_usuario_311", "inspector") in waiting
    assert cases["SG-2026-000001"].direccion == "planificacion_urbana"  # the remitted denuncia's dirección
    assert cases["RS-2026-000001"].data["agenda"] == ["DU-2026-000003 · Horario extendido los sábados"]
