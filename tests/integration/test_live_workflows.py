"""What the engine keeps in memory of the cases it advanced: each one's workflow, reckoned by its stored
state, until the case is closed."""

from engine.bpm.state.codec import unpacked_size


def test_a_case_in_progress_is_kept_with_its_stored_size_and_a_closed_one_is_not(desk):
    case_id = desk.start()
    desk.do(case_id, "Task_plantilla_queja_reclamo")
    runtime = desk.atiende.runtime
    assert case_id in runtime._live
    assert runtime.live_bytes() == unpacked_size(desk.state(case_id))  # its JSON, not the compressed bytes
    for step in ("Task_confeccionar_hoja", "Task_aprobar_hoja", "Task_acuse_recibo", "Task_respuesta_final"):
        desk.do(case_id, step)
    assert desk.case(case_id).status == "cerrado" and desk.ready(case_id) == []
    assert case_id not in runtime._live and runtime.live_bytes() == 0
