"""The named operators a diagram's service tasks may call: how a procedure makes paper and mail.

An analyst draws a service task and names its operator, with parameters, in the task's
``spiffworkflow:serviceTaskOperator``; the diagram then shows where a hoja de trámite is
sent or a citizen answered. Parameter values are expressions of the restricted environment
(``'semanal'`` with quotes, or a case field such as ``direccion``).

An operator is a pure function of the task's data and its parameters. It reaches nothing:
no database, no file, no network. It returns what should happen (``Documento`` and
``Correo`` requests) and a small result for the task's data; the runtime carries the
requests out in the transaction of the engine step (``engine.paperwork.effects``), so the hoja, the
message and the step that caused them are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from engine.bpm.scripting import sandbox
from engine.errors import OperatorError
from engine.mail.texts import problem as mail_template_problem


@dataclass(frozen=True)
class Documento:
    """Make a document in this step: ``tipo`` names a maker of ``engine.paperwork.effects``."""

    tipo: str
    direccion: str | None
    datos: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Correo:
    """Write an e-mail into the outbox in this step.

    ``para`` is ``enlace`` (the coordinadores de enlace of ``direccion``) or ``ciudadano`` (the
    address in ``datos['correo']``); ``adjuntos`` names document kinds, made in this step or,
    failing that, the case's latest of that kind.
    """

    tipo: str
    para: str
    plantilla: str
    direccion: str | None
    datos: dict = field(default_factory=dict)
    adjuntos: tuple[str, ...] = ()


@dataclass(frozen=True)
class Parameter:
    name: str
    description: str
    required: bool = False
    default: object = None


@dataclass(frozen=True)
class Operator:
    """One operator: its name in diagrams, what it does (Spanish, for the analyst), its parameters."""

    name: str
    description: str
    parameters: tuple[Parameter, ...]
    run: Callable[[dict, dict], tuple[dict, list]]
    templates: tuple[str, ...] = ()  # parameters that name a mail template
    needs_ticket: bool = False  # its mail template must show the ticket number


# Keys of the task data a hoja de trámite and its mail are made from (the forms' field names).
HOJA_KEYS = (
    "ticket",
    "direccion",
    "tipo_caso",
    "canal",
    "asunto",
    "resumen",
    "informacion_ciudadano_relevante",
    "prioridad",
    "corregimiento",
    "domicilio",
    "lugar_notificaciones",
    "fecha_limite",
    "ciudadano_nombre",
)


def _snapshot(data: dict, keys) -> dict:
    return {k: data[k] for k in keys if data.get(k) not in (None, "")}


def _direccion(data: dict, params: dict) -> str:
    direccion = params.get("direccion") or data.get("direccion")
    if not direccion:
        raise OperatorError("el caso no indica la dirección destinataria («direccion»)")
    return direccion


def _remitir(data: dict, params: dict):
    direccion = _direccion(data, params)
    datos = _snapshot(data, HOJA_KEYS)
    return (
        {"direccion": direccion, "hoja": "hoja_de_tramite"},
        [
            Documento("hoja_de_tramite", direccion, datos),
            Correo("remision_hoja", "enlace", params["plantilla"], direccion, datos, ("hoja_de_tramite",)),
        ],
    )


def _recordar(data: dict, params: dict):
    direccion = _direccion(data, params)
    datos = _snapshot(data, HOJA_KEYS)
    return (
        {"recordatorio": True},
        [Correo("recordatorio_acuse", "enlace", params["plantilla"], direccion, datos, ("hoja_de_tramite",))],
    )


def _responder(data: dict, params: dict):
    correo = (data.get("ciudadano_email") or "").strip()
    texto = params.get("texto")
    canales = params.get("canales")
    if canales is not None and data.get("canal") not in canales:
        return {"enviada_por_correo": False, "motivo": "el caso no llegó por un canal que se responde por correo"}, []
    if not correo:
        return {"enviada_por_correo": False, "motivo": "el caso no tiene correo electrónico del ciudadano"}, []
    datos = {
        **_snapshot(data, ("ticket", "ciudadano_nombre", "asunto", "canal")),
        "correo": correo,
        "texto": texto or "",
        "encuesta": bool(params.get("encuesta")),
    }
    return (
        {"enviada_por_correo": True, "correo": correo},
        [Correo("respuesta_ciudadano", "ciudadano", params["plantilla"], data.get("direccion"), datos)],
    )


def _consolidado(data: dict, params: dict):
    direccion = _direccion(data, params)
    datos = {"periodo": params["periodo"]}
    return (
        {"direccion": direccion, "periodo": params["periodo"]},
        [
            Documento("consolidado_xlsx", direccion, datos),
            Documento("consolidado_pdf", direccion, datos),
            Correo(
                "consolidado", "enlace", params["plantilla"], direccion, datos, ("consolidado_xlsx", "consolidado_pdf")
            ),
        ],
    )


_DIRECCION = Parameter("direccion", "Código de la dirección; por omisión, el dato «direccion» del caso.")

OPERATORS = {
    op.name: op
    for op in (
        Operator(
            "remitir_hoja_de_tramite",
            "Genera la hoja de trámite en PDF (con la casilla de acuse de recibo y el código QR), la archiva "
            "en la carpeta de la dirección y la envía por correo institucional a sus coordinadores de enlace.",
            (_DIRECCION, Parameter("plantilla", "Plantilla del correo de remisión.", default="remision_hoja")),
            _remitir,
            templates=("plantilla",),
        ),
        Operator(
            "recordar_acuse",
            "Envía a los enlaces de la dirección un recordatorio de que falta el acuse de recibo, con la hoja "
            "de trámite adjunta de nuevo.",
            (_DIRECCION, Parameter("plantilla", "Plantilla del correo de recordatorio.", default="recordatorio_acuse")),
            _recordar,
            templates=("plantilla",),
        ),
        Operator(
            "responder_ciudadano",
            "Envía al ciudadano, a su correo electrónico, la respuesta con una plantilla aprobada que lleva el "
            "número de ticket, si el caso llegó por uno de los «canales» indicados y tiene correo; si no, no envía "
            "nada y lo dice en el resultado (la respuesta por teléfono o en persona la registra el operador).",
            (
                Parameter("plantilla", "Plantilla aprobada de la respuesta.", required=True),
                Parameter("texto", "Texto de la respuesta que la plantilla incluye (p. ej. respuesta_final)."),
                Parameter(
                    "canales",
                    "Lista de canales que se responden por correo, p. ej. "
                    "['correo_electronico', 'pagina_web']; sin ella, todo caso con correo.",
                ),
                Parameter(
                    "encuesta",
                    "Si el correo lleva el enlace de un solo uso a la encuesta de satisfacción del ciudadano "
                    "(True o False).",
                    default=True,
                ),
            ),
            _responder,
            templates=("plantilla",),
            needs_ticket=True,
        ),
        Operator(
            "enviar_consolidado",
            "Genera el consolidado de seguimiento de los casos abiertos de la dirección (XLSX y PDF) y lo envía "
            "por correo a sus coordinadores de enlace.",
            (
                _DIRECCION,
                Parameter("periodo", "Texto del periodo, p. ej. 'semanal' o 'quincenal'.", required=True),
                Parameter("plantilla", "Plantilla del correo del consolidado.", default="consolidado"),
            ),
            _consolidado,
            templates=("plantilla",),
        ),
    )
}


def run(name: str, data: dict, values: dict) -> tuple[dict, list]:
    """Run operator ``name`` on a copy of the task data; returns (result, effects)."""
    operator = OPERATORS.get(name)
    if operator is None:
        raise OperatorError(f"operador desconocido: «{name}»")
    params = {p.name: values.get(p.name, p.default) for p in operator.parameters}
    missing = [p.name for p in operator.parameters if p.required and params[p.name] in (None, "")]
    if missing:
        raise OperatorError(f"al operador «{name}» le faltan parámetros: {', '.join(missing)}")
    return operator.run(dict(data), params)


def problems(task_spec) -> list[str]:
    """What is wrong with a service task's call (Spanish), for the diagram lint."""
    name = getattr(task_spec, "operation_name", None)
    if name is None:
        return []
    operator = OPERATORS.get(name)
    if operator is None:
        return [
            f"la tarea de servicio llama a un operador desconocido «{name}»; los disponibles son: "
            + ", ".join(sorted(OPERATORS))
        ]
    given = getattr(task_spec, "operation_params", {}) or {}
    known = {p.name for p in operator.parameters}
    found = [f"el operador «{name}» no tiene el parámetro «{p}»" for p in sorted(set(given) - known)]
    found += [
        f"al operador «{name}» le falta el parámetro «{p.name}»"
        for p in operator.parameters
        if p.required and p.name not in given
    ]
    for param, spec in given.items():
        reason = sandbox.check(str(spec.get("value", "")), "eval")
        if reason:
            found.append(f"el parámetro «{param}» no es una expresión permitida: {reason}")
    for param in operator.templates:
        expression = given.get(param, {}).get("value")
        template = _literal(expression) if expression is not None else _default(operator, param)
        if template is not None:
            problem = mail_template_problem(template, needs_ticket=operator.needs_ticket)
            if problem:
                found.append(f"parámetro «{param}»: {problem}")
    return found


def _default(operator: Operator, param: str):
    return next(p.default for p in operator.parameters if p.name == param)


def _literal(expression: str):
    try:
        value = sandbox.RestrictedEnvironment().evaluate(expression, {})
    except Exception:  # noqa: BLE001 - not a literal; checked when it runs
        return None
    return value if isinstance(value, str) else None
