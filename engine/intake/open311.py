"""Open311 GeoReport v2: the case types as services, requests as cases of the web procedure.

Everything here is plain data (dicts in the spec's field names); ``web.channels.open311`` writes it as
JSON or XML. Services are the case types the web procedure's start form offers; a
service's attributes are that form's other fields, so a change to the form changes the API.
A posted request starts the web procedure (canal ``pagina_web``) as the actor of its API
key, with its location kept beside the case.

Privacy: GET lists every case of the services, but a case shows its description, address
and coordinates only when it came through Open311 itself (the client published them);
cases from the other channels show the service, status, dates and corregimiento only.

Limits (``engine.access.ratelimit``, counted and checked in one statement): a key posts at most
10 requests a minute and 300 an hour (each makes a case and may send an e-mail; a client
relaying citizens stays well under, a runaway loop stops at 10); an address reads at most 60
times a minute. A list comes in pages (GeoReport's ``page`` and ``page_size`` extension, the
one most servers implement): 100 requests by default, 200 at most, within the spec's 90 days.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.access import ratelimit
from engine.access.accounts import Actor
from engine.access.ratelimit import Limit
from engine.audit import trail as audit
from engine.cases import queries
from engine.clock import PANAMA, YEARS
from engine.db.models import AuditEvent, Case, Open311Key, Open311Request
from engine.db.store import Store
from engine.errors import FormErrors, Open311Error, StepFailed
from engine.facade import Atiende
from engine.forms import catalogs
from engine.intake import notify

PROCESS = "atencion_correo_web"
JURISDICTION = "municipio-pma.gob.pa"
CHANNEL = "pagina_web"
SPAN = timedelta(days=90)
PAGE_SIZE = 100
MAX_PAGE_SIZE = 200
MAX_PAGE = 10_000
PER_KEY = (
    Limit("open311_clave_minuto", hits=10, window=timedelta(minutes=1)),
    Limit("open311_clave_hora", hits=300, window=timedelta(hours=1)),
)
READS_PER_ADDRESS = Limit("open311_lectura", hits=60, window=timedelta(minutes=1))
SERVICE_NOTICE = (
    "Su petición será atendida por la Dirección de Atención al Ciudadano y respondida dentro de los "
    "30 días siguientes a su presentación (Ley 36 de 1998)."
)
AGENCY = "Dirección de Atención al Ciudadano, Alcaldía de Panamá"
NOT_FILED = (
    "No se pudo registrar la solicitud por una falla interna, informada a la oficina (incidencia {}); "
    "reintente más tarde."
)
# GeoReport's own request fields → the start form's fields.
STANDARD = {
    "first_name": "ciudadano_nombre",
    "last_name": "ciudadano_nombre",
    "email": "ciudadano_email",
    "phone": "ciudadano_telefono",
    "description": "descripcion",
    "address_string": "domicilio",
}
FIXED = {"canal", "tipo_caso", "respuesta_inmediata_enviada", "adjuntos"}  # set by the API, never by the client
OPEN_STATUSES = ("abierto", "en seguimiento", "escalado a la unidad")
STATUS_NOTES = {
    "abierto": "Abierto",
    "en seguimiento": "En seguimiento",
    "escalado a la unidad": "Escalado a la unidad",
    "cerrado": "Cerrado",
}
PUBLIC_EVENTS = ("caso_creado", "estado_cambiado")


# -- API keys -------------------------------------------------------------------------------------


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(store: Store, name: str, created_by: str, now: datetime) -> str:
    """A new key for a client; returned once, only its hash is kept."""
    key = secrets.token_urlsafe(32)
    with store.unit_of_work() as s:
        row = Open311Key(
            name=name.strip()[:200] or "cliente", key_hash=_hash(key), created_by=created_by, created_at=now
        )
        s.add(row)
        s.flush()
        audit.record(s, now, created_by, "open311_clave_creada", detail={"clave": row.id, "nombre": row.name})
    return key


def revoke_key(store: Store, key_id: int, actor: str, now: datetime) -> None:
    with store.unit_of_work() as s:
        row = s.get(Open311Key, key_id, with_for_update=True)
        if row is None:
            raise LookupError("la clave no existe")
        if row.revoked_at is None:
            row.revoked_at = now
            audit.record(s, now, actor, "open311_clave_revocada", detail={"clave": row.id, "nombre": row.name})


def keys(session: Session) -> list[Open311Key]:
    return list(session.scalars(select(Open311Key).order_by(Open311Key.created_at)))


def _client(session: Session, key: str | None) -> Open311Key:
    row = session.scalar(select(Open311Key).where(Open311Key.key_hash == _hash(key))) if key else None
    if row is None or row.revoked_at is not None:
        raise Open311Error(403, "api_key inválida o revocada")
    return row


def check_jurisdiction(jurisdiction_id: str | None) -> None:
    if jurisdiction_id and jurisdiction_id != JURISDICTION:
        raise Open311Error(404, f"jurisdiction_id desconocida: {jurisdiction_id}")


# -- services -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Form:
    schema: dict
    labels: dict[str, str]  # service code -> name


def _start_form(atiende: Atiende, session: Session) -> _Form:
    procedure = atiende.latest_procedure(session, PROCESS)
    schema = procedure.forms[cast(str, procedure.start_form)]  # the web procedure starts with a form
    choices = schema["properties"]["tipo_caso"].get("oneOf", [])
    return _Form(schema, {c["const"]: c.get("title") or c["const"] for c in choices})


def services(atiende: Atiende, session: Session) -> list[dict]:
    """The service list: one service per case type of the web procedure."""
    form = _start_form(atiende, session)
    return [
        {
            "service_code": code,
            "service_name": name,
            "description": f"{name} ante la Alcaldía de Panamá",
            "metadata": True,
            "type": "realtime",
            "keywords": [code.replace("_", " ")],
            "group": "Atención al Ciudadano",
        }
        for code, name in form.labels.items()
    ]


def definition(atiende: Atiende, session: Session, service_code: str) -> dict:
    """A service's attributes: the start form's fields that GeoReport's own fields do not cover."""
    form = _start_form(atiende, session)
    if service_code not in form.labels:
        raise Open311Error(404, f"service_code desconocido: {service_code}")
    required = _required_for(form.schema, service_code)
    attributes: list[dict[str, Any]] = []
    covered = set(STANDARD.values()) | FIXED
    for name in [n for n in form.schema.get("x-orden", []) if n in form.schema["properties"]] or list(
        form.schema["properties"]
    ):
        prop = form.schema["properties"][name]
        if name in covered or prop.get("type") not in ("string", "number", "integer"):
            continue
        attribute = {
            "variable": True,
            "code": name,
            "datatype": _datatype(prop),
            "required": name in required,
            "datatype_description": prop.get("description", ""),
            "order": len(attributes) + 1,
            "description": prop.get("title", name),
        }
        values = _values(session, prop)
        if values is not None:
            attribute["values"] = values
        attributes.append(attribute)
    return {"service_code": service_code, "attributes": attributes}


