"""Editable catalogues (direcciones, corregimientos, case types), seeded with real values."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import queries
from engine.db.models import CatalogItem

SEED = Path(__file__).parent / "catalogos.json"


def seed(session: Session) -> int:
    """Insert the seed entries that are missing; returns how many were added."""
    existing = {(c, k) for c, k in session.execute(select(CatalogItem.catalog, CatalogItem.code))}
    added = 0
    for catalog, items in json.loads(SEED.read_text(encoding="utf-8")).items():
        for item in items:
            if (catalog, item["code"]) not in existing:
                session.add(
                    CatalogItem(catalog=catalog, code=item["code"], label=item["label"], extra=item.get("extra", {}))
                )
                added += 1
    return added


def codes(session: Session, names) -> dict[str, set[str]]:
    """The active codes of the named catalogues."""
    names = set(names)
    if not names:
        return {}
    found: dict[str, set[str]] = {n: set() for n in names}
    rows = session.execute(
        select(CatalogItem.catalog, CatalogItem.code).where(
            CatalogItem.catalog.in_(names), CatalogItem.active.is_(True)
        )
    )
    for catalog, code in rows:
        found[catalog].add(code)
    return found


class CatalogCache:
    """Catalogue entries, for form validation (active codes), for papers and pages (labels), re-read
    at most every ``ttl`` seconds.

    Every form submission with a catalogue field checks its value, and every hoja, message
    and case page names its dirección and case type by label; reading the catalogues each
    time was a measurable share of a task completion, and a round trip of every case page on
    PostgreSQL. An edit made through this process calls ``invalidate``; other processes see it
    within ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 10.0):
        self.ttl = ttl
        self._items: dict[str, list[tuple[str, str, bool]]] = {}  # catalogue → (code, label, active)
        self._read_at: float = 0.0
        self._lock = threading.Lock()

    def items(self, session: Session, names) -> dict[str, list[tuple[str, str, bool]]]:
        """(code, label, active) of every entry of the named catalogues, by label."""
        names = set(names)
        with self._lock:
            fresh = time.monotonic() - self._read_at < self.ttl
            if fresh and names <= self._items.keys():
                return {n: self._items[n] for n in names}
        found: dict[str, list[tuple[str, str, bool]]] = {n: [] for n in names}
        for catalog, code, label, active in queries.catalog_items(session, names):
            found[catalog].append((code, label, active))
        with self._lock:
            if not fresh:
                self._items, self._read_at = {}, time.monotonic()
            self._items.update(found)
        return found

    def codes(self, session: Session, names) -> dict[str, set[str]]:
        """The active codes of the named catalogues."""
        found = self.items(session, names)
        return {n: {code for code, _label, active in items if active} for n, items in found.items()}

    def labels(self, session: Session, names) -> dict[str, dict[str, str]]:
        """Code → label of the named catalogues, inactive entries included: old records still name them."""
        found = self.items(session, names)
        return {n: {code: label for code, label, _active in items} for n, items in found.items()}

    def invalidate(self) -> None:
        with self._lock:
            self._items, self._read_at = {}, 0.0


def entries(session: Session, catalog: str) -> list[CatalogItem]:
    """The active entries of a catalogue, by label."""
    return list(
        session.scalars(
            select(CatalogItem)
            .where(CatalogItem.catalog == catalog, CatalogItem.active.is_(True))
            .order_by(CatalogItem.label)
        )
    )


def label(session: Session, catalog: str, code: str | None) -> str | None:
    if code is None:
        return None
    return (
        session.scalar(select(CatalogItem.label).where(CatalogItem.catalog == catalog, CatalogItem.code == code))
        or code
    )
