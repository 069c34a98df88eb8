"""The bandeja's query: the open tasks a person may see, filtered, counted, sorted and paged.

A few statements per page, whatever the size of the desk: the counts the page shows (total,
mine, unclaimed, overdue, due soon: one pass when they are under the cap, ``_counts``) and the
page's rows (sorted by the person assigned, the claimed and unclaimed tasks apart, ``_by_person``).
The case's columns the filters need are mirrored on its task rows (``runtime.TASK_MIRRORED``), so
counting and paging read index pages, never a case row; only the page's 25 rows are joined to
their cases.

At a million cases a desk holds a couple of hundred thousand open tasks, and counting them all
on every page was most of the page's time: each count stops at ``COUNT_CAP`` (the page says «más
de 10 000»), and so do the pages (400 of them: a deeper one is the last, and a person narrows
the filters or sorts the other way to reach the rest). Every sort has an index that gives its
order (migrations 0004 and 0023: a person's lane first, then the sort's columns; the same
without the lane for the whole team), so a page reads as many index entries as it skips and
shows, never a sort of the whole desk.

Scopes: ``mias`` (claimed by me), ``disponibles`` (unclaimed, of my roles), ``todas`` (both;
the default), and ``equipo`` — every open task of every lane and person, for coordinators,
who hand tasks to people (``engine.cases.assignment``).

Saved views (``VIEWS``) are named sets of these filters — «Mis vencidas» is ``mias`` and
``vencidas`` — and the roles each is offered to. «Por aprobar» lists the approvals: the tasks
whose form's name begins with ``aprobacion_`` (``forms/aprobacion_hoja.json``), so an analyst
who adds an approval step to a diagram, with a form so named, adds it to the view.

Sorting (``ORDERS``): one of a fixed set of columns, each either way (``ticket``,
``ticket_desc``…); an unknown order is the default, due date first. The due date, then the id,
break ties, so a task is never on two pages; sorting the other way reverses the whole order, ties
included (so one index serves both ways).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    and_,
    bindparam,
    case,
    column,
    func,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from engine.access.accounts import Actor
from engine.access.permissions import COORDINATORS, LanesShape, may_coordinate, may_work, workable, workable_lanes
from engine.db.models import Case, HumanTask, User, UTCDateTime
from engine.db.statements import Statement, together

PAGE_SIZE = 25
COUNT_CAP = 10_000  # counts stop here: above it the page says «más de 10 000», and pages go this deep
DUE_SOON = timedelta(days=2)
SHAPES_KEPT = 256  # shapes whose statements a process keeps (``_statements``): scope, lanes, filters set, order
SCOPES = ("todas", "mias", "disponibles", "equipo")
DUE_FILTERS = ("vencidas", "pronto", "a_tiempo")
APPROVAL_FORMS = "aprobacion_"  # the beginning of an approval task's form name
KINDS = {"aprobacion": HumanTask.form.startswith(APPROVAL_FORMS, autoescape=True)}
# The columns the bandeja sorts by. A ticket's number grows with its case's id, so ``ticket`` is
# the order cases were opened in, read from the task row; ``asignada`` joins the person's full
# name, only when sorting by it.
SORT_KEYS: dict[str, Any] = {
    "ticket": HumanTask.case_id,
    "tarea": HumanTask.name,
    "caso": HumanTask.case_type,
    "direccion": HumanTask.direccion,
    "vence": HumanTask.due_at,
    "asignada": func.coalesce(User.full_name, HumanTask.assignee),
    "recibido": HumanTask.created_at,
}
ORDERS = tuple(name for key in SORT_KEYS for name in (key, f"{key}_desc"))
DEFAULT_ORDER = "vence"


@dataclass(frozen=True)
class View:
    """A saved view: a name, the filters it sets, and the roles it is offered to (None: everyone)."""

    name: str
    scope: str
    due: str | None = None
    kind: str | None = None
    roles: frozenset[str] | None = None

    def offered_to(self, actor: Actor) -> bool:
        return self.roles is None or bool(actor.roles & self.roles)

    def shown_by(self, filters: Filters) -> bool:
        return (filters.scope, filters.due, filters.kind) == (self.scope, self.due, self.kind)


VIEWS = (
    View("todas", "todas"),
    View("mias", "mias"),
    View("sin_asignar", "disponibles"),
    View("mis_vencidas", "mias", due="vencidas"),
    View("por_aprobar", "todas", kind="aprobacion", roles=COORDINATORS),
    View("equipo", "equipo", roles=COORDINATORS),
)


def views_for(actor: Actor) -> list[View]:
    """The saved views a person is offered: by their roles."""
    return [view for view in VIEWS if view.offered_to(actor)]


@dataclass(frozen=True)
class Filters:
    """What the person asked the bandeja for; unknown values fall back to the defaults."""

    scope: str = "todas"
    case_type: str | None = None
    channel: str | None = None
    direccion: str | None = None
    corregimiento: str | None = None
    due: str | None = None
    kind: str | None = None
    order: str = DEFAULT_ORDER
    page: int = 1

    def normalized(self, actor: Actor) -> Filters:
        scope = self.scope if self.scope in SCOPES else "todas"
        if scope == "equipo" and not may_coordinate(actor):
            scope = "todas"
        return Filters(
            scope=scope,
            case_type=self.case_type or None,
            channel=self.channel or None,
            direccion=self.direccion or None,
            corregimiento=self.corregimiento or None,
            due=self.due if self.due in DUE_FILTERS else None,
            kind=self.kind if self.kind in KINDS else None,
            order=self.order if self.order in ORDERS else DEFAULT_ORDER,
            page=max(1, self.page),
        )


@dataclass(frozen=True)
class Row:
    task_id: str
    name: str
    lane: str
    assignee: str | None
    created_at: datetime
    due_at: datetime | None
    case_id: int
    ticket: str
    case_type: str | None
    channel: str | None
    citizen_name: str | None
    subject: str | None
    direccion: str | None
    corregimiento: str | None
    case_due_at: datetime | None
    workable: bool  # the person may work it (their role's lane, their dirección): may take or open it


_ROW = cast(Any, Row)  # built from a row of sixteen columns, which mypy cannot spread into its fields


@dataclass(frozen=True)
class Counts:
    """Each count up to ``CAP``, or ``CAP + 1`` for «more than ``CAP``»."""

    CAP: ClassVar[int] = COUNT_CAP

    total: int  # matching the filters, in the scope
    mine: int
    unclaimed: int
    overdue: int
    due_soon: int


@dataclass(frozen=True)
class Page:
    filters: Filters
    rows: list[Row]
    counts: Counts
    pages: int


# The filters on the case's columns mirrored on its task rows, by the name of the filter, of its shape's
# flag and of its parameter.
_MIRRORED = {"case_type": HumanTask.case_type, "channel": HumanTask.channel, "corregimiento": HumanTask.corregimiento}


@dataclass(frozen=True)
class _Shape:
    """What the page's statements are built from: the scope, the person's lanes (``workable_lanes``; none
    for the team), which filters are set and the order. Only values from fixed sets (scope, due date,
    kind, order); every value of the person's or typed in a filter is a parameter of the statements
    (``_shape_and_values``), so the statements of a shape are built once (``_statements``) and serve
    everyone."""

    scope: str
    lanes: LanesShape | None
    direccion: bool
    due: str | None
    kind: str | None
    case_type: bool
    channel: bool
    corregimiento: bool
    order: str


def _shape_and_values(actor: Actor, filters: Filters, now: datetime) -> tuple[_Shape, dict[str, Any]]:
    """The shape of ``filters``' statements for ``actor``, and the values of their parameters by name."""
    lanes, lane_values = (None, {}) if filters.scope == "equipo" else workable_lanes(actor)
    shape = _Shape(
        filters.scope,
        lanes,
        bool(filters.direccion),
        filters.due,
        filters.kind,
        bool(filters.case_type),
        bool(filters.channel),
        bool(filters.corregimiento),
        filters.order,
    )
    filtered = {"direccion": filters.direccion, **{name: getattr(filters, name) for name in _MIRRORED}}
    values: dict[str, Any] = {
        **lane_values,
        **_tally_values(actor, now),
        **{name: value for name, value in filtered.items() if value},  # a filter not set has no parameter
    }
    return shape, values


