"""The operator's day (issue 18): a citizen's queja from the Reporte Ciudadano to «cerrado», worked
in the browser by the office as its people work, with what it costs them counted.

Who does what: the citizen reports on /reporte (the web channel of the e-mail/web procedure); the
operador fills the plantilla and the hoja de trámite, the coordinador approves the hoja, the enlace
of the dirección acknowledges it, and the operador writes the final answer, which closes the case.
Each person has their own browser, SIGNED IN AT THE START OF THEIR DAY, BEFORE THE CASE ARRIVES,
and sits on their bandeja: the sign-in is not counted, nor is the citizen's work. What is counted,
per person and step:

- staff page loads: every document the browser receives for a staff page (each navigation of its
  main frame; a form posted and redirected counts once, as the page it lands on), popups included;
- interactions: every click, fill, choice, check and key press the test makes in a staff page. The
  test never touches a page but through ``Person``, which counts each one: nothing escapes.

The people act as a person does with the page in front of them: they refresh the bandeja with its
«Actualizar» (or the browser's reload where there is none), type only what the page does not
already hold (a field the form prefilled is read, not retyped), and press a decision's own button
where the form offers one (else choose it and press «Completar tarea»). The target is the issue's:
at most 12 staff page loads and 20 interactions (25 and 37 when the issue was filed). Every page of
the walk is checked by axe-core (WCAG 2.1 A/AA), and each step leaves a screenshot in
``$ATIENDE_ARTEFACTS`` (default test-artifacts/); the counts are printed per step.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from engine.db.models import Case
from tests.fixtures import axe, live

pytestmark = [
    pytest.mark.skipif(not live.chromium_available(), reason=live.CHROMIUM_MISSING),
    pytest.mark.skipif(not axe.installed(), reason=axe.AXE_MISSING),
]
ARTEFACTS = live.ARTIFACTS
MOST_LOADS = 12
MOST_INTERACTIONS = 20
CITIZEN = {
    "nombre": "Rosa Batista",
    "email": "rosa.batista@example.com",
    "lugar": "rosa.batista@example.com",
    "corregimiento": "Bella Vista",
    "asunto": "Acera rota frente a la escuela",
    "descripcion": "La acera frente a la escuela de Bella Vista está rota desde enero; un niño se cayó.",
}
HECHOS = "La acera frente a la escuela está rota desde enero y un niño se cayó."
PRETENSION = "Que reparen la acera."
RESUMEN = "Reparar la acera rota frente a la escuela de Bella Vista antes de que alguien más se lastime."
DIRECCION = "Dirección de Planificación Urbana"
RESPUESTA = "La Dirección de Planificación Urbana reparó la acera frente a la escuela el 05/03/2026."


@dataclass
class Step:
    number: int
    who: str
    what: str
    pages: list[str]  # the page loads, by path
    acts: list[str]  # the interactions, by what they were

    @property
    def loads(self) -> int:
        return len(self.pages)

    @property
    def interactions(self) -> int:
        return len(self.acts)


class Walk:
    """The steps of the day, what each cost, the axe violations and the screenshots."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.steps: list[Step] = []
        self.violations: list[str] = []
        directory.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def step(self, person: Person, what: str):
        """A step of one person: its loads and interactions; then the page is checked and shot."""
        loads, acts = len(person.loaded), len(person.acts)
        yield
        person.page.wait_for_load_state("load")  # the page the step ends on, whole before it is looked at
        number = len(self.steps) + 1
        pages = [urlsplit(url).path for url in person.loaded[loads:]]
        self.steps.append(Step(number, person.username, what, pages, person.acts[acts:]))
        self.look(person.page, f"{number:02d}_{person.username}_{what}")

    def look(self, page, name: str) -> None:
        page.screenshot(
            path=str(self.directory / f"dia_{re.sub(r'[^a-z0-9_]+', '_', name.lower())}.png"), full_page=True
        )
        found = axe.violations(page)
        if found:
            self.violations.append(axe.describe(f"{name} ({page.url})", found))

    def report(self) -> str:
        lines = [f"{'paso':>4}  {'quién':<12} {'qué':<16} cargas  interacciones"]
        for s in self.steps:
            lines.append(f"{s.number:>4}  {s.who:<12} {s.what:<16} {s.loads:>6}  {s.interactions:>13}")
            lines += [f"{'':>6}carga: {page}" for page in s.pages] + [f"{'':>6}{act}" for act in s.acts]
        lines.append(f"{'':>4}  {'total':<12} {'':<16} {self.loads:>6}  {self.interactions:>13}")
        return "\n".join(lines)

    @property
    def loads(self) -> int:
        return sum(s.loads for s in self.steps)

    @property
    def interactions(self) -> int:
        return sum(s.interactions for s in self.steps)


