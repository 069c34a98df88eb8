"""The auditor's pages: the audit log across cases (filters, CSV), the hash chain's check,
and a case's trail with the diagram of the version it ran on.

Every page is a GET that only reads; the blueprint refuses anyone but an auditor before
any view runs.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import date
from typing import Any, cast

from flask import Blueprint, Response, abort, render_template, request, url_for

from engine.access import permissions
from engine.audit import chain as audit_chain
from engine.audit import log as audit_log
from engine.audit import seals as audit_seals
from engine.cases import queries
from engine.errors import SealError
from engine.procedures import drafts as procedure_drafts
from web.ui import history, record
from web.ui.context import actor, atiende
from web.ui.filters import days_of, fecha, fecha_hora
from web.ui.guards import number
from web.ui.history import EVENT_NAMES
from web.vendor import bpmn_js_installed

bp = Blueprint("auditoria", __name__, url_prefix="/auditoria")

AUDITORS_ONLY = "Solo los auditores pueden ver el registro de auditoría."
CSV_COLUMNS = (
    "evento",
    "fecha_hora",
    "usuario",
    "tipo",
    "ticket",
    "direccion",
    "tarea",
    "detalle",
    "huella",
    "huella_anterior",
)


def event_name(kind: str) -> str:
    return EVENT_NAMES.get(kind) or kind.replace("_", " ").capitalize()


@bp.before_request
def _auditors_only():
    if not permissions.may_audit(actor()):
        abort(403, AUDITORS_ONLY)


@bp.get("/")
def registro():
    """The audit log, newest first, filtered by dates, user, case, dirección and event type."""
    filters, errors = _filters()
    before = number(request.args.get("antes"))
    with atiende().store.read() as s:
        rows, next_before = audit_log.page(s, filters, before) if not errors else ([], None)
        direcciones = queries.catalog_labels(s, "direcciones")
        page = {
            "rows": rows,
            "errors": errors,
            "args": request.args,
            "next_url": url_for(".registro", **cast("dict[str, Any]", {**request.args.to_dict(), "antes": next_before}))
            if next_before
            else None,
            "kinds": [(k, event_name(k)) for k in audit_log.kinds(s)],
            "actors": [(a, a) for a in audit_log.actors(s)],
            "direcciones": sorted(direcciones.items(), key=lambda kv: kv[1]),
            "direccion_label": lambda code: direcciones.get(code, code) if code else "",
        }
    return render_template("auditoria/registro.html", event_name=event_name, **page), (400 if errors else 200)


@bp.get("/registro.csv")
def registro_csv():
    """The filtered log as CSV (UTF-8 with BOM, so a spreadsheet reads the accents), oldest first."""
    filters, errors = _filters()
    if errors:
        abort(400, " ".join(errors.values()))
    store = atiende().store

    def lines():
        with store.read() as s:
            rows = audit_log.export(s, filters)
            first = next(rows, None)  # the query runs before the header is yielded (see below)
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(CSV_COLUMNS)
            yield "\ufeff" + buffer.getvalue()
            for row in itertools.chain([first] if first else [], rows):
                e = row.event
                buffer.seek(0)
                buffer.truncate()
                writer.writerow(
                    audit_log.csv_text(value)
                    for value in (
                        e.id,
                        fecha_hora(e.at),
                        e.actor,
                        e.kind,
                        row.ticket or "",
                        row.direccion or "",
                        e.task_id or "",
                        json.dumps(e.detail, ensure_ascii=False, sort_keys=True),
                        e.hash or "",
                        row.previous_hash or "",
                    )
                )
                yield buffer.getvalue()

    # A plain generator (no request context): it needs only the store. Its first step runs here, in
    # the view, and runs the query: what fails, fails as an error page instead of a cut download.
    body = lines()
    first = next(body)
    response = Response(itertools.chain([first], body), mimetype="text/csv")
    response.call_on_close(body.close)  # a download the client abandons still ends the read
    response.headers["Content-Disposition"] = f'attachment; filename="auditoria_{date.today().isoformat()}.csv"'
    return response


@bp.get("/cadena")
def cadena():
    """Verify the hash chain of the whole log and name the first broken link."""
    with atiende().store.read() as s:
        verdict = audit_chain.verify(s)
    return render_template("auditoria/cadena.html", verdict=verdict, event_name=event_name)


@bp.get("/sellos")
def sellos():
    """The chain's seals, each held against the chain and its signature checked: a page to print and keep."""
    engine = atiende()
    try:
        key, key_problem = audit_seals.public_key(engine.settings), None
    except SealError as unreadable:
        key, key_problem = None, str(unreadable)
    with engine.store.read() as s:
        report = audit_seals.check(s, key)
    states = sorted(report.states, key=lambda state: state.seal.number, reverse=True)
    key_id = audit_seals.key_id(key) if key is not None else None
    return render_template(
        "auditoria/sellos.html", report=report, states=states, key_id=key_id, key_problem=key_problem
    )