def _visible(shape: _Shape):
    """The tasks the scope shows the person: their roles' (an enlace's only for their dirección)."""
    if shape.lanes is None:
        return None
    lanes = workable(shape.lanes)
    mine = HumanTask.assignee == bindparam("me")
    if shape.scope == "mias":
        return and_(lanes, mine)
    if shape.scope == "disponibles":
        return and_(lanes, HumanTask.assignee.is_(None))
    return and_(lanes, or_(HumanTask.assignee.is_(None), mine))


def _conditions(shape: _Shape) -> tuple:
    """The WHERE conditions: on the task rows alone (the case's filter columns are mirrored there)."""
    conditions = []
    visible = _visible(shape)
    if visible is not None:
        conditions.append(visible)
    if shape.direccion:
        conditions.append(HumanTask.direccion == bindparam("direccion"))
    now, soon = bindparam("now", type_=UTCDateTime), bindparam("soon", type_=UTCDateTime)
    if shape.due == "vencidas":
        conditions.append(HumanTask.due_at < now)
    elif shape.due == "pronto":
        conditions.append(and_(HumanTask.due_at >= now, HumanTask.due_at < soon))
    elif shape.due == "a_tiempo":
        conditions.append(or_(HumanTask.due_at.is_(None), HumanTask.due_at >= soon))
    if shape.kind:
        conditions.append(KINDS[shape.kind])
    mirrored = [column == bindparam(name) for name, column in _MIRRORED.items() if getattr(shape, name)]
    return (*conditions, *mirrored)


