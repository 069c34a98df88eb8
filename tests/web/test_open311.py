"""Open311 GeoReport v2: services, definitions, posting and reading requests, in JSON and XML."""

from __future__ import annotations

import json

import pytest
from lxml import etree
from sqlalchemy import select

from engine.db.models import Case, Open311Request, OutboxMessage
from engine.intake import open311

BASE = "/open311/v2"
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
REQUEST = {
    "service_code": "reporte",
    "lat": "8.9824",
    "long": "-79.5199",
    "address_string": "Vía España y Calle 50",
    "first_name": "Marta",
    "last_name": "Núñez",
    "email": "marta.nunez@example.com",
    "description": "Hueco profundo en la vía frente a la parada.",
    "attribute[lugar_notificaciones]": "marta.nunez@example.com",
    "attribute[corregimiento]": "bella_vista",
}


def xml(response) -> etree._Element:
    assert response.content_type.startswith("text/xml")
    return etree.fromstring(response.data, SAFE_XML)


def as_json(response):
    assert response.content_type.startswith("application/json")
    return json.loads(response.data)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api_key(app):
    engine = app.extensions["atiende"]
    return open311.create_key(engine.store, "App de prueba", "admin", engine.now())


def post(client, api_key, fmt="json", **changes):
    data = {k: v for k, v in {**REQUEST, **changes, "api_key": api_key}.items() if v is not None}
    return client.post(f"{BASE}/requests.{fmt}", data=data)


def test_services_are_the_case_types_in_both_formats(client):
    services = as_json(client.get(f"{BASE}/services.json"))
    assert [s["service_code"] for s in services] == ["queja_reclamo", "solicitud_informacion", "sugerencia", "reporte"]
    assert services[0]["service_name"] == "Queja o reclamo" and services[0]["metadata"] is True
    root = xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    assert [s.findtext("service_code") for s in root.findall("service")][-1] == "reporte"
    assert root.find("service/metadata").text == "true" and root.find("service/type").text == "realtime"


def test_a_service_definition_comes_from_the_start_form(client):
    definition = as_json(client.get(f"{BASE}/services/reporte.json"))
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert attributes["lugar_notificaciones"]["required"] is True
    assert attributes["corregimiento"]["required"] is True  # the form requires it for a reporte
    assert attributes["corregimiento"]["datatype"] == "singlevaluelist"
    assert {"key": "bella_vista", "name": "Bella Vista"} in attributes["corregimiento"]["values"]
    assert not {"canal", "tipo_caso", "ciudadano_email", "descripcion"} & set(attributes)  # spec fields or fixed
    suggestion = as_json(client.get(f"{BASE}/services/sugerencia.json"))
    assert {a["code"]: a["required"] for a in suggestion["attributes"]}["corregimiento"] is False
    root = xml(client.get(f"{BASE}/services/reporte.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "reporte"
    corregimiento = next(a for a in root.iterfind("attributes/attribute") if a.findtext("code") == "corregimiento")
    assert "bella_vista" in [v.findtext("key") for v in corregimiento.iterfind("values/value")]


def test_unknown_service_is_404_in_the_spec_error_format(client):
    response = client.get(f"{BASE}/services/no_existe.json")
    assert response.status_code == 404
    [error] = as_json(response)
    assert error["code"] == 404 and "no_existe" in error["description"]
    root = xml(client.get(f"{BASE}/services/no_existe.xml"))
    assert root.tag == "errors" and root.findtext("error/code") == "404"


@pytest.mark.parametrize("key", [None, "clave-falsa"])
def test_posting_needs_a_valid_api_key(app, client, key):
    response = post(client, key)
    assert response.status_code == 403
    assert as_json(response)[0]["code"] == 403
    root = xml(post(client, key, fmt="xml"))
    assert root.findtext("error/code") == "403"


def test_a_revoked_key_is_refused(app, client, api_key):
    engine = app.extensions["atiende"]
    with engine.store.read() as s:
        [row] = open311.keys(s)
    open311.revoke_key(engine.store, row.id, "admin", engine.now())
    assert post(client, api_key).status_code == 403


def test_a_posted_request_is_a_case_of_the_web_procedure_read_back_in_json(app, client, api_key):
    response = post(client, api_key)
    assert response.status_code == 200, response.data
    [created] = as_json(response)
    ticket = created["service_request_id"]
    store = app.extensions["atiende"].store
    with store.read() as s:
        case = s.scalar(select(Case).where(Case.ticket == ticket))
        where = s.scalar(select(Open311Request).where(Open311Request.case_id == case.id))
        [mail] = s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id))
    assert (case.channel, case.case_type, case.created_by) == ("pagina_web", "reporte", "open311:App de prueba")
    assert (case.citizen_name, case.corregimiento, case.subject) == (
        "Marta Núñez",
        "bella_vista",
        "Hueco profundo en la vía frente a la parada.",
    )
    assert (where.lat, where.long) == (8.9824, -79.5199)
    assert mail.recipients == ["marta.nunez@example.com"] and ticket in mail.body

    [read] = as_json(client.get(f"{BASE}/requests/{ticket}.json"))
    assert read["service_request_id"] == ticket and read["status"] == "open" and read["service_code"] == "reporte"
    assert read["description"] == REQUEST["description"] and read["address"] == REQUEST["address_string"]
    assert (read["lat"], read["long"]) == (8.9824, -79.5199)
    assert read["requested_datetime"] == "2026-03-02T09:00:00-05:00"  # Panamá time, with its offset
    assert read["expected_datetime"].startswith("2026-04-01")  # the legal term of 30 days

    [by_token] = as_json(client.get(f"{BASE}/tokens/{created['token']}.json"))
    assert by_token == {"service_request_id": ticket, "token": created["token"]}


