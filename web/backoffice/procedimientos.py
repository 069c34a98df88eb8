"""Procedures: versions and their history (analysts and auditors); the editor, deploys and
migrations of waiting cases (analysts only).

The blueprint refuses everyone who is neither analyst nor auditor before any view runs, and
every view that changes something refuses the auditor too, so a route added later cannot be
left open by forgetting a check. The views only parse the request and call the engine.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from engine.access import permissions
from engine.access.roles import ROLES
from engine.errors import DiagramError, DraftErrors, FormErrors
from engine.facade import FORMS_DIR, PROCESSES_DIR
from engine.forms import schemas as form_schemas
from engine.procedures import case_migration, publishing, replay
from engine.procedures import drafts as procedure_drafts
from engine.procedures import history as procedure_history
from web.ui.context import actor, atiende
from web.ui.guards import number
from web.vendor import bpmn_js_installed, lint_installed

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

bp = Blueprint("procedimientos", __name__, url_prefix="/procedimientos")

READERS_ONLY = "Solo los analistas de procesos y los auditores pueden ver los procedimientos."
EDITORS_ONLY = "Solo los analistas de procesos pueden cambiar procedimientos."
PREVIEW_LIMIT = 100  # cases previewed on one page (each preview migrates a copy of the case's workflow)
FORM_FIELD = "form:"


@bp.before_request
def _readers_only():
    if not permissions.may_read_procedures(actor()):
        abort(403, READERS_ONLY)


def editors_only(view):
    """Refuse the view to anyone but an analyst (the auditor reads, never changes)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not permissions.may_edit_procedures(actor()):
            abort(403, EDITORS_ONLY)
        return view(*args, **kwargs)

    return wrapped


@bp.get("/")
def lista():
    """Every procedure with its versions (who, when, why) and the cases running on each."""
    with atiende().store.read() as s:
        rows = procedure_history.overview(s)
        new_drafts = procedure_drafts.unpublished(s)
    return render_template(
        "procedimientos/lista.html",
        procedures=rows,
        new_drafts=new_drafts,
        may_edit=permissions.may_edit_procedures(actor()),
    )


@bp.get("/nuevo")
@editors_only
def nuevo():
    """The form that creates a new procedure: a name, a process id, and an empty diagram or a copy."""
    return _new_page()


@bp.post("/nuevo")
@editors_only
def crear():
    """Create the new procedure's draft and open it in the editor; its first deploy makes it a procedure."""
    engine = atiende()
    name = request.form.get("nombre", "")
    process_id = request.form.get("identificador", "").strip() or procedure_drafts.derived_id(name)
    try:
        with engine.store.unit_of_work() as s:
            procedure_drafts.create(
                s,
                process_id,
                name,
                actor().username,
                engine.now(),
                starter=request.form.get("rol") or None,
                copy_of=request.form.get("copia") or None,
                scenario_dir=PROCESSES_DIR,
            )
    except DraftErrors as invalid:
        return _new_page(invalid.errors), 422
    flash(f"Procedimiento nuevo «{process_id}» creado como borrador: despliéguelo para que pueda iniciarse.", "exito")
    return redirect(url_for(".editor", process_id=process_id))


@bp.get("/<process_id>/")
def historial(process_id: str):
    """Every version of a procedure with its differences from the previous one."""
    engine = atiende()
    with engine.store.read() as s:
        changes = procedure_history.history(engine, s, process_id)
        if not changes:
            abort(404, "El procedimiento no existe.")
        [procedure] = procedure_history.overview(s, process_id)
    return render_template(
        "procedimientos/historial.html",
        procedure=procedure,
        changes=changes,
        may_edit=permissions.may_edit_procedures(actor()),
    )


@bp.get("/<process_id>/v<int:number>")
def version(process_id: str, number: int):
    """One version's diagram in a viewer (pick the file when it has several)."""
    with atiende().store.read() as s:
        found = _version(s, process_id, number)
        filename = _pick(found.bpmn, request.args.get("archivo"), process_id)
        files = sorted(found.bpmn)
    return render_template(
        "procedimientos/version.html",
        version=found,
        filename=filename,
        files=files,
        xml_url=url_for(".archivo_version", process_id=process_id, number=number, filename=filename),
        viewer=bpmn_js_installed(),
    )