def _required_for(schema: dict, service_code: str) -> set[str]:
    """The form's required fields for this case type, its conditional rules on tipo_caso included."""
    required = set(schema.get("required", []))
    for rule in schema.get("allOf", []):
        condition = rule.get("if", {}).get("properties", {}).get("tipo_caso", {})
        if condition.get("const") == service_code:
            required |= set(rule.get("then", {}).get("required", []))
    return required


def _datatype(prop: dict) -> str:
    if "x-catalogo" in prop or "oneOf" in prop or "enum" in prop:
        return "singlevaluelist"
    if prop.get("type") in ("number", "integer"):
        return "number"
    if prop.get("format") in ("date", "date-time"):
        return "datetime"
    return "text" if prop.get("x-widget") == "textarea" else "string"


def _values(session: Session, prop: dict) -> list[dict] | None:
    if "x-catalogo" in prop:
        return [{"key": e.code, "name": e.label} for e in catalogs.entries(session, prop["x-catalogo"])]
    if "oneOf" in prop:
        return [{"key": c["const"], "name": c.get("title") or c["const"]} for c in prop["oneOf"] if "const" in c]
    if "enum" in prop:
        return [{"key": v, "name": str(v)} for v in prop["enum"]]
    return None


# -- posting a request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Posted:
    service_request_id: str
    token: str
    service_notice: str


