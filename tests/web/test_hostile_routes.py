"""Every route of the app, as every role, with hostile input: nothing answers with a 5xx.

The walk takes the routes from ``app.url_map`` (a route added later is walked too) and, for each,
puts hostile values in one place at a time: each path segment (the others valid, so the view
runs), each query parameter the view reads, and every field of a posted form (with the CSRF
token, which stays on). Which parameters a view reads is recorded while it runs (a request class
whose argument dicts note the names asked for), together with the fields the page at the same
address offers; so the walk follows the views as they change instead of a list kept by hand.

The hostile values: a NUL byte (PostgreSQL refuses it in text), ids beyond what an id column
holds, numbers ``int()`` cannot read, the edges of the calendar in the office's and ISO forms,
letters where numbers go, a repeated parameter (a list), nothing at all, and values that exist
but do not fit (a procedure no one starts by hand). One application (one database) per role
keeps what one role's posts change away from the others' walk.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from flask import Request
from sqlalchemy import select
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.routing import AnyConverter, IntegerConverter

from engine.cases import queries
from engine.db.models import AuditEvent, Case, HumanTask, ProcedureVersion, User
from engine.demo import seed as demo
from tests.web.conftest import TOKEN, Browser
from web.ui.forms_render import ACTION_FIELD

HUGE = "9999999999999999999999999"
BEYOND_BIGINT = str(2**63)
BEYOND_INTEGER = str(2**31)  # PostgreSQL's INTEGER, every id column's type
NUL = "a\x00b"
LONG_DIGITS = "9" * 5000  # more digits than Python's int() reads
SUPERSCRIPT = "²"  # str.isdigit() says yes, int() says no
# Scalars for query and form values; LIST stands for a parameter sent twice.
LIST = object()
VALUES = (
    NUL,
    HUGE,
    BEYOND_BIGINT,
    BEYOND_INTEGER,
    "-1",
    "31/12/9999",
    "01/01/0001",
    "0001-01-01T00:00:00",
    "9999-12-31",
    "9999-12",
    "abc",
    LONG_DIGITS,
    SUPERSCRIPT,
    "",
    LIST,
)
# Sent again with every other parameter the view reads set to FILLER (a search's «antes» counts only
# beside a «q»): the values that overflow.
BESIDE_OTHERS = (HUGE, BEYOND_INTEGER, "31/12/9999", "0001-01-01T00:00:00", "9999-12")
FILLER = "1"
# Path segments: the same, less what cannot be a segment (empty, lists, slashes).
INT_SEGMENTS = (HUGE, BEYOND_BIGINT, str(2**63 - 1), BEYOND_INTEGER, str(2**31 - 1), "0", "abc")
TEXT_SEGMENTS = (NUL, HUGE, BEYOND_BIGINT, BEYOND_INTEGER, "-1", "9999-12", "0001-01", "9999-12-31", "abc", "x" * 2000)
# Read with to_dict() (all at once), so the recording cannot name them: GeoReport's parameters.
OPEN311_PARAMS = ("service_request_id", "service_code", "start_date", "end_date", "status", "jurisdiction_id")
ALWAYS = ("volver", "next")  # posted as forms send them; a view reads them only after its work
PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
FIELD_NAME = re.compile(r'name="([^"]+)"')
ROLES = (None, "operador", "coordinador", "enlace", "analista", "auditor", "admin", "defensa", "lotes")
# Posting to these ends the walk's own session; they are walked last, signed in again after each.
SIGN_OUT = frozenset({"auth.salir"})

READ: set[str] = set()


class _Recording(ImmutableMultiDict):
    """Query and form values that note every name a view asks for."""

    def __getitem__(self, key):
        READ.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        READ.add(key)
        return super().__contains__(key)

    def get(self, key, default=None, type=None):  # noqa: A002 - MultiDict's own signature
        READ.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        READ.add(key)
        return super().getlist(key, type)


class _RecordingRequest(Request):
    parameter_storage_class = _Recording


def _valid_segments(app) -> dict[str, str]:
    """A value that exists for every path parameter name, so hostile values elsewhere reach the view."""
    engine = app.extensions["atiende"]
    with engine.store.read() as s:
        case = s.query(Case).order_by(Case.id).first()
        task = s.query(HumanTask).filter(HumanTask.case_id == case.id).first()
        version = queries.procedure_version(s, case.procedure_version_id)
        other_user = s.query(User).filter(User.username == "enlace_ambiental").one()
        event = s.query(AuditEvent).first()
        assert case and task and version and event
        return {
            "case_id": str(case.id),
            "task_id": task.id,
            "ticket": case.ticket,
            "service_request_id": case.ticket,
            "process_id": version.process_id,
            "number": str(version.version),
            "filename": sorted(version.bpmn)[0],
            "user_id": str(other_user.id),  # never the walker itself: its posts may deactivate the user
            "catalog": "direcciones",
            "item_id": "1",
            "direccion": "planificacion_urbana",
            "mes": "2026-03",
            "formato": "pdf",
            "service_code": case.case_type,
            "slug": "311",
        }


def _choices(app) -> dict[str, tuple[str, ...]]:
    """Values that exist but may be wrong where they are sent: every procedure for the new-case page
    (one started by its calendar or by another procedure has no start form to fill by hand)."""
    with app.extensions["atiende"].store.read() as s:
        return {"procedimiento": tuple(sorted(set(s.scalars(select(ProcedureVersion.process_id)))))}


def _url(rule, values: dict[str, str]) -> str:
    def segment(match: re.Match) -> str:
        return quote(values[match.group(2)], safe="")

    return PARAM.sub(segment, rule.rule)


def _path_variants(rule, valid: dict[str, str]):
    """The rule's address with valid segments, then with each segment hostile in turn."""
    base = {name: valid.get(name, "1") for name in rule.arguments}
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            base[name] = next(iter(converter.items))  # type: ignore[attr-defined]
    yield _url(rule, base)
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            continue
        for value in INT_SEGMENTS if isinstance(converter, IntegerConverter) else TEXT_SEGMENTS:
            yield _url(rule, {**base, name: value})