@bp.get("/<process_id>/v<int:number>/<filename>")
def archivo_version(process_id: str, number: int, filename: str):
    """A version's diagram file as deployed (``?descargar=1`` to save it)."""
    with atiende().store.read() as s:
        found = _version(s, process_id, number)
        if filename not in found.bpmn:
            abort(404, "El archivo no existe en esa versión.")
        return _xml(found.bpmn[filename], f"v{number}_{filename}")


@bp.get("/<process_id>/editor")
@editors_only
def editor(process_id: str):
    """The draft (or the latest version) in the in-browser editor, with its forms and scenarios."""
    return _editor(process_id)


@bp.get("/<process_id>/borrador/<filename>")
@editors_only
def archivo_borrador(process_id: str, filename: str):
    """The draft's diagram file, to download and keep in git."""
    with atiende().store.read() as s:
        draft = _draft(s, process_id)
    if filename not in draft.bpmn:
        abort(404, "El archivo no existe en el borrador.")
    return _xml(draft.bpmn[filename], filename)


@bp.post("/<process_id>/borrador")
@editors_only
def guardar(process_id: str):
    """Save the draft; then, as the button asked, validate it or deploy it (or discard it)."""
    engine, me = atiende(), actor()
    with engine.store.read() as s:
        is_new = _draft(s, process_id).is_new  # 404 for a procedure with neither a version nor a draft
    action = request.form.get("accion", "guardar")
    if action == "descartar":
        with engine.store.unit_of_work() as s:
            procedure_drafts.discard(s, process_id)
        flash("Borrador descartado.", "info")
        return redirect(url_for(".lista") if is_new else url_for(".editor", process_id=process_id))
    typed = _typed_parts()
    try:
        with engine.store.unit_of_work() as s:
            procedure_drafts.save(s, process_id, me.username, engine.now(), scenario_dir=PROCESSES_DIR, **typed)
    except DraftErrors as invalid:
        return _editor(process_id, errors=invalid.errors, typed=typed), 422
    if action == "guardar":
        flash("Borrador guardado.", "exito")
        return redirect(url_for(".editor", process_id=process_id, archivo=request.form.get("archivo")))
    with engine.store.read() as s:
        diagrams = procedure_drafts.diagram_set(s, _draft(s, process_id), _library_forms(), PROCESSES_DIR)

    def discard_draft(s: Session) -> None:
        procedure_drafts.discard(s, process_id)

    try:
        if action == "desplegar":
            versions = publishing.publish(
                engine, diagrams, me.username, request.form.get("nota", "").strip(), then=discard_draft
            )
        else:
            publishing.validate_with_callers(engine, diagrams)
    except DiagramError as refused:
        return _editor(process_id, problems=refused.problems), 422
    if action != "desplegar":
        flash("El borrador pasa todas las validaciones y todos los escenarios de prueba.", "exito")
        return redirect(url_for(".editor", process_id=process_id, archivo=request.form.get("archivo")))
    mine = next(v for v in versions if v.process_id == process_id)
    callers = sorted(f"«{v.name}» (versión {v.version})" for v in versions if v.calls.get(process_id) == mine.version)
    flash(
        f"Desplegado: «{mine.name}», versión {mine.version}. Los casos nuevos usan esta versión"
        + (f", también los de {', '.join(callers)}, que la llaman" if callers else "")
        + "; los casos en curso siguen en la suya hasta que se migren.",
        "exito",
    )
    return redirect(url_for(".historial", process_id=process_id))


@bp.post("/<process_id>/borrador/subir")
@editors_only
def subir(process_id: str):
    """Replace one of the draft's diagram files with an uploaded ``.bpmn``, or add it as a new file
    (``archivo`` empty): a process the procedure calls."""
    engine = atiende()
    upload = request.files.get("bpmn")
    filename = request.form.get("archivo", "")
    if upload is None or not upload.filename:
        return _editor(process_id, errors={"subir": "Elija un archivo .bpmn."}), 422
    try:
        text = publishing.diagram_text(upload.read(), upload.filename)
    except DiagramError as refused:
        return _editor(process_id, errors={"subir": str(refused.problems[0])}), 422
    with engine.store.read() as s:
        if filename and filename not in _draft(s, process_id).bpmn:
            abort(400, "El archivo a reemplazar no existe en el borrador.")
    me, now = actor().username, engine.now()
    added = filename or upload.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    try:
        with engine.store.unit_of_work() as s:
            if filename:
                procedure_drafts.save(s, process_id, me, now, files={filename: text}, scenario_dir=PROCESSES_DIR)
            else:
                procedure_drafts.add_file(s, process_id, added, text, me, now, scenario_dir=PROCESSES_DIR)
    except DraftErrors as invalid:
        return _editor(process_id, errors={"subir": invalid.errors.get("subir") or invalid.errors["xml"]}), 422
    done = f"como {filename}" if filename else "como archivo nuevo"
    flash(f"Se cargó «{upload.filename}» en el borrador {done}.", "exito")
    return redirect(url_for(".editor", process_id=process_id, archivo=added))