@bp.get("/casos/<int:case_id>")
def caso(case_id: int):
    """A case's trail (who, when, what changed from what to what) and its path on the diagram."""
    engine = atiende()
    with engine.store.read() as s:
        case = engine.case_for(s, case_id, actor())
        procedure = engine.procedure(s, case.procedure_version_id)
        version = queries.procedure_version(s, case.procedure_version_id)
        assert version is not None  # a case's foreign key; versions are never deleted
        path = engine.case_path(s, case)
        trail = audit_log.trail(s, case.id)
        names = queries.full_names(s, {e.event.actor for e in trail})
        filename = request.args.get("archivo")
        if filename not in version.bpmn:
            filename = _file_of(version.bpmn, path.current) or procedure_drafts.main_file(
                version.bpmn, version.process_id
            )
        titles = _field_titles(procedure.forms)
        labels = record.Labels(s, tuple(history.RECORD_CATALOGS.values()))
        label = record.choice_labels(procedure, labels)
        files = sorted(version.bpmn)
    return render_template(
        "auditoria/caso.html",
        case=case,
        procedure=procedure,
        trail=trail,
        names=names,
        path=path,
        titles=titles,
        event_name=event_name,
        show=lambda field, value: label(field, value) or history.record_label(labels, field, value) or _show(value),
        viewer=bpmn_js_installed(),
        files=files,
        filename=filename,
        xml_url=url_for(
            "procedimientos.archivo_version", process_id=version.process_id, number=version.version, filename=filename
        ),
    )


def _file_of(files: dict[str, str], element_ids) -> str | None:
    """The diagram file that draws the case's current task (a called process's file, often)."""
    for element_id in sorted(element_ids):
        for name, xml in sorted(files.items()):
            if f'id="{element_id}"' in xml:
                return name
    return None


def _filters() -> tuple[audit_log.Filters, dict[str, str]]:
    days, errors = days_of(request.args)
    fields = {k: request.args.get(k, "").strip() or None for k in ("usuario", "ticket", "direccion", "tipo")}
    return audit_log.Filters(days.get("desde"), days.get("hasta"), **fields), errors


def _field_titles(forms: dict[str, dict]) -> dict[str, str]:
    """Field name → the title its form gives it (the first form that names it)."""
    titles = {
        **history.RECORD_TITLES,
        "estado_caso": "Estado",
        "fecha_limite": "Fecha límite",
        "version": "Versión del procedimiento",
        "ticket": "Ticket",
        "fecha_inicio": "Fecha de inicio",
    }
    for schema in forms.values():
        for field, prop in schema.get("properties", {}).items():
            titles.setdefault(field, prop.get("title") or field)
    return titles


def _show(value) -> str:
    """A recorded value as text: dates as dd/mm/aaaa, lists joined, nothing as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Sí" if value else "No"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        shown = fecha_hora(value) if "T" in value else fecha(value)
        return shown or value
    return str(value)
