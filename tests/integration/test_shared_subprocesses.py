"""A called procedure is changed once: a deploy of «Tramitación común» alone reaches new cases of every
channel that calls it (each caller gets a new version bundling it), running cases keep theirs, and the
history says which callers a version of the called procedure affects."""

import json

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from engine.bpm.state.serializer import InstanceSerializer
from engine.db.models import Case, ProcedureVersion
from engine.db.store import Store
from engine.errors import DiagramError
from engine.facade import FORMS_DIR, PROCESSES_DIR
from engine.forms import schemas as form_schemas
from engine.procedures import drafts, history, publishing, scenarios, versions
from tests.conftest import START
from tests.fixtures.desk import DAY
from tests.integration.test_migrations import migrate_to

CHANNELS = ("atencion_correo_web", "atencion_llamadas", "atencion_directa")
COMMON = "tramitacion_comun"
THIRTY = "primero(sumar_dias(fecha_inicio, 30, habiles=False), sumar_meses(fecha_inicio, 1))"
TWENTY_FIVE = "sumar_dias(fecha_inicio, 25, habiles=False)"


def common_diagram(term: str = TWENTY_FIVE) -> dict[str, str]:
    """The common steps' diagram as its own editor holds it, with the legal term changed."""
    text = (PROCESSES_DIR / f"{COMMON}.bpmn").read_text(encoding="utf-8")
    assert THIRTY in text
    return {f"{COMMON}.bpmn": text.replace(THIRTY, term)}


def scenario_sets(plazo: int) -> dict[str, scenarios.ScenarioSet]:
    """The scenarios kept in git, brought to a term of ``plazo`` days (as the analyst would edit them)."""
    found, problems = scenarios.load_directory(PROCESSES_DIR)
    assert not problems
    correo = found["atencion_correo_web"]
    text = json.dumps(correo.scenarios)
    assert '"plazo_dias": 30' in text and '"P29D"' in text
    edited = text.replace('"plazo_dias": 30', f'"plazo_dias": {plazo}').replace('"P29D"', f'"P{plazo - 1}D"')
    found["atencion_correo_web"] = scenarios.ScenarioSet(correo.source, correo.process_id, json.loads(edited))
    return found


def latest(store, process_id: str) -> ProcedureVersion:
    with store.read() as s:
        return s.scalar(
            select(ProcedureVersion)
            .where(ProcedureVersion.process_id == process_id)
            .order_by(ProcedureVersion.version.desc())
            .limit(1)
        )


def start(desk, channel: str) -> int:
    """A new case of a channel, brought into the common steps (a call is reviewed by the back office first)."""
    case_id = desk.start(channel)
    if channel == "atencion_llamadas":
        desk.do(case_id, "Task_revisar_ticket_llamada")
    return case_id


def due_days(desk, case_id: int) -> int:
    return (desk.case(case_id).due_at - START) // DAY


def test_a_deployed_change_to_the_common_steps_reaches_new_cases_of_every_channel(atiende, desk, store):
    before = {channel: start(desk, channel) for channel in CHANNELS}
    assert {channel: due_days(desk, case) for channel, case in before.items()} == dict.fromkeys(CHANNELS, 30)
    forms = form_schemas.load_directory(FORMS_DIR)

    deployed = publishing.publish(
        atiende, publishing.DiagramSet(common_diagram(), forms, scenario_sets(25)), "ana", note="Plazo de 25 días"
    )

    common = latest(store, COMMON)
    assert common.version == 2 and common.note == "Plazo de 25 días"
    assert {v.process_id for v in deployed} == {COMMON, *CHANNELS}
    for channel in CHANNELS:
        caller = latest(store, channel)
        assert caller.version == 2
        assert caller.note == "Por cambio en Tramitación común de casos (Atención al Ciudadano) v2: Plazo de 25 días"
        assert caller.calls == {COMMON: 2}
        assert TWENTY_FIVE in caller.bpmn[f"{COMMON}.bpmn"]
        assert due_days(desk, start(desk, channel)) == 25, channel
    # Running cases keep the version they started with, and its term, and go on on it.
    desk.do(before["atencion_correo_web"], "Task_plantilla_queja_reclamo")
    assert desk.ready(before["atencion_correo_web"]) == ["Task_confeccionar_hoja"]
    for channel, case_id in before.items():
        assert due_days(desk, case_id) == 30
        with store.read() as s:
            version = s.get(ProcedureVersion, s.get(Case, case_id).procedure_version_id)
            assert (version.process_id, version.version) == (channel, 1)


def test_a_callers_scenario_that_the_change_breaks_refuses_the_deploy_naming_it(atiende, store):
    forms = form_schemas.load_directory(FORMS_DIR)
    with pytest.raises(DiagramError) as refused:
        publishing.publish(atiende, publishing.DiagramSet(common_diagram(), forms, scenario_sets(30)), "ana")
    assert any(
        "Queja respondida a tiempo" in str(p) and "se esperaba un plazo de 30 días" in str(p)
        for p in refused.value.problems
    )
    assert all(latest(store, p).version == 1 for p in (COMMON, *CHANNELS))  # nothing stored


def test_the_facade_deploy_of_the_called_diagram_alone_re_versions_its_callers(atiende, desk, store):
    atiende.deploy(common_diagram(), form_schemas.load_directory(FORMS_DIR), "ana")
    for channel in CHANNELS:
        assert latest(store, channel).calls == {COMMON: 2}
        assert due_days(desk, start(desk, channel)) == 25