class Person:
    """A member of staff in a browser context of their own. Every page load is counted (each
    document a page of the context receives) and so is every interaction: the test acts on the page
    only through the methods below, which name each one. Only the sign-in, before the day's work,
    goes around them."""

    def __init__(self, browser, base: str, username: str):
        self.username = username
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        axe.prepare(self.context)
        self.loaded: list[str] = []  # the URL of every page load
        self.acts: list[str] = []  # every interaction, by what it was
        self.context.on("page", self._watch)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        live.sign_in(self.page, base, username)  # at the start of the day: not counted
        self.page.wait_for_load_state("load")
        self.counted_from = (len(self.loaded), len(self.acts))

    def _watch(self, page) -> None:
        """Count the documents a page of this person receives: each response to a navigation of its
        main frame that is not a redirect (a form posted and redirected is one load, where it lands).
        Not the ``load`` event: a person who clicks on before it fires has still loaded the page."""

        def received(response) -> None:
            request = response.request
            if (
                request.is_navigation_request()
                and request.frame == page.main_frame
                and not 300 <= response.status < 400
            ):
                self.loaded.append(response.url)

        page.on("response", received)

    # What a person does, each counted once.
    def click(self, locator, what: str) -> None:
        self.acts.append(f"clic: {what}")
        locator.click()

    def fill(self, label: str, value: str) -> None:
        self.acts.append(f"escribe: {label}")
        self.field(label).fill(value)

    def fill_unless_filled(self, label: str, value: str) -> None:
        """Type only into a field the page left empty: a prefilled one is read, not retyped."""
        if not self.field(label).input_value().strip():
            self.fill(label, value)

    def choose(self, group: str, option: str) -> None:
        """Pick ``option`` of the field ``group`` (a list or radio buttons) unless already picked."""
        field = self.field(group)
        if field.count() and field.first.evaluate("e => e.tagName") == "SELECT":
            if not field.first.evaluate("e => e.value"):
                self.acts.append(f"elige: {group}")
                field.first.select_option(label=option)
            return
        radio = self.page.get_by_role("group", name=re.compile(rf"^{re.escape(group)}")).get_by_label(option)
        if not radio.is_checked():
            self.acts.append(f"marca: {group}")
            radio.check()

    def reload(self) -> None:
        """The browser's reload (F5): one interaction, one page load."""
        self.acts.append("tecla: F5 (recargar)")
        self.page.reload()

    # What the counts say, since the sign-in.
    def spent(self) -> tuple[int, int]:
        return len(self.loaded) - self.counted_from[0], len(self.acts) - self.counted_from[1]

    # Moves that recur, made of the counted actions above.
    def refresh_bandeja(self, ticket: str) -> None:
        """Bring the new work into the bandeja: its «Actualizar» where it has one, else reload."""
        page = self.page
        refresh = page.get_by_role("button", name="Actualizar").or_(page.get_by_role("link", name="Actualizar"))
        if refresh.count():
            self.click(refresh.first, "Actualizar")
        else:
            self.reload()
        page.get_by_role("row").filter(has_text=ticket).first.wait_for()

    def open_task(self, ticket: str, task: str) -> None:
        page = self.page
        self.click(page.get_by_role("row").filter(has_text=ticket).get_by_role("link", name=task).first, task)
        page.get_by_role("heading", level=1, name=task).wait_for()

    def complete(self) -> None:
        self.click(self.page.get_by_role("button", name="Completar tarea").last, "Completar tarea")

    def decide(self, group: str, option: str) -> None:
        """A decision: its own button where the form offers one, else the choice and «Completar tarea»."""
        button = self.page.get_by_role("button", name=re.compile(rf"^{re.escape(option)}"))
        if button.count():
            self.click(button.first, option)
        else:
            self.choose(group, option)
            self.complete()

    def field(self, label: str):
        """The form control labelled ``label`` (a region may carry the same name)."""
        page = self.page
        return page.get_by_label(re.compile(rf"^{re.escape(label)}")).and_(page.locator("input, textarea, select"))

    def at_bandeja(self) -> None:
        self.page.get_by_role("heading", level=1, name="Bandeja de tareas").wait_for()

    def shows(self, text: str) -> bool:
        """Whether the page puts ``text`` before the person: in its content or in a frame of it
        (a document shown inline)."""
        frames = [self.page.main_frame.locator("main"), *(f.locator("body") for f in self.page.main_frame.child_frames)]
        return any(text in " ".join(frame.inner_text().split()) for frame in frames)