def test_a_request_posted_and_read_back_in_xml(client, api_key):
    root = xml(post(client, api_key, fmt="xml", service_code="queja_reclamo"))
    assert root.tag == "service_requests"
    ticket = root.findtext("request/service_request_id")
    token = root.findtext("request/token")
    assert ticket and token
    request = xml(client.get(f"{BASE}/requests/{ticket}.xml")).find("request")
    assert request.findtext("status") == "open" and request.findtext("service_code") == "queja_reclamo"
    assert request.findtext("service_name") == "Queja o reclamo"
    assert float(request.findtext("lat")) == 8.9824 and request.findtext("description") == REQUEST["description"]
    assert xml(client.get(f"{BASE}/tokens/{token}.xml")).findtext("request/service_request_id") == ticket


@pytest.mark.parametrize(
    "changes, mentions",
    [
        ({"attribute[lugar_notificaciones]": None}, "lugar_notificaciones"),
        ({"first_name": None, "last_name": None}, "first_name/last_name"),
        ({"lat": None, "long": None, "address_string": None}, "ubicación"),
        ({"lat": "123"}, "lat fuera de rango"),
        ({"attribute[no_existe]": "x"}, "no_existe"),
        ({"service_code": None}, "service_code es obligatorio"),
        ({"email": "no-es-correo"}, "email"),
        ({"email": "a@b"}, "La dirección de correo no es válida"),
        ({"email": "a@b.comBcc: x@evil.example"}, "La dirección de correo no es válida"),
    ],
)
def test_an_invalid_request_is_400_and_says_why(app, client, api_key, changes, mentions):
    store = app.extensions["atiende"].store
    with store.read() as s:
        before = len(list(s.scalars(select(Case.id))))
    response = post(client, api_key, **changes)
    assert response.status_code == 400
    [error] = as_json(response)
    assert error["code"] == 400 and mentions in error["description"]
    with store.read() as s:
        assert len(list(s.scalars(select(Case.id)))) == before