def test_a_callers_draft_made_before_the_change_keeps_the_new_common_steps(atiende, desk, store):
    """A draft copies its caller's diagrams, the called one too: deploying it later must not bring back the
    common steps it copied."""
    with store.unit_of_work() as s:
        drafts.save(s, "atencion_llamadas", "ana", atiende.now(), scenario_dir=PROCESSES_DIR)
    forms = form_schemas.load_directory(FORMS_DIR)
    publishing.publish(atiende, publishing.DiagramSet(common_diagram(), forms, scenario_sets(25)), "ana")
    with store.read() as s:
        draft = drafts.current(s, "atencion_llamadas", PROCESSES_DIR)
        own = draft.bpmn["atencion_llamadas.bpmn"]
        diagrams = drafts.diagram_set(s, draft, forms, PROCESSES_DIR)
    assert THIRTY in draft.bpmn[f"{COMMON}.bpmn"]  # the copy the draft was made with
    diagrams.files["atencion_llamadas.bpmn"] = own.replace(
        'name="Llamada recibida"', 'name="Llamada telefónica recibida"'
    )
    diagrams.scenario_sets = scenario_sets(25)
    publishing.publish(atiende, diagrams, "ana", note="Otro nombre")
    llamadas = latest(store, "atencion_llamadas")
    assert (llamadas.version, llamadas.calls, latest(store, COMMON).version) == (3, {COMMON: 2}, 2)
    assert due_days(desk, start(desk, "atencion_llamadas")) == 25


def test_the_history_names_the_callers_a_version_affects_and_the_version_each_caller_uses(atiende, store):
    forms = form_schemas.load_directory(FORMS_DIR)
    publishing.publish(atiende, publishing.DiagramSet(common_diagram(), forms, scenario_sets(25)), "ana")
    with store.read() as s:
        [procedure] = history.overview(s, COMMON)
        assert list(procedure.versions[0].affects) == [
            ("atencion_correo_web", "Atención vía correo electrónico y página web (Reporte Ciudadano)", 2),
            ("atencion_directa", "Atención directa al ciudadano", 2),
            ("atencion_llamadas", "Atención de llamadas telefónicas", 2),
        ]
        assert [ref.process_id for ref in procedure.versions[1].used_by] == sorted(CHANNELS)
        assert procedure.versions[1].affects == ()
        [caller] = history.overview(s, "atencion_llamadas")
        assert list(caller.versions[0].uses) == [(COMMON, "Tramitación común de casos (Atención al Ciudadano)", 2)]
        assert list(caller.versions[1].uses) == [(COMMON, "Tramitación común de casos (Atención al Ciudadano)", 1)]


def test_a_callers_saved_draft_brings_its_scenarios_to_the_change_from_the_called_procedures_editor(
    atiende, desk, store
):
    """The analyst changes the term in «Tramitación común»'s editor; the correo channel's scenarios expect
    30 days, so the deploy is refused naming them; the analyst brings them to 25 in that channel's editor
    («Guardar») and deploys the same change again."""
    forms = form_schemas.load_directory(FORMS_DIR)
    with store.read() as s:
        draft = drafts.current(s, COMMON, PROCESSES_DIR)
        draft.bpmn.update(common_diagram())
        diagrams = drafts.diagram_set(s, draft, forms, PROCESSES_DIR)
    with pytest.raises(DiagramError) as refused:
        publishing.publish(atiende, diagrams, "ana")
    assert any("llama a un procedimiento que cambia" in str(p) for p in refused.value.problems)
    with store.unit_of_work() as s:
        correo = scenario_sets(25)["atencion_correo_web"]
        document = {"proceso": correo.process_id, "escenarios": correo.scenarios}
        drafts.save(s, "atencion_correo_web", "ana", atiende.now(), scenario_text=json.dumps(document))
    publishing.publish(atiende, diagrams, "ana")
    assert due_days(desk, start(desk, "atencion_correo_web")) == 25
    with store.read() as s:
        kept = publishing.stored_scenarios(s)["atencion_correo_web"]
    assert '"plazo_dias": 25' in json.dumps(kept.scenarios)


def test_the_migration_records_the_called_version_each_existing_version_bundles(bare_url):
    migrate_to(bare_url, "0014")
    candidates = {
        c.process_id: c
        for c in versions.check(*versions.read_directory(PROCESSES_DIR, FORMS_DIR), InstanceSerializer())
    }
    columns = ("id", "process_id", "name", "version", "content_hash", "bpmn", "forms", "spec", "deployed_by")
    table = sa.table(
        "procedure_version", *map(sa.column, columns), sa.column("deployed_at"), sa.column("note"), sa.column("calls")
    )
    store = Store(bare_url)
    with store.engine.begin() as conn:
        for number, pid in enumerate((COMMON, "atencion_directa", "lotes_baldios"), 1):
            c = candidates[pid]
            conn.execute(
                sa.insert(table).values(
                    id=number,
                    process_id=pid,
                    name=c.name,
                    version=1,
                    content_hash=c.content_hash,
                    bpmn=json.dumps(c.bpmn),
                    forms=json.dumps(c.forms),
                    spec=json.dumps(c.spec),
                    deployed_by="ana",
                    deployed_at=START.replace(tzinfo=None),
                    note="",
                )
            )
    store.dispose()
    migrate_to(bare_url, "0015")
    store = Store(bare_url)
    with store.engine.connect() as conn:
        found = conn.execute(sa.select(table.c.process_id, table.c.calls)).all()
    calls = {pid: value if isinstance(value, dict) else json.loads(value) for pid, value in found}
    store.dispose()
    assert calls == {COMMON: {}, "atencion_directa": {COMMON: 1}, "lotes_baldios": {}}
