"""Read-only lookups that pages need beyond the service facade; none of them changes anything.

The facade (``engine.services.Atiende``) decides who may see or do what; these functions
only fetch rows the caller is already allowed to read: the people behind a session cookie,
the cases behind a task list, a case's open tasks, catalogue labels, people's names.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Case, CatalogItem, HumanTask, User


def active_user(session: Session, user_id: int) -> User | None:
    """The active user with this id (roles loaded), or None if missing or deactivated."""
    return session.scalar(select(User).where(User.id == user_id, User.active.is_(True)))


def cases_by_id(session: Session, case_ids: Iterable[int]) -> dict[int, Case]:
    """The cases with these ids, in one query (a task list shows one row per task)."""
    ids = set(case_ids)
    if not ids:
        return {}
    return {case.id: case for case in session.scalars(select(Case).where(Case.id.in_(ids)))}


def open_tasks(session: Session, case_id: int) -> list[HumanTask]:
    """The READY tasks of a case, oldest first, whoever may work them."""
    return list(session.scalars(select(HumanTask).where(HumanTask.case_id == case_id)
                                .order_by(HumanTask.created_at, HumanTask.name)))


def catalog_labels(session: Session, catalog: str) -> dict[str, str]:
    """Code → label of a catalogue, inactive entries included: old records still name them."""
    rows = session.execute(select(CatalogItem.code, CatalogItem.label).where(CatalogItem.catalog == catalog))
    return {code: label for code, label in rows}


def full_names(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    """Username → full name for the given usernames that exist."""
    wanted = set(usernames)
    if not wanted:
        return {}
    rows = session.execute(select(User.username, User.full_name).where(User.username.in_(wanted)))
    return {username: name for username, name in rows}