def _capped(conditions: list):
    """How many tasks match, counted up to ``COUNT_CAP + 1``: a scalar subquery that stops there."""
    matching = select(HumanTask.id).where(*conditions).limit(COUNT_CAP + 1).subquery()
    return select(func.count()).select_from(matching).scalar_subquery()


def _ordered(columns: list, descending: bool) -> list:
    """The sort's columns, every one the same way: the order an index gives read forwards or backwards."""
    return [c.desc() for c in columns] if descending else columns


# What each count counts, of a task's person assigned and due date: the same whether they are read from
# the matching tasks' columns (the one pass) or from the task rows (past the cap). The person and the
# moment are parameters (``_tally_values``).
_PARTS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "mine": lambda assignee, _due: assignee == bindparam("me"),
    "unclaimed": lambda assignee, _due: assignee.is_(None),
    "overdue": lambda _assignee, due: due < bindparam("now", type_=UTCDateTime),
    "due_soon": lambda _assignee, due: and_(
        due >= bindparam("now", type_=UTCDateTime), due < bindparam("soon", type_=UTCDateTime)
    ),
}
# The matching tasks' columns the counts read, and the one pass's columns, built once, naming them.
# Building the four counts on every page cost more than running them.
_SEEN = (HumanTask.assignee.label("seen_assignee"), HumanTask.due_at.label("seen_due_at"))
_TALLY = (
    func.count(),
    *(func.count(case((part(*(column(seen.name) for seen in _SEEN)), 1))) for part in _PARTS.values()),
)


def _tally_values(actor: Actor, now: datetime) -> dict[str, Any]:
    """The values of the counts' parameters: whose tasks are «mine», and the moment «overdue» and «due
    soon» are counted from."""
    return {"me": actor.username, "now": now, "soon": now + DUE_SOON}


