"""Indicadores: whether the office keeps the 30-day law, per dirección and month; time to the final
answer; the open backlog by age; a year's trend; the citizens' verdict. Every figure links to the
list of its cases, every table is a chart's accessible twin and exports to XLSX and CSV.

The coordinador, the auditor and the administrator see every dirección; an enlace only their own
(``direccion_scope``), whatever the filter asks. The figures come from ``engine.indicators.figures``
(roll-ups kept as cases move); this module only names, links and draws them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for

from engine.access import permissions
from engine.cases import queries
from engine.errors import FormErrors
from engine.indicators import figures
from engine.indicators.figures import Filters
from engine.paperwork import tablas
from engine.procedures import versions as procedures
from web.ui import charts
from web.ui.context import actor, atiende, download
from web.ui.filters import fecha
from web.ui.guards import number

bp = Blueprint("indicadores", __name__, url_prefix="/indicadores")

REFUSED = "Solo la coordinación, la auditoría, la administración y los enlaces pueden ver los indicadores."
CATALOGS = {
    "direccion": "direcciones",
    "tipo_caso": "tipos_caso",
    "canal": "canales",
    "corregimiento": "corregimientos",
}
FILTER_KEYS = ("desde", "hasta", *CATALOGS, "procedimiento")
FIGURE_NAMES = {
    "received": "Casos recibidos",
    "on_time": "Respondidos dentro del plazo",
    "late": "Respondidos fuera del plazo",
    "answered": "Casos respondidos",
    "open_within": "Abiertos dentro del plazo",
    "open_past": "Abiertos con el plazo vencido",
    "backlog": "Casos abiertos hoy",
}
BUCKET_NAMES = ("0 a 7 días", "8 a 15 días", "16 a 30 días", "Más de 30 días")
PAGE = 50
EXPORT_PAGE = 500  # the most ``figures.drill`` reads at once
CHOICE_ERRORS = {
    "direccion": "Elija una dirección de la lista.",
    "tipo_caso": "Elija un tipo de caso de la lista.",
    "canal": "Elija un canal de la lista.",
    "corregimiento": "Elija un corregimiento de la lista.",
    "procedimiento": "Elija un procedimiento de la lista.",
}
UNKNOWN_TABLE = "La tabla pedida no existe. Elija una de las tablas de la página de indicadores."
UNKNOWN_FIGURE = "La cifra pedida no existe. Vuelva a la página de indicadores y elija una cifra."


@dataclass(frozen=True)
class Cell:
    """A value of a table; with ``figura``, a link to the cases behind it."""

    value: str | int | float | None
    figura: str | None = None
    clave: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # filters the link adds (a survey's dirección, type)


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    headers: tuple[str, ...]
    rows: list[list[Cell]]


@bp.app_context_processor
def _indicator_readers():
    """The roles that read the indicators, for the menu (base.html) to show the entry to them alone."""
    return {"INDICATOR_READERS": sorted(permissions.INDICATOR_READERS)}


@bp.before_request
def _readers_only():
    if not permissions.may_read_indicators(actor()):
        abort(403, REFUSED)


@bp.get("/")
def index():
    """The filter form and every section's chart and table."""
    engine = atiende()
    today = engine.now().date()
    scope = permissions.direccion_scope(actor())
    with engine.store.read() as s:
        choices = _choices(s)
        shown = {**choices, "direccion": _scoped(choices["direccion"], scope)}
        try:
            f = _filters(today, choices)
        except FormErrors as invalid:
            page = {"errors": invalid.errors, "values": _args(), "choices": shown, "scope_label": None}
            return render_template("indicadores/index.html", tables=None, **page), 400
        tables, extras = _all_tables(s, f, scope, today, choices)
    return render_template(
        "indicadores/index.html",
        errors={},
        values={**_args(), **_filter_args(f)},
        choices=shown,
        tables=tables,
        extras=extras,
        charts=_charts(tables),
        link=_linker(f),
        export_args=_filter_args(f),
        scope_label=shown["direccion"][0][1] if scope is not None else None,
        may_see_steps=permissions.may_read_step_times(actor()),
    )