def _pairs(names, value) -> list[tuple[str, str]]:
    if value is LIST:
        return [pair for name in names for pair in ((name, "1"), (name, "abc"))]
    return [(name, value) for name in names]


class Walk:
    """One role's walk: requests, each checked, the 5xx (or exceptions) collected."""

    def __init__(self, app, role: str | None):
        self.app = app
        self.role = role
        self.choices = _choices(app)
        self.client = app.test_client()
        self.failures: list[str] = []
        self.requests = 0
        self.token = ""
        self.sign_in()

    def sign_in(self) -> None:
        browser = Browser(self.client)
        if self.role is not None:
            assert browser.login(self.role).status_code == 302
        page = "/" if self.role else "/ingresar"
        match = TOKEN.search(self.client.get(page).get_data(as_text=True))
        assert match, f"no CSRF token on {page}"
        self.token = match.group(1)

    def send(self, method: str, url: str, pairs: list[tuple[str, str]]) -> str:
        """Send one request; a 5xx or an exception (also while streaming the body) is a failure."""
        READ.clear()
        self.requests += 1
        # From an address of its own: the limits per address (sign-in, reports, Open311 reads) count
        # on a frozen clock, and a walk refused with 429 would reach no further than the first few.
        n = self.requests
        self.client.environ_base["REMOTE_ADDR"] = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        try:
            if method == "GET":
                response = self.client.get(url, query_string=MultiDict(pairs))
            else:
                # A view may read a name from the query as well as the form (``?procedimiento=``): both.
                response = self.client.post(
                    url, query_string=MultiDict(pairs), data=MultiDict([*pairs, ("csrf_token", self.token)])
                )
            body = response.get_data()  # a streamed body runs its generator here
        except Exception as failed:  # noqa: BLE001 - every exception is what this test looks for
            self.failures.append(
                f"{self.role} {method} {url[:120]} {repr(pairs)[:200]}: {type(failed).__name__}: {str(failed)[:300]}"
            )
            return ""
        if response.status_code >= 500:
            self.failures.append(f"{self.role} {method} {url[:120]} {repr(pairs)[:200]}: {response.status_code}")
        return body.decode() if response.status_code == 200 and response.mimetype == "text/html" else ""

    def route(self, rule, method: str, valid: dict[str, str]) -> None:
        urls = list(_path_variants(rule, valid))
        self.send(method, urls[0], [])
        names = set(READ)
        if method == "POST":  # and the fields of the page at the same address, and where to go back to
            names |= set(ALWAYS)
            if "GET" in rule.methods:
                names |= set(FIELD_NAME.findall(self.send("GET", urls[0], [])))
        elif rule.endpoint.startswith("open311."):
            names |= set(OPEN311_PARAMS)
        names.discard("csrf_token")
        for url in urls[1:]:
            self.send(method, url, [])
        if method == "POST":  # every field at once: the form's own checks come after the guard's
            for value in VALUES:
                self.send(method, urls[0], _pairs(sorted(names), value))
            for name in sorted(names & set(self.choices)):
                for value in self.choices[name]:
                    self.send(method, urls[0], [(name, value)])
            # Hostile names: rows of a repeated group (``campo.N.sub``), and a row button, with indexes no int holds.
            self.send(method, urls[0], [(f"{n}.{i}.x", "1") for n in sorted(names) for i in (LONG_DIGITS, SUPERSCRIPT)])
            self.send(method, urls[0], [(ACTION_FIELD, f"quitar:{n}:{LONG_DIGITS}") for n in sorted(names)])
            return
        for name in sorted(names):  # one parameter at a time, so no other one is refused first
            for value in (*VALUES, *self.choices.get(name, ())):
                self.send(method, urls[0], _pairs([name], value))
            others = [(other, FILLER) for other in sorted(names - {name})]
            for value in BESIDE_OTHERS:  # and beside the others, for a view that reads it only with them
                self.send(method, urls[0], [*others, *_pairs([name], value)])


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonimo")
def test_no_route_answers_5xx_to_hostile_input(app, role):
    """Every route × method, with NUL, huge ids, extreme dates, wrong types: 4xx at worst, never 5xx."""
    app.request_class = _RecordingRequest
    walk = Walk(app, role)
    valid = _valid_segments(app)
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint in SIGN_OUT, r.rule))
    for rule in rules:
        for method in sorted(rule.methods & {"GET", "POST"}):
            walk.route(rule, method, valid)
            if rule.endpoint in SIGN_OUT and method == "POST":
                walk.sign_in()
    if role is not None:  # the walk ran signed in throughout (no post of it signed the walker out)
        assert walk.client.get("/").status_code == 200
    assert walk.requests > 500
    assert not walk.failures, f"{len(walk.failures)} of {walk.requests}:\n" + "\n".join(walk.failures[:60])


