"""Open311 GeoReport v2 at /open311/v2/, in JSON and XML (``engine.intake.open311`` does the work).

A public API: no sign-in and no CSRF token (clients are programs, not browsers holding a
session); posting a request needs an ``api_key``, in the POST body (as the spec has it) or in
the ``X-Api-Key`` header. Never in the URL, which servers and proxies write to their logs: a
key there is refused on every route. Reads are limited per address, posts per key
(``engine.intake.open311``). Errors follow the spec: a list of ``{code, description}`` with
the HTTP status 400, 403, 404 or 429.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import cast
from xml.etree import ElementTree

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from engine.errors import Open311Error
from engine.intake import open311
from web.auth import public
from web.ui.context import atiende, external_url

bp = Blueprint("open311", __name__, url_prefix="/open311")

FORMAT = "<any(json, xml):fmt>"
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# XML names of the items of each list (GeoReport's XML examples).
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
CHANGESET = "2026-03-02T00:00:00-05:00"
CONTACT = "Dirección de Atención al Ciudadano, Alcaldía de Panamá · Línea 311 · atencionciudadana@municipio-pma.gob.pa"
KEY_HEADER = "X-Api-Key"
KEY_IN_URL = (
    "api_key no se acepta en la dirección (URL), que queda escrita en los registros: "
    f"envíela en el cuerpo del POST o en la cabecera {KEY_HEADER}"
)
KEY_SERVICE = "Solicite una api_key a la Dirección de Atención al Ciudadano (atencionciudadana@municipio-pma.gob.pa)."


def _xml_value(parent: ElementTree.Element, name: str, value) -> None:
    element = ElementTree.SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_value(element, key, item)
    elif isinstance(value, list):
        for item in value:
            _xml_value(element, ITEM_NAMES.get(name, "item"), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def _respond(data, fmt: str, root: str, status: int = 200) -> Response:
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False)
    else:
        element = ElementTree.Element(root)
        for item in data if isinstance(data, list) else [data]:
            if isinstance(data, list):
                _xml_value(element, ITEM_NAMES[root], item)
            else:
                for key, value in item.items():
                    _xml_value(element, key, value)
        body = '<?xml version="1.0" encoding="utf-8"?>' + ElementTree.tostring(element, encoding="unicode")
    return Response(body, status=status, content_type=CONTENT_TYPES[fmt])


def _error(error: Open311Error, fmt: str) -> Response:
    response = _respond([{"code": error.code, "description": error.description}], fmt, "errors", error.code)
    if error.retry_after is not None:  # a 429: when a program may try again, as HTTP says it
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _answer(fmt: str, root: str, produce) -> Response:
    try:
        return _respond(produce(), fmt, root)
    except Open311Error as error:
        return _error(error, fmt)


@bp.before_request
def guard():
    """Before every route here: no api_key in the URL, and reads counted against the address."""
    fmt = (request.view_args or {}).get("fmt")
    if fmt is None:
        return None  # no route matched: the 404 needs no guard
    try:
        if "api_key" in request.args:
            raise Open311Error(400, KEY_IN_URL)
        if request.method in ("GET", "HEAD"):
            engine = atiende()
            open311.throttle_reading(engine.store, request.remote_addr or "desconocida", engine.now())
    except Open311Error as error:
        return _error(error, fmt)
    return None


@bp.errorhandler(HTTPException)
def refused(exc: HTTPException):
    """A request the whole app refuses (a NUL character, a body too large) answered as the spec's error list,
    in the format asked for; the client is a program, not a person reading the HTML error page."""
    fmt = (request.view_args or {}).get("fmt", "json")
    custom = exc.description if exc.description != type(exc).description else None
    return _error(Open311Error(exc.code or 400, custom or exc.name), fmt)


@bp.get(f"/discovery.{FORMAT}")
@bp.get(f"/v2/discovery.{FORMAT}")
@public
def discovery(fmt: str):
    """Where the endpoint is and what it speaks."""
    data = {
        "changeset": CHANGESET,
        "contact": CONTACT,
        "key_service": KEY_SERVICE,
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": atiende().settings.absolute_url(f"{bp.url_prefix}/v2/"),
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return _respond(data, fmt, "discovery")


@bp.get(f"/v2/services.{FORMAT}")
@public
def services(fmt: str):
    """The service list: the case types."""

    def produce():
        open311.check_jurisdiction(request.args.get("jurisdiction_id"))
        with atiende().store.read() as s:
            return open311.services(atiende(), s)

    return _answer(fmt, "services", produce)


@bp.get(f"/v2/services/<service_code>.{FORMAT}")
@public
def service_definition(service_code: str, fmt: str):
    """A service's attributes, from the start form."""

    def produce():
        open311.check_jurisdiction(request.args.get("jurisdiction_id"))
        with atiende().store.read() as s:
            return open311.definition(atiende(), s, service_code)

    return _answer(fmt, "service_definition", produce)


@bp.post(f"/v2/requests.{FORMAT}")
@public
def post_request(fmt: str):
    """Create a service request (a case of the web procedure); needs an api_key."""
    params = {k: v for k, v in request.values.items() if not k.startswith("attribute[")}
    attributes: dict[str, str] = {}
    # One (key, value) pair per value: werkzeug 3.1 annotates CombinedMultiDict.items(multi=True) as lists.
    for key, value in cast("Iterable[tuple[str, str]]", request.values.items(multi=True)):
        if key.startswith("attribute[") and "]" in key:
            attributes.setdefault(key[len("attribute[") : key.index("]")], value)

    def produce():
        posted = open311.post_request(
            atiende(),
            request.headers.get(KEY_HEADER) or request.form.get("api_key"),
            params,
            attributes,
            external_url("publico.consulta"),
        )
        return [
            {
                "service_request_id": posted.service_request_id,
                "token": posted.token,
                "service_notice": posted.service_notice,
                "account_id": None,
            }
        ]

    return _answer(fmt, "service_requests", produce)


@bp.get(f"/v2/requests.{FORMAT}")
@public
def requests(fmt: str):
    """Requests, filtered by the spec's parameters."""

    def produce():
        engine = atiende()
        with engine.store.read() as s:
            return open311.query(engine, s, request.args.to_dict(), engine.now())

    return _answer(fmt, "service_requests", produce)


@bp.get(f"/v2/requests/<service_request_id>.{FORMAT}")
@public
def one_request(service_request_id: str, fmt: str):
    """One request, as a list of one (as the spec answers)."""

    def produce():
        with atiende().store.read() as s:
            return open311.one(atiende(), s, service_request_id, request.args.get("jurisdiction_id"))

    return _answer(fmt, "service_requests", produce)


@bp.get(f"/v2/tokens/<token>.{FORMAT}")
@public
def token(token: str, fmt: str):
    """The service_request_id a token stands for."""

    def produce():
        with atiende().store.read() as s:
            return open311.token(s, token, request.args.get("jurisdiction_id"))

    return _answer(fmt, "service_requests", produce)
