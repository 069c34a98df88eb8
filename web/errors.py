"""Error pages in Spanish, and the engine's domain errors mapped to HTTP statuses.

Views let ``engine.errors.NotFound``, ``Forbidden`` and ``TaskAlreadyDone`` propagate; this
module turns them into 404, 403 and 409 pages, so no view repeats the mapping.
"""

from __future__ import annotations

from flask import render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.errors import Forbidden, NotFound, StepFailed, TaskAlreadyDone

TITLES = {
    400: "Solicitud no válida",
    403: "Acceso denegado",
    404: "No encontrado",
    405: "Método no permitido",
    409: "Conflicto",
    422: "No se pudo completar",
    413: "Archivos demasiado grandes",
    500: "Error del sistema",
}
MESSAGES = {
    400: "La solicitud no es válida.",
    403: "No tiene permiso para ver esta página.",
    404: "La página o el registro que busca no existe.",
    405: "Esta dirección no acepta esa operación.",
    413: "Lo que envió supera el máximo permitido (10 MB por archivo). Vuelva atrás y adjunte archivos más pequeños.",
    500: "Ocurrió un error inesperado. Intente de nuevo; si persiste, avise al administrador.",
}
CSRF_MESSAGE = (
    "El formulario caducó o no es válido. Vuelva a cargar la página e intente de nuevo; "
    "si había escrito datos, cópielos antes."
)


def init_app(app) -> None:
    """Register the handlers."""
    app.register_error_handler(CSRFError, lambda e: error_page(400, CSRF_MESSAGE))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(NotFound, lambda e: error_page(404, sentence(str(e))))
    app.register_error_handler(Forbidden, lambda e: error_page(403, sentence(str(e))))
    # A step of the procedure failed and was recorded as an incident: its message, never a bare 500.
    # Pages with a form catch it first and show it over the person's input (web.tasks, web.cases).
    app.register_error_handler(StepFailed, lambda e: error_page(422, str(e)))
    # A task someone else completed first (who and when), on whichever page reached for it.
    app.register_error_handler(
        TaskAlreadyDone, lambda e: (render_template("tasks/ya_completada.html", message=str(e)), 409)
    )


def error_page(status: int, message: str | None = None):
    """A response with the Spanish error page for ``status``."""
    title = TITLES.get(status, "Error")
    return render_template(
        "errors/error.html", title=title, status=status, message=message or MESSAGES.get(status, title)
    ), status


def _http_error(exc: HTTPException):
    # A description given to abort() is ours (Spanish); Werkzeug's class default is English.
    custom = exc.description if exc.description != type(exc).description else None
    return error_page(exc.code or 500, custom)


def sentence(text: str) -> str:
    """The engine's lowercase messages as a sentence: «no tiene permiso» → «No tiene permiso.»"""
    text = text.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")