def post_request(
    atiende: Atiende,
    api_key: str | None,
    params: dict[str, str],
    attributes: dict[str, str],
    status_url: str | None = None,
) -> Posted:
    """Start the web procedure from a GeoReport request; raises Open311Error (400, 403, 404)."""
    check_jurisdiction(params.get("jurisdiction_id"))
    with atiende.store.read() as s:
        client = _client(s, api_key)
        form = _start_form(atiende, s)
    code = params.get("service_code", "")
    if not code:
        raise Open311Error(400, "service_code es obligatorio")
    if code not in form.labels:
        raise Open311Error(404, f"service_code desconocido: {code}")
    lat, long = _coordinate(params.get("lat"), -90, 90, "lat"), _coordinate(params.get("long"), -180, 180, "long")
    if (lat is None) != (long is None):
        raise Open311Error(400, "lat y long deben enviarse juntas")
    if lat is None and not params.get("address_string") and not params.get("address_id"):
        raise Open311Error(400, "indique la ubicación: lat y long, address_string o address_id")
    media_url = _media_url(params.get("media_url"))
    values = _form_values(form, code, params, attributes)
    token = secrets.token_urlsafe(16)
    counted = [(limit, str(client.id)) for limit in PER_KEY]
    taken_at = atiende.now()
    until = ratelimit.take(atiende.store, taken_at, counted)
    if until is not None:
        raise Open311Error(
            429,
            "demasiadas solicitudes con esta api_key; espere unos minutos antes de enviar más",
            ratelimit.seconds_until(until, taken_at),
        )
    actor = Actor(f"open311:{client.name}"[:100], frozenset(), system=True)  # a public channel

    def record(session: Session, case: Case) -> None:
        now = atiende.now()
        session.add(
            Open311Request(
                case_id=case.id,
                token=token,
                key_id=client.id,
                lat=lat,
                long=long,
                address_string=(params.get("address_string") or "")[:300] or None,
                media_url=media_url,
                created_at=now,
            )
        )
        if case.citizen_email:
            notify.queue(
                session,
                notify.registered(case.citizen_name, case.citizen_email, case.ticket, case.subject or "", status_url),
                now,
                atiende.settings.smtp.sender,
                case_id=case.id,
            )

    try:
        started = atiende.start_case(PROCESS, values, actor, then=record)
    except Exception as failed:
        ratelimit.give_back(atiende.store, taken_at, counted)  # nothing was filed
        if isinstance(failed, FormErrors):
            raise Open311Error(400, _describe(failed.errors)) from None
        if isinstance(failed, StepFailed):
            raise Open311Error(422, NOT_FILED.format(failed.incident_id)) from None
        raise
    return Posted(started.ticket, token, SERVICE_NOTICE)


def _coordinate(text: str | None, low: float, high: float, name: str) -> float | None:
    if text in (None, ""):
        return None
    try:
        value = float(text)
    except ValueError:
        raise Open311Error(400, f"{name} debe ser un número") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise Open311Error(400, f"{name} fuera de rango ({low} a {high})")
    return value


def _media_url(text: str | None) -> str | None:
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 500:
        raise Open311Error(400, "media_url debe ser una dirección http(s) de hasta 500 caracteres")
    return text


def _form_values(form: _Form, code: str, params: dict[str, str], attributes: dict[str, str]) -> dict:
    known = set(form.schema["properties"]) - FIXED - set(STANDARD.values())
    unknown = sorted(set(attributes) - known)
    if unknown:
        raise Open311Error(400, f"atributos desconocidos para {code}: {', '.join(unknown)}")
    name = " ".join(p for p in (params.get("first_name", "").strip(), params.get("last_name", "").strip()) if p)
    values: dict[str, Any] = {
        field: params[std]
        for std, field in STANDARD.items()
        if params.get(std) and std not in ("first_name", "last_name")
    }
    if name:
        values["ciudadano_nombre"] = name
    values.update(attributes)
    if not values.get("asunto") and values.get("descripcion"):
        values["asunto"] = values["descripcion"].strip().splitlines()[0][:120]
    values.update(
        {"canal": CHANNEL, "tipo_caso": code, "respuesta_inmediata_enviada": bool(values.get("ciudadano_email"))}
    )
    return values


def _describe(errors: dict[str, str]) -> str:
    back = {field: std for std, field in STANDARD.items()}
    back["ciudadano_nombre"] = "first_name/last_name"
    return "; ".join(f"{back.get(field, field)}: {message}" for field, message in sorted(errors.items()))


# -- reading requests -----------------------------------------------------------------------------