def test_get_requests_filters(app, client, api_key):
    first = as_json(post(client, api_key))[0]["service_request_id"]
    second = as_json(post(client, api_key, service_code="sugerencia"))[0]["service_request_id"]
    everything = as_json(client.get(f"{BASE}/requests.json"))
    tickets = [r["service_request_id"] for r in everything]
    assert first in tickets and second in tickets

    by_ids = as_json(client.get(f"{BASE}/requests.json?service_request_id={first},{second}&service_code=queja_reclamo"))
    assert sorted(r["service_request_id"] for r in by_ids) == sorted([first, second])  # ids override the rest
    assert {r["service_code"] for r in as_json(client.get(f"{BASE}/requests.json?service_code=sugerencia"))} == {
        "sugerencia"
    }
    assert as_json(client.get(f"{BASE}/requests.json?status=closed")) == []
    assert len(as_json(client.get(f"{BASE}/requests.json?status=open"))) == len(everything)
    window = "start_date=2026-03-01T00:00:00-05:00&end_date=2026-03-03T00:00:00-05:00"
    assert len(as_json(client.get(f"{BASE}/requests.json?{window}"))) == len(everything)
    assert (
        as_json(client.get(f"{BASE}/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-02-01T00:00:00Z")) == []
    )
    too_long = client.get(f"{BASE}/requests.json?start_date=2025-01-01T00:00:00Z&end_date=2026-03-01T00:00:00Z")
    assert too_long.status_code == 400 and "90 días" in as_json(too_long)[0]["description"]
    assert client.get(f"{BASE}/requests.json?status=perdido").status_code == 400
    root = xml(client.get(f"{BASE}/requests.xml?service_code=sugerencia"))
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [second]