@bp.get("/casos")
def casos():
    """The cases behind one figure, a page at a time (``despues``: the last id of the page before)."""
    engine = atiende()
    today = engine.now().date()
    scope = permissions.direccion_scope(actor())
    figura, clave = request.args.get("figura", ""), request.args.get("clave") or None
    if figura not in figures.FIGURES:
        abort(400, UNKNOWN_FIGURE)
    with engine.store.read() as s:
        choices = _choices(s)
        f = _filters_or_400(today, choices)
        page = _drill(s, f, scope, today, figura, clave, number(request.args.get("despues")), PAGE)
        names = queries.full_names(s, {_clave_parts(clave).get("enlace", "")} - {""})
    args = _filter_args(f)
    return render_template(
        "indicadores/casos.html",
        figura=figura,
        title=FIGURE_NAMES[figura],
        subtitle=_clave_label(clave, choices, names),
        period=_period(f, choices),
        table=_cases_table(page.cases, choices),
        cases=page.cases,
        may_open=permissions.may_read_cases(actor()),
        next_url=url_for(".casos", figura=figura, clave=clave, despues=page.next_after, **args)
        if page.next_after
        else None,
        back_url=url_for(".index", **args),
        export_args={**args, "figura": figura, **({"clave": clave} if clave else {})},
    )