@bp.post("/<process_id>/borrador/quitar")
@editors_only
def quitar(process_id: str):
    """Remove a diagram file from the draft (not its only one, nor the one defining its process)."""
    engine = atiende()
    filename = request.form.get("archivo", "")
    try:
        with engine.store.unit_of_work() as s:
            _draft(s, process_id)  # 404 for a procedure that does not exist
            procedure_drafts.remove_file(
                s, process_id, filename, actor().username, engine.now(), scenario_dir=PROCESSES_DIR
            )
    except LookupError:
        abort(404, "El archivo no existe en el borrador.")
    except DraftErrors as invalid:
        return _editor(process_id, errors=invalid.errors), 422
    flash(f"Se quitó «{filename}» del borrador.", "exito")
    return redirect(url_for(".editor", process_id=process_id))


@bp.get("/<process_id>/migracion")
@editors_only
def migracion(process_id: str):
    """What migrating each waiting case to the latest version would change, case by case."""
    return _migration_page(process_id, outcomes=None)


@bp.post("/<process_id>/migracion")
@editors_only
def migrar(process_id: str):
    """Migrate the chosen cases (or every waiting one), each in its own transaction."""
    engine = atiende()
    with engine.store.read() as s:
        target = _latest(s, process_id)
        waiting = case_migration.waiting_case_ids(s, process_id, target.id)
    offered = set(waiting)
    chosen = (
        waiting
        if request.form.get("accion") == "todos"
        else [n for n in map(number, request.form.getlist("caso")) if n in offered]
    )
    if not chosen:
        flash("Seleccione al menos un caso.", "error")
        return redirect(url_for(".migracion", process_id=process_id))
    outcomes = case_migration.migrate(engine, chosen, target.id, actor().username)
    moved = sum(o.migrated for o in outcomes)
    flash(f"Casos migrados a la versión {target.version}: {moved} de {len(outcomes)}.", "exito" if moved else "error")
    return _migration_page(process_id, outcomes)


@bp.post("/<process_id>/simulacion")
@editors_only
def simular(process_id: str):
    """Replay the last N cases on the saved draft, writing nothing, and list those that would change."""
    engine = atiende()
    with engine.store.read() as s:
        draft = _draft(s, process_id)
        diagrams = procedure_drafts.diagram_set(s, draft, _library_forms(), PROCESSES_DIR)
    typed = request.form.get("casos", "")
    wanted = number(typed)
    try:
        if wanted is None:
            raise FormErrors({"casos": f"Indique un número de casos entre 1 y {replay.MAX_CASES}."})
        outcomes = replay.replay(engine, process_id, diagrams.files, diagrams.forms, wanted)
    except FormErrors as invalid:
        return _simulation_page(draft, typed, error=invalid.errors["casos"]), 422
    except DiagramError as refused:
        return _simulation_page(draft, typed, problems=refused.problems), 422
    return _simulation_page(draft, typed, outcomes=outcomes)


def _simulation_page(draft, typed: str, outcomes=None, error: str | None = None, problems=None):
    counts = {kind: sum(o.kind == kind for o in outcomes or []) for kind in replay.KINDS}
    return render_template(
        "procedimientos/simulacion.html",
        draft=draft,
        typed=typed,
        outcomes=outcomes,
        differing=[o for o in outcomes or [] if o.kind != replay.SAME],
        counts=counts,
        several=len({o.process_id for o in outcomes or []}) > 1,
        error=error,
        problems=problems or [],
        max_cases=replay.MAX_CASES,
    )


def _migration_page(process_id: str, outcomes):
    engine = atiende()
    with engine.store.read() as s:
        target = _latest(s, process_id)
        procedure = engine.procedure(s, target.id)
        total = len(case_migration.waiting_case_ids(s, process_id, target.id))
        plans = [
            case_migration.preview(engine, s, case, procedure)
            for case in case_migration.waiting_cases(s, process_id, target.id, PREVIEW_LIMIT)
        ]
    return render_template("procedimientos/migracion.html", target=target, plans=plans, total=total, outcomes=outcomes)


