"""Read-only lookups that pages need beyond the service facade; none of them changes anything.

The facade (``engine.facade.Atiende``) decides who may see or do what; these functions
only fetch rows the caller is already allowed to read: the people behind a session cookie,
the cases behind a task list, a case's open tasks, catalogue labels, people's names, and
single rows by id (a person, a procedure version, a stored document, an outbox message).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from sqlalchemy import BindParameter, bindparam, select, union
from sqlalchemy.orm import Session

from engine.access.accounts import Actor
from engine.db.models import (
    AuditEvent,
    Case,
    CaseNote,
    CatalogItem,
    Document,
    HumanTask,
    OutboxMessage,
    ProcedureVersion,
    User,
    UserRole,
)
from engine.db.statements import Statement


def active_actor(session: Session, user_id: int, generation: int) -> tuple[str, str, Actor] | None:
    """(username, full name, Actor) of the active user with this id, or None if missing, deactivated,
    or if ``generation`` (the session's) is no longer the user's: that session has been ended.

    One query of plain columns, no ORM objects: it runs on every request of a signed-in person.
    """
    rows = session.execute(
        select(User.username, User.full_name, User.direccion, UserRole.role)
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .where(User.id == user_id, User.active.is_(True), User.session_generation == generation)
    ).all()
    if not rows:
        return None
    username, full_name, direccion, _role = rows[0]
    return username, full_name, Actor(username, frozenset(r.role for r in rows if r.role), direccion)


def user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def procedure_version(session: Session, version_id: int) -> ProcedureVersion | None:
    return session.get(ProcedureVersion, version_id)


def document(session: Session, document_id: int) -> Document | None:
    return session.get(Document, document_id)


def outbox_message(session: Session, message_id: int) -> OutboxMessage | None:
    return session.get(OutboxMessage, message_id)


def cases_by_id(session: Session, case_ids: Iterable[int]) -> dict[int, Case]:
    """The cases with these ids, in one query (a task list shows one row per task)."""
    ids = set(case_ids)
    if not ids:
        return {}
    return {case.id: case for case in session.scalars(select(Case).where(Case.id.in_(ids)))}


_TASKS = HumanTask.__table__
_OPEN_TASKS = Statement(
    select(*_TASKS.c).where(_TASKS.c.case_id == bindparam("case_id")).order_by(_TASKS.c.created_at, _TASKS.c.name)
)


def open_tasks(session: Session, case_id: int) -> list[tuple]:
    """The READY tasks of a case (human_task rows as named tuples), oldest first, whoever may work them."""
    return _OPEN_TASKS.all(session, {"case_id": case_id})


def open_tasks_read(case_id: int) -> tuple[Statement, dict]:
    """``open_tasks``' read, to send with others (``statements.together``)."""
    return _OPEN_TASKS, {"case_id": case_id}


def catalog_labels(session: Session, catalog: str) -> dict[str, str]:
    """Code → label of a catalogue, inactive entries included: old records still name them."""
    rows = session.execute(select(CatalogItem.code, CatalogItem.label).where(CatalogItem.catalog == catalog))
    return {code: label for code, label in rows}


def catalog_items(session: Session, catalogs: Iterable[str]) -> list[tuple[str, str, str, bool]]:
    """(catalog, code, label, active) of every entry of the named catalogues, by label, in one query."""
    rows = session.execute(
        select(CatalogItem.catalog, CatalogItem.code, CatalogItem.label, CatalogItem.active)
        .where(CatalogItem.catalog.in_(set(catalogs)))
        .order_by(CatalogItem.label)
    )
    return cast("list[tuple[str, str, str, bool]]", [tuple(row) for row in rows])


_FULL_NAME = Statement(select(User.full_name).where(User.username == bindparam("username")))


def full_name(session: Session, username: str) -> str | None:
    """The full name of one user, or None if there is no such user."""
    return _FULL_NAME.scalar(session, {"username": username})


_CASE_ID: BindParameter[int] = bindparam("case_id")
_NAMED_BY_CASE = Statement(
    select(User.username, User.full_name).where(
        User.username.in_(
            union(
                select(AuditEvent.actor).where(AuditEvent.case_id == _CASE_ID),
                select(CaseNote.author).where(CaseNote.case_id == _CASE_ID),
                select(HumanTask.assignee).where(HumanTask.case_id == _CASE_ID),
            )
        )
    )
)


def named_by_case_read(case_id: int) -> tuple[Statement, dict]:
    """The read of (username, full name) of everyone a case's page names: who acted on it (its events),
    wrote its notes or holds its tasks; to send with the page's other reads (``statements.together``)."""
    return _NAMED_BY_CASE, {"case_id": case_id}


def full_names(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    """Username → full name for the given usernames that exist."""
    wanted = set(usernames)
    if not wanted:
        return {}
    rows = session.execute(select(User.username, User.full_name).where(User.username.in_(wanted)))
    return {username: name for username, name in rows}