@bp.get("/exportar.<formato>")
def exportar(formato: str):
    """One table of the page (``tabla``), or the cases of a figure (``tabla=casos``), as XLSX or CSV."""
    if formato not in ("xlsx", "csv"):
        abort(404)
    engine = atiende()
    today = engine.now().date()
    scope = permissions.direccion_scope(actor())
    name = request.args.get("tabla", "")
    with engine.store.read() as s:
        choices = _choices(s)
        f = _filters_or_400(today, choices)
        if name == "casos":
            figura, clave = request.args.get("figura", ""), request.args.get("clave") or None
            if figura not in figures.FIGURES:
                abort(400, UNKNOWN_FIGURE)
            table = _cases_table(list(_every_case(s, f, scope, today, figura, clave)), choices)
            title = f"{FIGURE_NAMES[figura]} {_clave_label(clave, choices, {})}".strip()
        else:
            tables, _ = _all_tables(s, f, scope, today, choices)
            found = tables.get(name)
            if found is None:
                abort(400, UNKNOWN_TABLE)
            table, title = found, found.title
    rows = [[cell.value for cell in row] for row in table.rows]
    filename = f"indicadores_{name}_{today.isoformat()}.{formato}"
    if formato == "csv":
        response = Response(tablas.table_csv(table.headers, rows), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    content = tablas.table_xlsx(title, _period(f, choices), table.headers, rows)
    return download(content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename)


# -- the figures as tables ------------------------------------------------------------------------
def _all_tables(s, f: Filters, scope, today: date, choices) -> tuple[dict[str, Table], dict]:
    """Every table of the page, by the name its export takes, and the figures said in words."""
    labels = {key: dict(items) for key, items in choices.items()}
    summary = figures.summary(s, f, scope, today)
    times = figures.answer_times(s, f, scope)
    backlog = figures.backlog(s, f, scope, today)
    trend = figures.trend(s, f, scope, today)
    surveys = figures.surveys(s, f, scope)
    direccion = labels["direccion"]
    tables = {
        "direcciones": _summary_table(
            "direcciones", "Casos por dirección", "Dirección", summary.por_direccion, summary.totals, direccion
        ),
        "meses": _summary_table("meses", "Casos por mes", "Mes", summary.por_mes, summary.totals, {}),
        "tiempos": Table(
            "tiempos",
            "Tiempo hasta la respuesta final",
            ("Días hasta la respuesta", "Casos respondidos"),
            [[Cell(label), Cell(count, "answered")] for label, count in times.histogram],
        ),
        "antiguedad_direccion": _backlog_table(
            "antiguedad_direccion",
            "Casos abiertos por antigüedad y dirección",
            ("Dirección",),
            backlog,
            "direccion",
            lambda r: [Cell(direccion.get(r.etiqueta, r.etiqueta))],
        ),
        "antiguedad_enlace": _backlog_table(
            "antiguedad_enlace",
            "Casos abiertos por antigüedad y enlace",
            ("Enlace", "Dirección"),
            backlog,
            "enlace",
            lambda r: [Cell(r.etiqueta), Cell(direccion.get(r.direccion, r.direccion))],
        ),
        "tendencia": Table(
            "tendencia",
            "Tendencia de los últimos 12 meses",
            ("Mes", "Recibidos", "Respondidos a tiempo", "Respondidos tarde", "% a tiempo"),
            [
                [
                    Cell(p.etiqueta),
                    Cell(p.received, "received", _month_key(p.month)),
                    Cell(p.on_time, "on_time", _month_key(p.month)),
                    Cell(p.late, "late", _month_key(p.month)),
                    Cell(p.pct_on_time, "answered", _month_key(p.month)),
                ]
                for p in trend
            ],
        ),
        "encuestas": Table(
            "encuestas",
            "La opinión de los ciudadanos",
            ("Dirección", "Tipo de caso", "Respuestas", "Satisfacción media (1 a 5)", "% a tiempo según el ciudadano"),
            [
                [
                    Cell(direccion.get(r.direccion, r.direccion)),
                    Cell(labels["tipo_caso"].get(r.tipo_caso, r.tipo_caso)),
                    *(
                        Cell(value, "answered", None, _survey_filters(r, labels))
                        for value in (r.answers, r.mean_score, r.pct_on_time)
                    ),
                ]
                for r in surveys
            ],
        ),
    }
    return tables, {"times": times, "totals": summary.totals}


def _survey_filters(row, labels) -> dict[str, str]:
    """The filters of a survey row's cases: its dirección and case type (none for «Sin …»)."""
    found = {key: getattr(row, key) for key in ("direccion", "tipo_caso") if getattr(row, key) in labels[key]}
    if row.direccion == figures.SIN_DIRECCION:
        found["direccion"] = figures.SIN_DIRECCION_CODE
    return found


def _summary_table(name, title, first, rows, totals, labels) -> Table:
    columns = ("Recibidos", "Respondidos a tiempo", "Respondidos tarde", "Abiertos en plazo", "Abiertos vencidos")
    return Table(
        name,
        title,
        (first, *columns, "% a tiempo"),
        [
            [
                Cell(labels.get(r.etiqueta, r.etiqueta)),
                Cell(r.received, "received", r.clave),
                Cell(r.answered_on_time, "on_time", r.clave),
                Cell(r.answered_late, "late", r.clave),
                Cell(r.open_within_term, "open_within", r.clave),
                Cell(r.open_past_term, "open_past", r.clave),
                Cell(r.pct_on_time, "answered", r.clave),
            ]
            for r in [*rows, totals]
        ],
    )


def _backlog_table(name, title, firsts, rows, kind, first_cells) -> Table:
    return Table(
        name,
        title,
        (*firsts, *BUCKET_NAMES, "Total"),
        [
            [
                *first_cells(r),
                *(Cell(n, "backlog", f"{r.clave}|edad:{b}") for n, b in zip(r.buckets, figures.BUCKETS, strict=True)),
                Cell(r.total, "backlog", r.clave),
            ]
            for r in rows
            if r.kind == kind
        ],
    )


def _cases_table(cases, choices) -> Table:
    labels = {key: dict(items) for key, items in choices.items()}
    return Table(
        "casos",
        "Casos",
        ("Ticket", "Tipo de caso", "Dirección", "Corregimiento", "Estado", "Recibido", "Fecha límite", "Cerrado"),
        [
            [
                Cell(c.ticket),
                Cell(labels["tipo_caso"].get(c.case_type or "", c.case_type)),
                Cell(labels["direccion"].get(c.direccion or "", c.direccion) or figures.SIN_DIRECCION),
                Cell(labels["corregimiento"].get(c.corregimiento or "", c.corregimiento)),
                Cell(c.status.capitalize()),
                Cell(fecha(c.opened_at)),
                Cell(fecha(c.due_at) if c.due_at else None),
                Cell(fecha(c.closed_at) if c.closed_at else None),
            ]
            for c in cases
        ],
    )


def _charts(tables: dict[str, Table]) -> dict[str, object]:
    """The charts of the page, each drawn from the table shown beside it."""

    def column(table: Table, index: int, skip_total: bool = False) -> list:
        rows = table.rows[:-1] if skip_total else table.rows
        return [row[index].value for row in rows]

    direcciones = tables["direcciones"]
    labels = [str(v) for v in column(direcciones, 0, True)]
    stacks = [charts.Series(direcciones.headers[i], column(direcciones, i, True)) for i in (2, 3, 4, 5)]
    tiempos = tables["tiempos"]
    backlog = tables["antiguedad_direccion"]
    trend = tables["tendencia"]
    return {
        "direcciones": charts.stacked(
            "grafico-direcciones",
            "Casos por dirección",
            "Barras apiladas por dirección: respondidos a tiempo, tarde, abiertos en plazo y vencidos. "
            "Las cifras están en la tabla que sigue.",
            labels,
            stacks,
        ),
        "tiempos": charts.bars(
            "grafico-tiempos",
            "Distribución del tiempo hasta la respuesta final",
            "Casos respondidos según los días que tardó la respuesta. Las cifras están en la tabla que sigue.",
            [str(v) for v in column(tiempos, 0)],
            [charts.Series("Casos respondidos", column(tiempos, 1))],
        ),
        "antiguedad": charts.stacked(
            "grafico-antiguedad",
            "Casos abiertos por antigüedad",
            "Barras apiladas por dirección según los días que lleva abierto cada caso. "
            "Las cifras están en la tabla que sigue.",
            [str(v) for v in column(backlog, 0)],
            [charts.Series(name, column(backlog, i)) for i, name in enumerate(BUCKET_NAMES, start=1)],
        ),
        "tendencia": charts.line(
            "grafico-tendencia",
            "Porcentaje respondido a tiempo, últimos 12 meses",
            "Línea del porcentaje de casos respondidos dentro del plazo cada mes. "
            "Las cifras están en la tabla que sigue.",
            [str(v) for v in column(trend, 0)],
            [charts.Series("% a tiempo", column(trend, 4))],
            top=100,
        ),
    }


# -- filters, choices, links ----------------------------------------------------------------------
def _args() -> dict[str, str]:
    return {key: request.args.get(key, "") for key in FILTER_KEYS if request.args.get(key, "").strip()}


def _filter_args(f: Filters) -> dict[str, Any]:
    """The filters as a query string a link carries: the period always, the others when chosen."""
    chosen = {key: getattr(f, key) for key in (*CATALOGS, "procedimiento") if getattr(f, key)}
    return {"desde": f.desde.strftime("%d/%m/%Y"), "hasta": f.hasta.strftime("%d/%m/%Y"), **chosen}


def _linker(f: Filters):
    """The address of the cases behind a cell, with the page's filters (and the cell's own)."""
    args = _filter_args(f)

    def link(cell: Cell) -> str | None:
        if cell.figura is None:
            return None
        query: dict[str, Any] = {**args, **cell.extra, "figura": cell.figura}
        if cell.clave:
            query["clave"] = cell.clave
        return url_for(".casos", **query)

    return link


def _filters(today: date, choices) -> Filters:
    """The query string's filters; FormErrors (Spanish, per field) for a bad date or period, and for a
    value that is not one of its list's choices."""
    errors = {}
    for key, message in CHOICE_ERRORS.items():
        value = request.args.get(key, "").strip()
        if value and value not in dict(choices[key]):
            errors[key] = message
    try:
        f = Filters.parse(_args(), today)
    except FormErrors as invalid:
        errors = {**errors, **invalid.errors}
    if errors:
        raise FormErrors(errors)
    return f


def _filters_or_400(today: date, choices) -> Filters:
    try:
        return _filters(today, choices)
    except FormErrors as invalid:
        abort(400, " ".join(invalid.errors.values()))


def _choices(s) -> dict[str, list[tuple[str, str]]]:
    """(code, label) of every filter's choices, by label (the cases without a dirección too)."""
    found: dict[str, list[tuple[str, str]]] = {key: [] for key in (*CATALOGS, "procedimiento")}
    by_catalog = {catalog: key for key, catalog in CATALOGS.items()}
    for catalog, code, label, _active in queries.catalog_items(s, CATALOGS.values()):
        found[by_catalog[catalog]].append((code, label))
    found["direccion"].append((figures.SIN_DIRECCION_CODE, figures.SIN_DIRECCION))
    found["procedimiento"] = sorted(
        ((p.process_id, p.name) for p in procedures.in_force(s, atiende().procedures)), key=lambda item: item[1]
    )
    return found


def _period(f: Filters, choices) -> str:
    """What was asked, in words: the period and the filters chosen, by their labels."""
    labels = {key: dict(items) for key, items in choices.items()}
    chosen = [
        labels[key].get(getattr(f, key), getattr(f, key)) for key in (*CATALOGS, "procedimiento") if getattr(f, key)
    ]
    return " · ".join([f"Del {fecha(f.desde)} al {fecha(f.hasta)}", *chosen])


def _scoped(direcciones: list[tuple[str, str]], scope: str | None) -> list[tuple[str, str]]:
    """The direcciones an enlace may choose: their own only."""
    if scope is None:
        return direcciones
    return [(code, label) for code, label in direcciones if code == scope] or [(scope, figures.SIN_DIRECCION)]


def _clave_parts(clave: str | None) -> dict[str, str]:
    """«dir:x|edad:8-15» → {"dir": "x", "edad": "8-15"} (``figures.drill`` checks them)."""
    return dict(part.partition(":")[::2] for part in (clave or "").split("|") if part)


def _clave_label(clave: str | None, choices, names: dict[str, str]) -> str:
    """A figure's row in words: its dirección, month, enlace and age, or «Total»."""
    parts = _clave_parts(clave)
    shown = []
    if "dir" in parts:
        shown.append(dict(choices["direccion"]).get(parts["dir"] or figures.SIN_DIRECCION_CODE, parts["dir"]))
    if "mes" in parts:
        shown.append(f"{parts['mes'][5:7]}/{parts['mes'][:4]}")
    if "enlace" in parts:
        shown.append(names.get(parts["enlace"], parts["enlace"]) or figures.SIN_ASIGNAR)
    if parts.get("edad") in figures.BUCKETS:
        shown.append(BUCKET_NAMES[figures.BUCKETS.index(parts["edad"])].lower())
    return " · ".join(shown) or "Total"


def _month_key(month: date) -> str:
    return f"mes:{month:%Y-%m}"


def _drill(s, f, scope, today, figura, clave, after_id, limit):
    try:
        return figures.drill(s, f, scope, today, figura, clave, after_id, limit)
    except ValueError:
        abort(400, UNKNOWN_FIGURE)


def _every_case(s, f, scope, today, figura, clave) -> Iterator:
    after = None
    while True:
        page = _drill(s, f, scope, today, figura, clave, after, EXPORT_PAGE)
        yield from page.cases
        if page.next_after is None:
            return
        after = page.next_after