# -- helpers --------------------------------------------------------------------------------


def _version(session, process_id: str, number: int):
    found = procedure_history.version(session, process_id, number)
    if found is None:
        abort(404, "La versión no existe.")
    return found


def _latest(session, process_id: str):
    try:
        return procedure_drafts.latest(session, process_id)
    except LookupError:
        abort(404, "El procedimiento no existe.")


def _draft(session, process_id: str) -> procedure_drafts.Draft:
    try:
        return procedure_drafts.current(session, process_id, PROCESSES_DIR)
    except LookupError:
        abort(404, "El procedimiento no existe.")


def _pick(files: dict, wanted: str | None, process_id: str) -> str:
    if wanted is not None and wanted in files:
        return wanted
    return procedure_drafts.main_file(files, process_id)


def _xml(text: str, download_name: str) -> Response:
    response = Response(text, mimetype="application/xml")
    if request.args.get("descargar"):
        response.headers["Content-Disposition"] = f'attachment; filename="{download_name}"'
    return response


def _library_forms() -> dict[str, dict]:
    """The forms kept in git (forms/): a draft may name any of them besides its own."""
    return form_schemas.load_directory(FORMS_DIR)


def _typed_parts() -> dict:
    """The parts of the draft the editor posted, as the engine saves them."""
    typed: dict = {"form_texts": {k[len(FORM_FIELD) :]: v for k, v in request.form.items() if k.startswith(FORM_FIELD)}}
    filename, xml = request.form.get("archivo"), request.form.get("xml")
    if filename and xml is not None:
        typed["files"] = {filename: xml}
    if "escenarios" in request.form:
        typed["scenario_text"] = request.form["escenarios"]
    new_form = request.form.get("nuevo_formulario", "").strip()
    if new_form:
        typed["new_form"] = new_form
    return typed


def _editor(process_id: str, errors: dict | None = None, problems: list | None = None, typed: dict | None = None):
    """The editor page; after a refused save it shows what was typed, with the errors beside it."""
    with atiende().store.read() as s:
        draft = _draft(s, process_id)
    typed = typed or {}
    filename = _pick(draft.bpmn, request.values.get("archivo"), process_id)
    # The processes this file defines besides the procedure's own: called ones, shared with their other callers.
    defined = procedure_drafts.process_ids(draft.bpmn)
    called_here = [called for called, file in defined.items() if file == filename and called != process_id]
    form_texts = {name: _json_text(schema) for name, schema in sorted(draft.forms.items())}
    form_texts.update(typed.get("form_texts", {}))
    return render_template(
        "procedimientos/editor.html",
        draft=draft,
        filename=filename,
        called_here=called_here,
        files=sorted(draft.bpmn),
        xml=typed.get("files", {}).get(filename, draft.bpmn[filename]),
        form_texts=form_texts,
        scenario_text=typed.get("scenario_text", _json_text(draft.scenarios)),
        chosen_form=request.args.get("formulario"),
        errors=errors or {},
        problems=problems or [],
        editor=bpmn_js_installed(),
        lint=lint_installed(),
        lint_data=_lint_data(draft, form_texts),
        new_form=typed.get("new_form", ""),
    )


def _lint_data(draft: procedure_drafts.Draft, form_texts: dict[str, str]) -> dict:
    """What the editor's lint rules check against: the office's roles, the forms a task may name (the
    library's and the draft's) and the processes the draft's files define (those a call may invoke)."""
    return {
        "roles": sorted(ROLES),
        "forms": sorted(set(_library_forms()) | set(form_texts)),
        "processes": sorted(procedure_drafts.process_ids(draft.bpmn)),
    }


def _new_page(errors: dict | None = None):
    """The new-procedure form, with what was typed and each error beside its field."""
    with atiende().store.read() as s:
        procedures = procedure_history.overview(s)
    return render_template(
        "procedimientos/nuevo.html",
        procedures=procedures,
        roles=[(code, ROLES[code]) for code in procedure_drafts.STARTING_ROLES],
        values=request.form,
        errors=errors or {},
    )


def _json_text(document: dict) -> str:
    """A JSON document as the textareas show it: indented, accents as typed."""
    return json.dumps(document, ensure_ascii=False, indent=2)
