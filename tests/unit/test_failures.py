"""What a failed step's error means, in Spanish, with the element it failed at (engine.bpm.failures)."""

from __future__ import annotations

from engine.bpm import failures
from engine.errors import ProcedureError, StepOverBudget


def raised(make):
    """The exception ``make`` raises, with its traceback and chain, as the engine catches it."""
    try:
        make()
    except Exception as exc:  # noqa: BLE001 - the point is to keep whatever it raised
        return exc
    raise AssertionError("nothing raised")


def test_a_budget_names_its_step_and_says_which_budget():
    def over():
        raise StepOverBudget("superó su presupuesto de 1 s de CPU").at("st", "Marcar")

    fault = failures.explain(raised(over), "ut", "Revisar")

    assert (fault.element_id, fault.element_name) == ("st", "Marcar")
    assert fault.reason == "superó su presupuesto de 1 s de CPU"


def test_the_engines_spanish_errors_are_kept_and_the_callers_element_used_when_none_is_named():
    def unknown_status():
        raise ProcedureError("«Marcar» fijó un estado desconocido: 'zzz'")

    fault = failures.explain(raised(unknown_status), "ut", "Revisar")

    assert (fault.element_id, fault.element_name, fault.reason) == (
        "ut",
        "Revisar",
        "«Marcar» fijó un estado desconocido: 'zzz'",
    )
    assert fault.original == "ProcedureError: «Marcar» fijó un estado desconocido: 'zzz'"


def test_an_error_outside_any_script_is_called_internal_and_its_message_kept_beside():
    fault = failures.explain(raised(lambda: {}["x"]), "", "Temporizador")

    assert fault.reason == "falló un paso interno del motor (KeyError); el mensaje original lo detalla"
    assert fault.original == "KeyError: 'x'"
