"""No parameter that names where to go next (``next``, ``volver``) sends the browser off the site.

Every such parameter goes through ``web.ui.redirects.safe_next``; these tests send each one the
targets a browser would follow to another host (tab and backslash tricks, a scheme, an encoded
tab) and a legitimate path with its query, which is kept.
"""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import urlencode

import pytest

from tests.web.conftest import html, task_id
from web.ui.redirects import safe_next

HOSTILE = (
    "/\t/evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "//evil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "/%09/evil.example",
    "/%2F/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "http://localhost/casos/5",  # this site, but spelled with a host: only paths are kept
)
LEGITIMATE = "/casos/5?x=1"
PLANTILLA = "Llenar plantilla de queja o reclamo"


@pytest.mark.parametrize("target", HOSTILE)
def test_targets_that_leave_the_site_are_refused(target):
    assert safe_next(target) is None


def test_a_path_on_this_site_is_kept_with_its_query():
    assert safe_next(LEGITIMATE) == LEGITIMATE
    assert safe_next("/?alcance=mias") == "/?alcance=mias"
    assert safe_next("/casos/5#notas") == "/casos/5"


def _location(response) -> str:
    assert response.status_code == 302, response.status_code
    return response.headers["Location"]


@pytest.fixture
def walkers(app, browser):
    """Who sends each parameter, and the task and case they point at (one of the demo cases)."""
    operador, coordinador = browser("operador"), browser("coordinador")
    store = app.extensions["atiende"].store
    return operador, coordinador, task_id(store, 1, PLANTILLA)


def _sent(walkers, browser, target: str) -> dict[str, str]:
    """Where each redirect-target parameter sent the browser (or links it), for ``target``."""
    operador, coordinador, tid = walkers
    anonymous = browser()
    token = anonymous.token("/ingresar")
    signed_in = anonymous.client.post(
        "/ingresar",
        query_string={"next": target},
        data={"usuario": "auditor", "contrasena": "atiende2026", "csrf_token": token},
    )
    reassign_page = html(coordinador.get(f"/tareas/{tid}/reasignar?" + urlencode({"volver": target})))
    cancel = re.search(r'<a href="([^"]*)">Cancelar</a>', reassign_page)
    hidden = re.search(r'name="volver" value="([^"]*)"', reassign_page)
    assert cancel and hidden
    return {
        "ingresar next": _location(signed_in),
        "tomar volver": _location(operador.post(f"/tareas/{tid}/tomar", {"volver": target}, page="/")),
        "liberar volver": _location(operador.post(f"/tareas/{tid}/liberar", {"volver": target}, page="/")),
        "vincular volver": _location(
            operador.post("/casos/1/vincular", {"otro_caso": "2", "volver": target}, page="/")
        ),
        "reasignar volver": _location(
            coordinador.post(f"/tareas/{tid}/reasignar", {"usuario": "operador", "volver": target}, page="/")
        ),
        "reasignar enlace Cancelar": html_lib.unescape(cancel.group(1)),
        "reasignar campo volver": html_lib.unescape(hidden.group(1)),
    }


@pytest.mark.parametrize("target", HOSTILE)
def test_no_parameter_redirects_off_the_site(walkers, browser, target):
    """Each parameter falls back to its own page (the bandeja, the task, the case) instead."""
    sent = _sent(walkers, browser, target)
    _, _, tid = walkers
    assert sent == {
        "ingresar next": "/",
        "tomar volver": f"/tareas/{tid}",
        "liberar volver": f"/tareas/{tid}",
        "vincular volver": "/casos/1",
        "reasignar volver": "/",
        "reasignar enlace Cancelar": "/",
        "reasignar campo volver": "/",
    }


def test_every_parameter_keeps_a_path_of_this_site(walkers, browser):
    assert set(_sent(walkers, browser, LEGITIMATE).values()) == {LEGITIMATE}
