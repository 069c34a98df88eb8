"""The bandeja says «más de …» for a count past the cap, and so does its page count."""

from tests.web.conftest import html, start_case


def test_a_count_past_the_cap_reads_mas_de(browser, count_cap):
    operador = browser("operador")
    for _ in range(3):
        start_case(operador, corregimiento="tocumen")
    count_cap(2)
    page = html(operador.get("/?corregimiento=tocumen"))
    assert "<strong>más de 2</strong> tareas" in page
    assert "más de 2 sin tomar" in page and "0 tomadas por usted" in page
    assert "Página 1 de más de 1." in page
    count_cap(10_000)
    assert "<strong>3</strong> tareas" in html(operador.get("/?corregimiento=tocumen"))