def _counts(session: Session, built: _Statements, tally: tuple, values: dict[str, Any]) -> Counts:
    """The page's counts from ``tally``, the one pass over the matching tasks, when they are no more
    than the cap; else each count on its own, up to the cap.

    A rare filter (a channel and a corregimiento) matches few tasks, but finding them walks the whole
    lane: five counts walked it five times. The first pass counts everything it meets, so when it
    meets the end before the cap every count is exact; past the cap, each count reads an index of
    its own (the person's tasks, the due dates) and stops at the cap.
    """
    total, *each = tally
    if total <= COUNT_CAP:
        return Counts(total, *each)
    mine, unclaimed, overdue, due_soon = session.execute(
        select(*(_capped([*built.conditions, part(HumanTask.assignee, HumanTask.due_at)]) for part in _PARTS.values())),
        values,
    ).one()
    return Counts(total, mine, unclaimed, overdue, due_soon)


@dataclass(frozen=True)
class TaskLane:
    """The two columns ``may_work`` reads of a task, for rows that are not a mapped task."""

    lane: str
    direccion: str | None


def _by_person(
    session: Session, scope: str, conditions: tuple, values: dict[str, Any], descending: bool, offset: int, size: int
) -> Subquery:
    """The ids (and sort keys) of a page sorted by the person assigned: the unclaimed tasks, then the
    claimed ones, or the other way.

    Joining every task to its person to sort the whole desk by name took most of a second at a million
    cases. An unclaimed task has no name, so the unclaimed ones — most of a desk — come in the order of
    their due date, which an index gives; only the claimed ones are sorted by name. Where they go is
    where the database puts an empty name: first in ascending order on SQLite, last on PostgreSQL.
    Outside the team's view the claimed tasks a person sees are their own: one name, so in the order
    of the due date too.
    """
    name = SORT_KEYS["asignada"]
    claimed: ColumnElement[bool]
    if scope == "equipo":
        claimed, order = HumanTask.assignee.is_not(None), [name, HumanTask.due_at, HumanTask.id]
    else:
        claimed, order = HumanTask.assignee == bindparam("me"), [HumanTask.due_at, HumanTask.id]
    segments = [  # (which tasks, their ids and keys in order)
        (
            HumanTask.assignee.is_(None),
            select(HumanTask.id, null().cast(String).label("k0"), HumanTask.due_at.label("k1"))
            .where(*conditions, HumanTask.assignee.is_(None))
            .order_by(*_ordered([HumanTask.due_at, HumanTask.id], descending)),
        ),
        (
            claimed,
            select(HumanTask.id, name.label("k0"), HumanTask.due_at.label("k1"))
            .outerjoin(User, User.username == HumanTask.assignee)
            .where(*conditions, claimed)
            .order_by(*_ordered(order, descending)),
        ),
    ]
    empty_first = session.get_bind().dialect.name != "postgresql"  # where NULL sorts in ascending order
    if empty_first == descending:
        segments.reverse()
    (first, picking_first), (_then, picking_then) = segments
    ahead: int = session.execute(  # the first segment's tasks, counted as far as this page reaches
        select(func.count()).select_from(
            select(HumanTask.id).where(*conditions, first).limit(offset + size).subquery()
        ),
        values,
    ).scalar_one()
    parts = []
    if ahead > offset:
        parts.append(picking_first.limit(min(size, ahead - offset)).offset(offset))
    if ahead < offset + size:
        parts.append(picking_then.limit(offset + size - max(ahead, offset)).offset(max(0, offset - ahead)))
    if len(parts) == 1:
        return parts[0].subquery()
    return union_all(*(select(part.subquery()) for part in parts)).subquery()


@dataclass(frozen=True)
class _Statements:
    """A shape's statements (``_statements``): its conditions, its counts in one pass, and its rows,
    but for the order by the person assigned, whose rows depend on how many tasks are claimed.
    Run on the driver's cursor (``Statement``): SQLAlchemy's execution, which made the cache key of
    each statement anew on every page, cost more than the database's work."""

    conditions: tuple
    counts: Statement
    rows: Statement | None