def report_as_citizen(browser, base: str, walk: Walk) -> str:
    """The citizen's queja on the Reporte Ciudadano (not counted); the ticket it is given."""
    context = browser.new_context()
    axe.prepare(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/reporte")
    walk.look(page, "00_ciudadano_reporte")
    page.get_by_label("Queja o reclamo").check()
    page.get_by_label(re.compile("^Nombre completo")).fill(CITIZEN["nombre"])
    page.get_by_label(re.compile("^Correo electrónico")).fill(CITIZEN["email"])
    page.get_by_label(re.compile("^Lugar")).fill(CITIZEN["lugar"])
    page.get_by_label(re.compile("^Corregimiento")).select_option(label=CITIZEN["corregimiento"])
    page.get_by_label(re.compile("^Asunto")).fill(CITIZEN["asunto"])
    page.get_by_label(re.compile("^Descripción")).fill(CITIZEN["descripcion"])
    page.get_by_label(re.compile("^Autorizo")).check()
    page.get_by_role("button", name="Enviar reporte").click()
    ticket = page.get_by_text(re.compile(r"AC-\d{4}-\d{6}")).first
    ticket.wait_for()
    walk.look(page, "00_ciudadano_recibido")
    number = re.search(r"AC-\d{4}-\d{6}", ticket.inner_text())
    assert number, ticket.inner_text()
    context.close()
    return number.group(0)


@pytest.fixture
def browser():
    with live.browser() as chromium:
        yield chromium


def test_a_queja_goes_from_the_citizen_to_closed_within_12_page_loads_and_20_interactions(served, browser):
    app, base = served
    walk = Walk(ARTEFACTS)
    # The day starts: each person signs in and sits on their bandeja, before the case arrives.
    operador, coordinador, enlace = (Person(browser, base, who) for who in ("operador", "coordinador", "enlace"))
    seen_missing = []  # what a person had to do without (asserted at the end, after the counts)

    ticket = report_as_citizen(browser, base, walk)

    with walk.step(operador, "plantilla"):
        operador.refresh_bandeja(ticket)
        operador.open_task(ticket, "Llenar plantilla de queja o reclamo")
        if not operador.shows(CITIZEN["descripcion"]):
            seen_missing.append("the plantilla task does not show the citizen's description")
        operador.fill_unless_filled("Hechos", HECHOS)
        operador.fill_unless_filled("Lo que solicita el ciudadano", PRETENSION)
        operador.complete()
        operador.page.get_by_role("heading", level=1, name="Confeccionar hoja de trámite").wait_for()

    with walk.step(operador, "hoja_de_tramite"):
        operador.choose("Dirección destinataria", DIRECCION)
        operador.fill_unless_filled("Resumen del caso", RESUMEN)
        operador.fill_unless_filled("Datos del ciudadano y del lugar", CITIZEN["nombre"])
        resumen = " ".join(operador.field("Resumen del caso").input_value().split())  # what the hoja will say
        operador.complete()
        operador.at_bandeja()

    with walk.step(coordinador, "aprobar_hoja"):
        coordinador.refresh_bandeja(ticket)
        coordinador.open_task(ticket, "Aprobar hoja de trámite")
        if not coordinador.shows(resumen):
            seen_missing.append("the approval task does not show the hoja de trámite")
        coordinador.decide("Decisión", "Aprobar y remitir")
        coordinador.at_bandeja()

    with walk.step(enlace, "acuse_de_recibo"):
        enlace.refresh_bandeja(ticket)
        enlace.open_task(ticket, "Confirmar acuse de recibo")
        if not enlace.shows(resumen):
            seen_missing.append("the acuse task does not show the hoja de trámite")
        enlace.fill_unless_filled("Recibido por", "Elena Enlace")
        enlace.fill_unless_filled("Fecha de recibo", "02/03/2026")
        enlace.complete()
        enlace.at_bandeja()

    with walk.step(operador, "respuesta_final"):
        operador.refresh_bandeja(ticket)
        operador.open_task(ticket, "Registrar respuesta final al ciudadano")
        operador.fill("Respuesta final", RESPUESTA)
        operador.choose("Medio de respuesta", "Correo electrónico")
        operador.fill_unless_filled("Fecha de la respuesta", "02/03/2026")
        operador.complete()
        operador.at_bandeja()

    with app.extensions["atiende"].store.read() as s:
        status = s.scalars(select(Case.status).where(Case.ticket == ticket)).one()
    spent = [person.spent() for person in (operador, coordinador, enlace)]
    print(f"\nCaso {ticket}: {status}\n{walk.report()}\nCapturas en {ARTEFACTS}")
    assert status == "cerrado"
    # every load and interaction of the staff happened inside a step: none escaped the table
    assert (sum(loads for loads, _ in spent), sum(acts for _, acts in spent)) == (walk.loads, walk.interactions)
    assert not walk.violations, "\n".join(walk.violations)
    assert walk.loads <= MOST_LOADS and walk.interactions <= MOST_INTERACTIONS, (
        f"{walk.loads} staff page loads (at most {MOST_LOADS}) and {walk.interactions} interactions "
        f"(at most {MOST_INTERACTIONS}):\n{walk.report()}\nMissing: {seen_missing}"
    )
    assert not seen_missing, seen_missing