@pytest.mark.parametrize(
    "dates",
    [
        "end_date=0001-01-01T00:00:00",
        "start_date=0001-01-01T00:00:00",
        "end_date=9999-12-31T23:59:59",
        "start_date=9999-12-31T23:00:00&end_date=9999-12-31T23:59:59-05:00",
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_refused(app, client, dates):
    """90 days before year 1 (or year 9999 moved to UTC) overflows: a 400 that says which years, never a 500."""
    refused = client.get(f"{BASE}/requests.json?{dates}")
    assert refused.status_code == 400
    assert "de los años 1900 a 2999" in as_json(refused)[0]["description"]


def test_cases_of_other_channels_show_no_personal_details(app, client):
    demo_case = next(r for r in as_json(client.get(f"{BASE}/requests.json")) if r["service_code"] == "queja_reclamo")
    assert demo_case["description"] is None and demo_case["lat"] is None
    assert demo_case["address"] == "Bella Vista"  # only the corregimiento


def test_unknown_request_token_and_jurisdiction_are_404(client):
    assert client.get(f"{BASE}/requests/AC-2026-999999.json").status_code == 404
    assert client.get(f"{BASE}/tokens/nada.json").status_code == 404
    assert client.get(f"{BASE}/services.json?jurisdiction_id=otra.ciudad").status_code == 404
    assert client.get(f"{BASE}/services.json?jurisdiction_id={open311.JURISDICTION}").status_code == 200


def test_discovery_in_both_formats(client):
    document = as_json(client.get("/open311/discovery.json"))
    [endpoint] = document["endpoints"]
    assert endpoint["url"].endswith("/open311/v2/") and "application/json" in endpoint["formats"]
    root = xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.iterfind("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


# -- keys, limits and pages -----------------------------------------------------------------------


def count_cases(app) -> int:
    with app.extensions["atiende"].store.read() as s:
        return len(list(s.scalars(select(Case.id))))


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_key_in_the_query_string_is_refused_and_the_error_says_where_it_goes(app, client, api_key, fmt):
    before = count_cases(app)
    response = client.post(f"{BASE}/requests.{fmt}?api_key={api_key}", data=REQUEST)
    assert response.status_code == 400
    description = as_json(response)[0]["description"] if fmt == "json" else xml(response).findtext("error/description")
    assert "X-Api-Key" in description and "cuerpo" in description
    assert count_cases(app) == before
    assert client.get(f"{BASE}/requests.json?api_key={api_key}").status_code == 400  # nor on a read


def test_the_key_may_come_in_a_header(client, api_key):
    response = client.post(f"{BASE}/requests.json", data=REQUEST, headers={"X-Api-Key": api_key})
    assert response.status_code == 200, response.data
    assert client.post(f"{BASE}/requests.json", data=REQUEST, headers={"X-Api-Key": "otra"}).status_code == 403


def test_posts_are_limited_per_key(app, client, api_key):
    before = count_cases(app)
    answers = [post(client, api_key).status_code for _ in range(15)]
    allowed = open311.PER_KEY[0].hits
    assert answers == [200] * allowed + [429] * (15 - allowed)
    assert count_cases(app) == before + allowed
    refused = post(client, api_key)
    [error] = as_json(refused)
    assert error["code"] == 429 and "api_key" in error["description"]
    # the frozen clock stands at the start of a minute: the whole window is left to wait
    assert refused.headers["Retry-After"] == str(int(open311.PER_KEY[0].window.total_seconds()))
    other = open311.create_key(app.extensions["atiende"].store, "Otra app", "admin", app.extensions["atiende"].now())
    assert post(client, other).status_code == 200  # another key is not held back


def test_request_lists_come_in_pages(app, client, api_key, monkeypatch):
    tickets = {as_json(post(client, api_key))[0]["service_request_id"] for _ in range(3)}
    newest = [r["service_request_id"] for r in as_json(client.get(f"{BASE}/requests.json?page_size=2"))]
    second = [r["service_request_id"] for r in as_json(client.get(f"{BASE}/requests.json?page_size=2&page=2"))]
    assert len(newest) == 2 and set(newest) < tickets and not set(newest) & set(second)
    assert tickets <= set(newest + second)
    monkeypatch.setattr(open311, "PAGE_SIZE", 2)
    assert len(as_json(client.get(f"{BASE}/requests.json"))) == 2  # the default page size
    assert len(as_json(client.get(f"{BASE}/requests.json?page_size={open311.MAX_PAGE_SIZE}"))) > 2
    for bad in (f"page_size={open311.MAX_PAGE_SIZE + 1}", "page_size=0", "page_size=mil", "page=0", "page=10**9"):
        response = client.get(f"{BASE}/requests.json?{bad}")
        assert response.status_code == 400, bad
        assert "page" in as_json(response)[0]["description"]


def test_anonymous_reads_are_limited_per_address(client):
    for _ in range(open311.READS_PER_ADDRESS.hits):
        assert client.get(f"{BASE}/services.json").status_code == 200
    refused = client.get(f"{BASE}/requests.json")
    assert refused.status_code == 429 and as_json(refused)[0]["code"] == 429
    assert refused.headers["Retry-After"] == str(int(open311.READS_PER_ADDRESS.window.total_seconds()))
    assert xml(client.get(f"{BASE}/services.xml")).findtext("error/code") == "429"
    assert client.get(f"{BASE}/services.json", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_request_the_whole_app_refuses_is_answered_as_the_specs_error_list(client, fmt):
    """A NUL character is refused before any view runs; a program still reads why, in the format it asked for."""
    response = client.get(f"/open311/v2/requests.{fmt}?service_code=reporte%00")
    assert response.status_code == 400
    if fmt == "json":
        assert response.json[0]["code"] == 400 and "carácter nulo" in response.json[0]["description"]
    else:
        root = etree.fromstring(response.data)
        assert root.tag == "errors" and "carácter nulo" in root.findtext("error/description")


def test_a_request_whose_first_step_fails_is_an_error_in_the_specs_format_naming_the_incident(
    client, api_key, monkeypatch
):
    def failing_step(*args, **kwargs):
        raise ValueError("falla de prueba")

    monkeypatch.setattr("engine.cases.runs.open_case", failing_step)
    response = post(client, api_key)
    assert response.status_code == 422
    [error] = as_json(response)
    assert error["code"] == 422 and "(incidencia 1)" in error["description"]
    assert "falla de prueba" not in error["description"]
