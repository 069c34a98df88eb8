"""What went wrong in a step, in Spanish: the element that failed and why, from SpiffWorkflow's error.

A step that fails at run time becomes an incident (``engine.cases.incidents``) that an analyst
reads without the server log: the library's message is often useful but English and Python's,
so the common failures are said in the analyst's terms (a condition naming a variable the case
lacks, a gateway with no way out, a script error and its line) and the original is kept beside.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from SpiffWorkflow.exceptions import WorkflowException

from engine.bpm.scripting.sandbox import SOURCE_NAME
from engine.errors import StepOverBudget

_EXPRESSION = "Error evaluating expression"
_NO_WAY_OUT = "No conditions satisfied"
_PYTHON_ERRORS = {
    ZeroDivisionError: "divide entre cero",
    KeyError: "pide la clave {detail}, que el dato no tiene",
    IndexError: "pide una posición que la lista no tiene",
    TypeError: "combina valores de tipos que no se pueden combinar",
    ValueError: "recibió un valor que no puede usar",
    RecursionError: "se llamó a sí mismo demasiadas veces",
    MemoryError: "agotó la memoria",
}


@dataclass(frozen=True)
class Fault:
    """The element a step failed at, the reason in Spanish and the library's own message."""

    element_id: str
    element_name: str
    reason: str
    original: str


def explain(exc: BaseException, element_id: str, element_name: str) -> Fault:
    """The fault behind ``exc``; ``element_id``/``element_name`` when the error names no element
    (e.g. a status a script set that the engine refuses: the step the caller took)."""
    spiff = _library_error(exc)
    spec = getattr(spiff, "task_spec", None)
    if spec is not None and getattr(spec, "bpmn_id", None):
        element_id, element_name = spec.bpmn_id, spec.bpmn_name or spec.bpmn_id
    root = _root(exc)
    if isinstance(root, StepOverBudget) and root.element_id:  # the budget knows whose step it stopped
        element_id, element_name = root.element_id, root.element_name or root.element_id
    original = f"{type(root).__name__}: {root}" if root is not exc else f"{type(exc).__name__}: {exc}"
    if spiff is not None and root is not spiff:
        original = f"{spiff} ({original})"
    return Fault(element_id[:100], element_name[:200], _reason(spiff, root), original[:4000])


def _reason(spiff: WorkflowException | None, root: BaseException) -> str:
    message = str(spiff.args[0]) if spiff is not None and spiff.args else ""  # without the notes it appends
    if spiff is not None and root is spiff and message.startswith(_NO_WAY_OUT):
        return "ninguna salida de la compuerta cumple su condición y no tiene una salida por defecto"
    expression = _expression(message)
    what = f"la condición «{expression}»" if expression is not None else "el script"
    if isinstance(root, NameError) and root.name:
        return f'{what} usa la variable "{root.name}", que el caso no tiene'
    if isinstance(root, StepOverBudget):  # «superó su presupuesto de 1 s de CPU»: after «no pudo completarse:»
        return f"{what} {root.reason}" if spiff is not None else root.reason
    if type(root).__module__ == "engine.errors":  # the engine's own errors speak Spanish already
        return f"{what} {root}" if spiff is not None else str(root)
    if spiff is None:  # not in a script or an expression: the engine's own work around the step
        return f"falló un paso interno del motor ({type(root).__name__}); el mensaje original lo detalla"
    for kind, words in _PYTHON_ERRORS.items():
        if isinstance(root, kind):
            detail = f"«{root.args[0]}»" if isinstance(root, KeyError) and root.args else ""
            return f"{what} {words.format(detail=detail)}{_line(root, expression)}"
    return f"{what} falló ({type(root).__name__}){_line(root, expression)}"


def _expression(message: str) -> str | None:
    """The expression SpiffWorkflow names in «Error evaluating expression '…'», if that is the error."""
    if not message.startswith(_EXPRESSION):
        return None
    quoted = message[len(_EXPRESSION) :].strip()
    return quoted[1:-1] if len(quoted) > 1 and quoted[0] == quoted[-1] == "'" else quoted


def _line(root: BaseException, expression: str | None) -> str:
    """« (línea N)» of a script's failing line: the frame the sandbox compiled it under."""
    if expression is not None:
        return ""
    lines = [f.lineno for f in traceback.extract_tb(root.__traceback__) if f.filename == SOURCE_NAME]
    return f" (línea {lines[-1]})" if lines else ""


def _library_error(exc: BaseException) -> WorkflowException | None:
    """SpiffWorkflow's error in the chain, which names the element (its task spec), if any."""
    return next((link for link in _chain(exc) if isinstance(link, WorkflowException)), None)


def _root(exc: BaseException) -> BaseException:
    """The innermost cause: what Python or the engine raised inside the library's wrapper."""
    *_, last = _chain(exc)
    return last


def _chain(exc: BaseException):
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__