def test_demo_roles_are_walked():
    """The walk covers every demo role but the second enlace (the same role, another dirección)."""
    walked = {r for r in ROLES if r}
    assert walked | {"enlace_ambiental"} == {username for username, *_ in demo.DEMO_USERS}


NUL_MESSAGE = "La solicitud contiene caracteres no permitidos"


def test_a_nul_anywhere_in_anonymous_input_is_a_spanish_400(app):
    """PostgreSQL cannot store NUL: sign-in, the status page, the report and Open311 refuse it first."""
    client = app.test_client()
    token = TOKEN.search(client.get("/ingresar").get_data(as_text=True)).group(1)
    report = {"ciudadano_nombre": "Ana", "descripcion": "Hueco\x00", "csrf_token": token}
    sent = [
        client.post("/ingresar", data={"usuario": "admin\x00", "contrasena": "x", "csrf_token": token}),
        client.get("/consulta?ticket=AC-2026-000001%00"),
        client.post("/consulta", data={"ticket": "AC\x00", "contacto": "a@b.example", "csrf_token": token}),
        client.post("/reporte", data=report),
        client.post("/reporte", data={"asunto\x00": "x", "csrf_token": token}),  # a field's name, too
        client.get("/open311/v2/requests/AC%00.json"),
        client.get("/open311/v2/requests.json?service_code=reporte%00"),
        client.post("/open311/v2/requests.json", data={"api_key": "k", "description": "x\x00"}),
    ]
    for response in sent:
        assert response.status_code == 400, response.request.url
        assert NUL_MESSAGE in response.get_data(as_text=True)


@pytest.mark.parametrize("case_id", [HUGE, BEYOND_BIGINT, str(2**63 - 1), BEYOND_INTEGER])
def test_ids_no_database_holds_are_404(app, browser, case_id):
    """An id beyond PostgreSQL's INTEGER matches no route: the Spanish 404, on both databases."""
    response = browser("operador").get(f"/casos/{case_id}")
    assert response.status_code == 404 and "no existe" in response.get_data(as_text=True)
    assert browser("operador").get(f"/casos/{2**31 - 1}").status_code == 404  # the largest is looked up