@functools.lru_cache(maxsize=SHAPES_KEPT)
def _statements(shape: _Shape) -> _Statements:
    """The statements of a shape, built once per process: only from the shape, so that no person's
    value can be built into them (their values are parameters, ``_shape_and_values``)."""
    conditions = _conditions(shape)
    counts = select(*_TALLY).select_from(select(*_SEEN).where(*conditions).limit(COUNT_CAP + 1).subquery())
    key, descending = shape.order.removesuffix("_desc"), shape.order.endswith("_desc")
    if key == "asignada":
        return _Statements(conditions, Statement(counts), None)
    keys: list[Any] = [SORT_KEYS[key]] + ([] if key == "vence" else [HumanTask.due_at])
    picking = select(HumanTask.id, *(k.label(f"k{i}") for i, k in enumerate(keys)))
    picking = picking.where(*conditions).order_by(*_ordered([*keys, HumanTask.id], descending))
    chosen = picking.limit(bindparam("size")).offset(bindparam("skip")).subquery()
    return _Statements(conditions, Statement(counts), Statement(_rows(chosen, len(keys), descending)))


def _rows(chosen: Subquery, key_count: int, descending: bool) -> Select[*tuple[Any, ...]]:
    """The columns of the page's rows, for the task ids ``chosen`` gives with their sort keys (k0, k1…)."""
    order = _ordered([*(chosen.c[f"k{i}"] for i in range(key_count)), HumanTask.id], descending)
    return (
        select(
            HumanTask.id,
            HumanTask.name,
            HumanTask.lane,
            HumanTask.assignee,
            HumanTask.created_at,
            HumanTask.due_at,
            Case.id,
            Case.ticket,
            Case.case_type,
            Case.channel,
            Case.citizen_name,
            Case.subject,
            Case.direccion,
            Case.corregimiento,
            Case.due_at,
            HumanTask.direccion,
        )
        .join(chosen, chosen.c.id == HumanTask.id)
        .join(Case, Case.id == HumanTask.case_id)
        .order_by(*order)
    )


def page(session: Session, actor: Actor, filters: Filters, now: datetime, size: int = PAGE_SIZE) -> Page:
    """One page of the bandeja for ``actor``, with the counts of everything the filters match."""
    filters = filters.normalized(actor)
    shape, values = _shape_and_values(actor, filters, now)
    built = _statements(shape)
    # The page's task ids first, from the task rows alone; then the columns of those rows only (a deep
    # page does not look up every case it skips). The counts and the page asked for are read together,
    # in one round trip on PostgreSQL; a page past the last one is read again once the counts say
    # which is the last. No page asked for is deeper than the cap's.
    asked_page = min(filters.page, -(-COUNT_CAP // size))
    reads = [(built.counts, values)]
    if built.rows is not None:
        reads.append((built.rows, {**values, "size": size, "skip": (asked_page - 1) * size}))
    (tally,), *asked = together(session, *reads)
    counts = _counts(session, built, tally, values)
    pages = max(1, -(-min(counts.total, COUNT_CAP) // size))
    current = min(asked_page, pages)
    rows = asked[0] if asked and current == asked_page else None
    if current != filters.page:
        filters = Filters(**{**filters.__dict__, "page": current})
    offset = (current - 1) * size
    if rows is None and built.rows is not None:
        rows = built.rows.all(session, {**values, "size": size, "skip": offset})
    elif rows is None:  # sorted by the person assigned
        descending = filters.order.endswith("_desc")
        chosen = _by_person(session, filters.scope, built.conditions, values, descending, offset, size)
        rows = list(session.execute(_rows(chosen, 2, descending), values))
    # Each row holds Row's fields in order, then the task's dirección (for ``workable``).
    return Page(
        filters,
        [_ROW(*r[:-1], may_work(actor, TaskLane(r[2], r[-1]))) for r in cast("Iterable[tuple[Any, ...]]", rows)],
        counts,
        pages,
    )
