"""Rate limits kept in the database, so every process and every server counts the same hits.

Fixed windows: a row per (bucket, key, window start) counts the hits in that window. Keys
are hashed (an IP address or a ticket number is not stored as such), and each new hit
removes its key's older windows, so the table stays as small as the traffic of one window.

An attempt is counted and checked in one statement (``INSERT … ON CONFLICT DO UPDATE SET
hits = hits + 1 … RETURNING hits``, SQLite ≥ 3.35 and PostgreSQL), in a short transaction of
its own that commits before the caller does the work the limit protects: parallel attempts
queue on the counter's row, each sees the count its own hit made, and no more than the limit
ever get through. A refused attempt is rolled back, so hammering a closed door does not keep
it closed; an attempt that turns out harmless (a right password) is given back.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.db.models import RateLimitWindow
from engine.db.store import Store

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Limit:
    """At most ``hits`` in each window of ``window``, per key of ``bucket``."""

    bucket: str
    hits: int
    window: timedelta

    def start(self, now: datetime) -> datetime:
        """When the window holding ``now`` began."""
        size = self.window.total_seconds()
        return EPOCH + timedelta(seconds=((now - EPOCH).total_seconds() // size) * size)

    def hashed(self, value: str) -> str:
        return hashlib.sha256(f"{self.bucket}:{value}".encode()).hexdigest()

    def hit(self, session: Session, value: str, now: datetime) -> int:
        """Count one hit; the hits of the window, this one included (one statement, row-locked)."""
        key, start = self.hashed(value), self.start(now)
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(RateLimitWindow)
            .values(bucket=self.bucket, key=key, window_start=start, hits=1)
            .on_conflict_do_update(
                index_elements=["bucket", "key", "window_start"], set_={"hits": RateLimitWindow.hits + 1}
            )
            .returning(RateLimitWindow.hits)
        )
        hits = session.execute(statement).scalar_one()
        session.execute(
            delete(RateLimitWindow).where(
                RateLimitWindow.bucket == self.bucket, RateLimitWindow.key == key, RateLimitWindow.window_start < start
            )
        )
        return hits


Counted = Iterable[tuple[Limit, str]]


class _Refused(Exception):
    """Rolls the take back (nothing counted)."""

    def __init__(self, until: datetime):
        self.until = until


def _in_lock_order(counted: Counted) -> list[tuple[Limit, str]]:
    """One order for every transaction, so two takes never wait on each other's rows in a cycle."""
    return sorted(counted, key=lambda pair: (pair[0].bucket, pair[0].hashed(pair[1])))


def take(store: Store, now: datetime, counted: Counted) -> datetime | None:
    """Count one hit against each (limit, key), all or none, committed at once.

    None when every limit allows it; else when the last of the limits it exceeds ends (the
    moment the attempt may be made again), and nothing is counted.
    """
    try:
        with store.unit_of_work() as s:
            ends = [
                limit.start(now) + limit.window
                for limit, value in _in_lock_order(counted)
                if limit.hit(s, value, now) > limit.hits
            ]
            if ends:
                raise _Refused(max(ends))
    except _Refused as refused:
        return refused.until
    return None


def seconds_until(until: datetime, now: datetime) -> int:
    """Whole seconds from ``now`` to ``until`` (what ``take`` returned), at least one: a Retry-After."""
    return max(1, math.ceil((until - now).total_seconds()))


def give_back(store: Store, now: datetime, counted: Counted) -> None:
    """Uncount the hits a take counted at ``now`` (the same moment, so the same windows)."""
    with store.unit_of_work() as s:
        for limit, value in _in_lock_order(counted):
            s.execute(
                update(RateLimitWindow)
                .where(
                    RateLimitWindow.bucket == limit.bucket,
                    RateLimitWindow.key == limit.hashed(value),
                    RateLimitWindow.window_start == limit.start(now),
                    RateLimitWindow.hits > 0,
                )
                .values(hits=RateLimitWindow.hits - 1)
            )
