"""Rules that query the cases, named by a diagram or a form: a scheduled start's selector, and a form
field's choices (``x-opciones``). They live here, in code, because they query the cases.

Named selectors: which runs a scheduled procedure starts, and with what in their record.

A timer start event names its selector in the property ``selector``. When the calendar says
so, the scheduler asks the selector and starts one run per record it returns (the record's
values go into the run, e.g. the ``direccion`` its enlace works for); an empty answer starts
nothing. A start event without a selector starts one run with an empty record. The rules
live here, in code, because they query the cases; the diagram names which one applies.

Choices: what a form takes from the office's cases: ``"x-opciones"``, listed and checked by the engine.

A catalogue (``x-catalogo``) is a list an administrator edits. Some choices are cases instead: the
acta of the sugerencias meeting ticks, among the sugerencias that wait for a meeting, the ones it
decided, so nobody types a ticket. A form field (a text, or the items of a list of texts) names
its source, ``"x-opciones": "sugerencias_en_espera"``; the task page lists the source's options
(value and label), and a submission is checked against the same list when it is sent: a value
that is no longer offered (another acta took it meanwhile) is refused beside its field, and one
value may be chosen in only one field of a form (a sugerencia is either taken into account or
discarded). The sources live here, in code, because they query the cases; the form names which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.db.models import Case, ProcedureVersion
from engine.errors import FormErrors

# Cases a dirección still owes a follow-up on: remitted to it and not closed.
FOLLOW_UP_STATUSES = ("en seguimiento", "escalado a la unidad")


def direcciones_con_casos_abiertos(session: Session) -> list[dict]:
    """One run per dirección with cases remitted to it that are en seguimiento or escalado a la unidad.

    The calendar asks this every week for a handful of direcciones, whatever the cases they hold:
    so it walks the index on (status, dirección) from one dirección to the next, one seek each
    (``min`` of the next greater value), instead of reading every open case to keep the distinct.
    """
    found: set[str] = set()
    for status in FOLLOW_UP_STATUSES:
        last = None
        while True:
            query = select(func.min(Case.direccion)).where(Case.status == status)
            if last is not None:
                query = query.where(Case.direccion > last)
            last = session.scalar(query)
            if last is None:
                break
            found.add(last)
    return [{"direccion": direccion} for direccion in sorted(found)]


def sugerencias_pendientes(session: Session) -> list[dict]:
    """One meeting if any Defensa del Usuario sugerencia waits for one; its agenda lists them (ticket · asunto),
    as the acta's form lists them to tick (``sugerencias_en_espera``)."""
    agenda = [label(ticket, subject) for ticket, subject in waiting_sugerencias(session)]
    return [{"agenda": agenda}] if agenda else []


SELECTORS: dict[str, Callable[[Session], list[dict]]] = {
    "direcciones_con_casos_abiertos": direcciones_con_casos_abiertos,
    "sugerencias_pendientes": sugerencias_pendientes,
}


def runs(session: Session, selector: str | None) -> list[dict]:
    """The records of the runs to start now: one per item the selector gives, or one empty record."""
    return SELECTORS[selector](session) if selector else [{}]


KEY = "x-opciones"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def waiting_sugerencias(session: Session) -> list[tuple[str, str | None]]:
    """(ticket, asunto) of every Defensa del Usuario sugerencia waiting for a meeting, oldest first.

    A sugerencia waits at its «Tratada en reunión» catch event from the moment it is put on the
    agenda, which sets it «en seguimiento», until an acta closes it (``defensa_usuario_311.bpmn``).
    """
    rows = session.execute(
        select(Case.ticket, Case.subject)
        .join(ProcedureVersion, Case.procedure_version_id == ProcedureVersion.id)
        .where(
            ProcedureVersion.process_id == "defensa_usuario_311",
            Case.case_type == "sugerencia",
            Case.status == "en seguimiento",
        )
        .order_by(Case.opened_at, Case.id)
    )
    return [(ticket, subject) for ticket, subject in rows]


def label(ticket: str, subject: str | None) -> str:
    """«DU-2026-000001 · Más bancas»: how a waiting sugerencia is named on the agenda and the acta."""
    return f"{ticket} · {subject or 'Sin asunto'}"


def sugerencias_en_espera(session: Session) -> list[Choice]:
    return [Choice(ticket, label(ticket, subject)) for ticket, subject in waiting_sugerencias(session)]


@dataclass(frozen=True)
class Source:
    listed: Callable[[Session], list[Choice]]
    stale: str  # the refusal of a value not (or no longer) offered, «{}» the value


SOURCES: dict[str, Source] = {
    "sugerencias_en_espera": Source(
        sugerencias_en_espera,
        "{} no es una sugerencia que espere reunión (quizá otra acta ya la trató): vuelva a cargar la página.",
    ),
}


def choices(session: Session, source: str) -> list[Choice]:
    """The options of a source, as the form lists them; none for a source that does not exist."""
    found = SOURCES.get(source)
    return found.listed(session) if found is not None else []


def fields_of(schema: dict) -> dict[str, str]:
    """Field → source, for each top-level field (a text, or a list of texts) that names one."""
    found = {}
    for name, prop in schema.get("properties", {}).items():
        source = prop.get(KEY) or (prop.get("items") or {}).get(KEY)
        if isinstance(source, str):
            found[name] = source
    return found


def problems(form: str, schema: dict) -> list[str]:
    """A form naming a source that does not exist, in Spanish (checked at deploy)."""
    return [
        f"formulario «{form}»: el campo «{name}» toma sus opciones de «{source}», que no existe; "
        f"las disponibles son: {', '.join(sorted(SOURCES))}"
        for name, source in fields_of(schema).items()
        if source not in SOURCES
    ]


def check(session: Session, schema: dict | None, data: dict) -> None:
    """Refuse (FormErrors, beside the field) a value its source does not offer now, or one chosen twice."""
    errors: dict[str, str] = {}
    offered: dict[str, set[str]] = {}
    chosen_in: dict[tuple[str, str], str] = {}
    properties = (schema or {}).get("properties", {})
    for name, source in fields_of(schema or {}).items():
        if name not in data or source not in SOURCES:
            continue
        if source not in offered:
            offered[source] = {choice.value for choice in SOURCES[source].listed(session)}
        values = data[name] if isinstance(data[name], list) else [data[name]]
        for value in values:
            if value not in offered[source]:
                errors.setdefault(name, SOURCES[source].stale.format(value))
            elif (source, value) in chosen_in:
                other = properties[chosen_in[source, value]].get("title") or chosen_in[source, value]
                errors.setdefault(name, f"{value} ya está marcada en «{other}»: elija una sola vez cada una.")
            else:
                chosen_in[source, value] = name
    if errors:
        raise FormErrors(errors)