def _moment(text: str, name: str) -> datetime:
    """An ISO 8601 moment within ``clock.YEARS`` (at datetime's ends, 90 days before it would overflow)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None or moment.year not in YEARS:
        raise Open311Error(
            400,
            f"{name} debe ser una fecha y hora ISO 8601 (p. ej. 2026-03-02T09:00:00-05:00) "
            f"de los años {YEARS[0]} a {YEARS[-1]}",
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=PANAMA)


def throttle_reading(store: Store, address: str, now: datetime) -> None:
    """Count one read from ``address``; raises Open311Error (429) past ``READS_PER_ADDRESS``."""
    until = ratelimit.take(store, now, [(READS_PER_ADDRESS, address)])
    if until is not None:
        raise Open311Error(
            429,
            "demasiadas consultas desde su dirección; espere un minuto antes de seguir",
            ratelimit.seconds_until(until, now),
        )


def _whole(text: str | None, name: str, default: int, highest: int) -> int:
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= highest:
        raise Open311Error(400, f"{name} debe ser un número entero entre 1 y {highest}")
    return value


def query(atiende: Atiende, session: Session, args: dict[str, str], now: datetime) -> list[dict]:
    """GET requests: by ids (which overrides every other filter), or by service, dates and status;
    one page of them, the newest first."""
    check_jurisdiction(args.get("jurisdiction_id"))
    size = _whole(args.get("page_size"), "page_size", PAGE_SIZE, MAX_PAGE_SIZE)
    page = _whole(args.get("page"), "page", 1, MAX_PAGE)
    codes = set(_start_form(atiende, session).labels)
    statement = select(Case).where(Case.case_type.in_(codes))
    if args.get("service_request_id"):
        ids = [i.strip() for i in args["service_request_id"].split(",") if i.strip()][:MAX_PAGE_SIZE]
        statement = statement.where(Case.ticket.in_(ids))
    else:
        if args.get("service_code"):
            statement = statement.where(Case.case_type.in_([c.strip() for c in args["service_code"].split(",")]))
        end = _moment(args["end_date"], "end_date") if args.get("end_date") else now
        start = _moment(args["start_date"], "start_date") if args.get("start_date") else end - SPAN
        if end - start > SPAN:
            raise Open311Error(400, "start_date y end_date no pueden abarcar más de 90 días")
        statement = statement.where(Case.opened_at >= start, Case.opened_at <= end)
        if args.get("status"):
            wanted = {s.strip() for s in args["status"].split(",")}
            if not wanted <= {"open", "closed"}:
                raise Open311Error(400, "status debe ser open o closed")
            statuses = (set(OPEN_STATUSES) if "open" in wanted else set()) | (
                {"cerrado"} if "closed" in wanted else set()
            )
            statement = statement.where(Case.status.in_(statuses))
    statement = statement.order_by(Case.opened_at.desc(), Case.id.desc()).limit(size).offset((page - 1) * size)
    cases = list(session.scalars(statement))
    return _requests(session, cases, _start_form(atiende, session).labels)


def one(atiende: Atiende, session: Session, service_request_id: str, jurisdiction_id: str | None = None) -> list[dict]:
    check_jurisdiction(jurisdiction_id)
    form = _start_form(atiende, session)
    case = session.scalar(select(Case).where(Case.ticket == service_request_id, Case.case_type.in_(set(form.labels))))
    if case is None:
        raise Open311Error(404, f"no existe la solicitud {service_request_id}")
    return _requests(session, [case], form.labels)


def token(session: Session, value: str, jurisdiction_id: str | None = None) -> list[dict]:
    check_jurisdiction(jurisdiction_id)
    row = session.scalar(select(Open311Request).where(Open311Request.token == value))
    if row is None:
        raise Open311Error(404, f"no existe el token {value}")
    ticket = session.scalar(select(Case.ticket).where(Case.id == row.case_id))
    return [{"service_request_id": ticket, "token": value}]


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(PANAMA).isoformat(timespec="seconds") if moment else None


def _requests(session: Session, cases: list[Case], names: dict[str, str]) -> list[dict]:
    ids = [c.id for c in cases]
    posted = (
        {r.case_id: r for r in session.scalars(select(Open311Request).where(Open311Request.case_id.in_(ids)))}
        if ids
        else {}
    )
    updated = (
        dict(
            session.execute(
                select(AuditEvent.case_id, func.max(AuditEvent.at))
                .where(AuditEvent.case_id.in_(ids), AuditEvent.kind.in_(PUBLIC_EVENTS))
                .group_by(AuditEvent.case_id)
            ).all()
        )
        if ids
        else {}
    )
    # These labels are looked up by the case's columns, which may be None (and have no label then).
    labels = cast("dict[str | None, str]", names)
    places = cast("dict[str | None, str]", queries.catalog_labels(session, "corregimientos"))
    agencies = cast("dict[str | None, str]", queries.catalog_labels(session, "direcciones"))
    result = []
    for case in cases:
        mine = posted.get(case.id)
        closed = case.status == "cerrado"
        result.append(
            {
                "service_request_id": case.ticket,
                "status": "closed" if closed else "open",
                "status_notes": STATUS_NOTES.get(case.status, case.status),
                "service_name": labels.get(case.case_type, case.case_type),
                "service_code": case.case_type,
                "description": case.data.get("descripcion") if mine else None,
                "agency_responsible": agencies.get(case.direccion) or AGENCY,
                "service_notice": SERVICE_NOTICE,
                "requested_datetime": _iso(case.opened_at),
                "updated_datetime": _iso(
                    case.closed_at if closed and case.closed_at else updated.get(case.id, case.opened_at)
                ),
                "expected_datetime": _iso(case.due_at),
                "address": (mine.address_string if mine and mine.address_string else places.get(case.corregimiento)),
                "address_id": None,
                "zipcode": None,
                "lat": mine.lat if mine else None,
                "long": mine.long if mine else None,
                "media_url": mine.media_url if mine else None,
            }
        )
    return result
