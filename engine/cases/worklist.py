"""The bandeja's query: the open tasks a person may see, filtered, counted, sorted and paged.

Two statements per page, whatever the size of the desk: one aggregate for the counts the
page shows (total, mine, unclaimed, overdue, due soon) and one for the page's rows, LIMIT /
OFFSET over covering indexes of migration 0004 (``ix_human_task_worklist`` for a person's
lanes, ``ix_human_task_due`` for the whole team). The case's columns the filters need are
mirrored on its task rows (``runtime.TASK_MIRRORED``), so counting and paging 20,000 open tasks
reads index pages, never a case row; only the page's 25 rows are joined to their cases.

Scopes: ``mias`` (claimed by me), ``disponibles`` (unclaimed, of my roles), ``todas`` (both;
the default), and ``equipo`` — every open task of every lane and person, for coordinators,
who hand tasks to people (``engine.cases.assignment``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from engine.access.accounts import Actor
from engine.access.permissions import may_coordinate, workable
from engine.db.models import Case, HumanTask

PAGE_SIZE = 25
DUE_SOON = timedelta(days=2)
SCOPES = ("todas", "mias", "disponibles", "equipo")
DUE_FILTERS = ("vencidas", "pronto", "a_tiempo")
ORDERS = ("vence", "vence_desc", "recientes")


@dataclass(frozen=True)
class Filters:
    """What the person asked the bandeja for; unknown values fall back to the defaults."""

    scope: str = "todas"
    case_type: str | None = None
    channel: str | None = None
    direccion: str | None = None
    corregimiento: str | None = None
    due: str | None = None
    order: str = "vence"
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
            order=self.order if self.order in ORDERS else "vence",
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


@dataclass(frozen=True)
class Counts:
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


def _visible(actor: Actor, scope: str):
    """The tasks the scope shows the actor: their roles' (an enlace's only for their dirección)."""
    if scope == "equipo":
        return None
    lanes = workable(actor)
    if scope == "mias":
        return and_(lanes, HumanTask.assignee == actor.username)
    if scope == "disponibles":
        return and_(lanes, HumanTask.assignee.is_(None))
    return and_(lanes, or_(HumanTask.assignee.is_(None), HumanTask.assignee == actor.username))


def _conditions(actor: Actor, filters: Filters, now: datetime) -> list:
    """The WHERE conditions: on the task rows alone (the case's filter columns are mirrored there)."""
    conditions = []
    visible = _visible(actor, filters.scope)
    if visible is not None:
        conditions.append(visible)
    if filters.direccion:
        conditions.append(HumanTask.direccion == filters.direccion)
    if filters.due == "vencidas":
        conditions.append(HumanTask.due_at < now)
    elif filters.due == "pronto":
        conditions.append(and_(HumanTask.due_at >= now, HumanTask.due_at < now + DUE_SOON))
    elif filters.due == "a_tiempo":
        conditions.append(or_(HumanTask.due_at.is_(None), HumanTask.due_at >= now + DUE_SOON))
    mirrored = [
        (HumanTask.case_type, filters.case_type),
        (HumanTask.channel, filters.channel),
        (HumanTask.corregimiento, filters.corregimiento),
    ]
    return conditions + [col == value for col, value in mirrored if value]


def page(session: Session, actor: Actor, filters: Filters, now: datetime, size: int = PAGE_SIZE) -> Page:
    """One page of the bandeja for ``actor``, with the counts of everything the filters match."""
    filters = filters.normalized(actor)
    conditions = _conditions(actor, filters, now)
    counting = select(
        func.count(),
        func.count().filter(HumanTask.assignee == actor.username),
        func.count().filter(HumanTask.assignee.is_(None)),
        func.count().filter(HumanTask.due_at < now),
        func.count().filter(HumanTask.due_at >= now, HumanTask.due_at < now + DUE_SOON),
    ).select_from(HumanTask)
    counts = Counts(*session.execute(counting.where(*conditions)).one())
    pages = max(1, -(-counts.total // size))
    current = min(filters.page, pages)
    if current != filters.page:
        filters = Filters(**{**filters.__dict__, "page": current})
    order = {
        "vence": (HumanTask.due_at, HumanTask.id),
        "vence_desc": (HumanTask.due_at.desc(), HumanTask.id),
        "recientes": (HumanTask.created_at.desc(), HumanTask.id),
    }[filters.order]
    # The page's task ids first, from the index alone; then the columns of those rows only (a
    # deep page does not look up every case it skips).
    chosen = (
        select(HumanTask.id).where(*conditions).order_by(*order).limit(size).offset((current - 1) * size).subquery()
    )
    rows = session.execute(
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
        )
        .join(chosen, chosen.c.id == HumanTask.id)
        .join(Case, Case.id == HumanTask.case_id)
        .order_by(*order)
    )
    # Each row holds Row's fields in order (mypy cannot spread a row of fifteen columns into them).
    return Page(filters, [Row(*r) for r in cast("Iterable[tuple[Any, ...]]", rows)], counts, pages)
