"""Editable catalogues (direcciones, corregimientos, case types), seeded with real values."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import CatalogItem

SEED = Path(__file__).parent / "data" / "catalogos.json"


def seed(session: Session) -> int:
    """Insert the seed entries that are missing; returns how many were added."""
    existing = {(c, k) for c, k in session.execute(select(CatalogItem.catalog, CatalogItem.code))}
    added = 0
    for catalog, items in json.loads(SEED.read_text(encoding="utf-8")).items():
        for item in items:
            if (catalog, item["code"]) not in existing:
                session.add(CatalogItem(catalog=catalog, code=item["code"], label=item["label"], extra=item.get("extra", {})))
                added += 1
    return added


def codes(session: Session, names) -> dict[str, set[str]]:
    """The active codes of the named catalogues."""
    names = set(names)
    if not names:
        return {}
    found: dict[str, set[str]] = {n: set() for n in names}
    rows = session.execute(select(CatalogItem.catalog, CatalogItem.code)
                           .where(CatalogItem.catalog.in_(names), CatalogItem.active.is_(True)))
    for catalog, code in rows:
        found[catalog].add(code)
    return found


class CodesCache:
    """Catalogue codes for form validation, re-read at most every ``ttl`` seconds.

    Every form submission with a catalogue field checks its value; reading the catalogue each
    time was a measurable share of a task completion. An edit made through this process calls
    ``invalidate``; other processes see it within ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 10.0):
        self.ttl = ttl
        self._codes: dict[str, set[str]] = {}
        self._read_at: float = 0.0
        self._lock = threading.Lock()

    def get(self, session: Session, names) -> dict[str, set[str]]:
        names = set(names)
        with self._lock:
            fresh = time.monotonic() - self._read_at < self.ttl
            if fresh and names <= self._codes.keys():
                return {n: self._codes[n] for n in names}
        found = codes(session, names)
        with self._lock:
            if not fresh:
                self._codes, self._read_at = {}, time.monotonic()
            self._codes.update(found)
        return found

    def invalidate(self) -> None:
        with self._lock:
            self._codes, self._read_at = {}, 0.0


def entries(session: Session, catalog: str) -> list[CatalogItem]:
    """The active entries of a catalogue, by label."""
    return list(session.scalars(select(CatalogItem).where(CatalogItem.catalog == catalog, CatalogItem.active.is_(True))
                                .order_by(CatalogItem.label)))


def label(session: Session, catalog: str, code: str | None) -> str | None:
    if code is None:
        return None
    return session.scalar(select(CatalogItem.label).where(CatalogItem.catalog == catalog, CatalogItem.code == code)) or code
