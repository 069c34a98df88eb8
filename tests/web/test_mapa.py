"""The heatmap page (/indicadores/mapa/<process>): who may see it, its JSON figures, its table,
and Spanish answers to an unknown procedure and to a bad date."""

import pytest

from tests.web.conftest import html, start_case, task_id

MAP = "/indicadores/mapa/tramitacion_comun"
TEMPLATE = "Task_plantilla_queja_reclamo"
HOJA = "Task_confeccionar_hoja"


def steps_of(response) -> dict[str, dict]:
    assert response.status_code == 200, html(response)
    return {step["id"]: step for step in response.get_json()["pasos"]}


@pytest.mark.parametrize("username", ["coordinador", "auditor", "admin", "analista"])
def test_the_office_figures_readers_and_the_analyst_see_the_map(browser, username):
    page = browser(username).get(MAP)
    assert page.status_code == 200
    body = html(page)
    assert "Tiempos por paso" in body and "Confeccionar hoja de trámite" in body
    assert 'data-cifras-url="/indicadores/mapa/tramitacion_comun/cifras.json"' in body
    assert browser(username).get(MAP + "/diagrama.bpmn").get_data(as_text=True).startswith("<?xml")


@pytest.mark.parametrize("username", ["enlace", "operador", "defensa"])
def test_others_are_refused(browser, username):
    person = browser(username)
    for url in (MAP, MAP + "/cifras.json", MAP + "/diagrama.bpmn"):
        response = person.get(url)
        assert response.status_code == 403
        assert "mapa de tiempos" in html(response)


def test_anonymous_goes_to_sign_in(browser):
    response = browser().get(MAP)
    assert response.status_code == 302 and response.headers["Location"].startswith("/ingresar")


def test_the_json_follows_a_completion(browser, store, frozen_clock):
    coordinador, operador = browser("coordinador"), browser("operador")
    before = steps_of(coordinador.get(MAP + "/cifras.json"))
    case_id = start_case(operador)
    frozen_clock.advance(hours=30, minutes=5)
    task = task_id(store, case_id, "Llenar plantilla de queja o reclamo")
    assert operador.post(f"/tareas/{task}", {"hechos": "Acera rota.", "pretension": "Reparar."}).status_code == 302
    after = steps_of(coordinador.get(MAP + "/cifras.json"))
    assert after[TEMPLATE]["completadas"] == before[TEMPLATE]["completadas"] + 1
    assert after[HOJA]["en_espera"] == before[HOJA]["en_espera"] + 1
    assert after[TEMPLATE]["en_espera"] == before[TEMPLATE]["en_espera"]  # one in, one out
    # Only this completion in March 2026 (the test clock's month): its 30 h are the 30–31 h bucket.
    march = steps_of(coordinador.get(MAP + "/cifras.json?desde=01/03/2026&hasta=31/03/2026"))
    assert march[TEMPLATE]["completadas"] == 1
    assert march[TEMPLATE]["mediana"] == {"desde_segundos": 30 * 3600, "hasta_segundos": 31 * 3600, "texto": "30–31 h"}
    assert march[TEMPLATE]["calor"] == 3 and march[TEMPLATE]["calor_texto"] == "Más lento"
    page = html(coordinador.get(MAP + "?desde=01/03/2026&hasta=31/03/2026"))
    assert "Paso más lento" in page and "30–31 h" in page


def test_an_unknown_procedure_is_a_spanish_404(browser):
    coordinador = browser("coordinador")
    for url in ("/indicadores/mapa/no_existe", "/indicadores/mapa/no_existe/diagrama.bpmn"):
        response = coordinador.get(url)
        assert response.status_code == 404 and "El procedimiento no existe." in html(response)
    response = coordinador.get("/indicadores/mapa/no_existe/cifras.json")
    assert response.status_code == 404 and response.get_json() == {"error": "El procedimiento no existe."}


def test_a_bad_date_is_said_beside_its_field(browser):
    coordinador = browser("coordinador")
    response = coordinador.get(MAP + "?desde=32/13/2026&hasta=01/01/2026")
    assert response.status_code == 422
    body = html(response)
    assert 'id="filtro-desde-error"' in body and "dd/mm/aaaa" in body
    assert 'aria-invalid="true"' in body
    reversed_ = coordinador.get(MAP + "?desde=01/02/2026&hasta=01/01/2026")
    assert reversed_.status_code == 422 and "no puede ser anterior" in html(reversed_)
    assert coordinador.get(MAP + "/cifras.json?hasta=ayer").get_json()["errores"]["hasta"].startswith("Fecha inválida")


def test_a_caller_names_the_procedure_that_draws_its_steps(browser):
    page = html(browser("coordinador").get("/indicadores/mapa/atencion_correo_web"))
    assert 'href="/indicadores/mapa/tramitacion_comun"' in page


def test_the_list_links_every_deployed_procedures_map(browser):
    page = browser("analista").get("/indicadores/mapa/")
    assert page.status_code == 200
    body = html(page)
    for process_id in ("tramitacion_comun", "atencion_correo_web", "lotes_baldios"):
        assert f'href="/indicadores/mapa/{process_id}"' in body
    assert browser("enlace").get("/indicadores/mapa/").status_code == 403
