"""Rate limits kept in the database, so every process and every server counts the same hits.

Fixed windows: a row per (bucket, key, window start) counts the hits in that window. Keys
are hashed (an IP address or a ticket number is not stored as such), and each new hit
removes its key's older windows, so the table stays as small as the traffic of one window.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.db.models import RateLimitWindow

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Limit:
    """At most ``hits`` in each window of ``window``, per key of ``bucket``."""

    bucket: str
    hits: int
    window: timedelta

    def _start(self, now: datetime) -> datetime:
        size = self.window.total_seconds()
        return EPOCH + timedelta(seconds=((now - EPOCH).total_seconds() // size) * size)

    def _key(self, value: str) -> str:
        return hashlib.sha256(f"{self.bucket}:{value}".encode()).hexdigest()

    def used(self, session: Session, value: str, now: datetime) -> int:
        """How many hits the key has in the current window."""
        return (
            session.scalar(
                select(RateLimitWindow.hits).where(
                    RateLimitWindow.bucket == self.bucket,
                    RateLimitWindow.key == self._key(value),
                    RateLimitWindow.window_start == self._start(now),
                )
            )
            or 0
        )

    def exceeded(self, session: Session, value: str, now: datetime) -> bool:
        return self.used(session, value, now) >= self.hits

    def record(self, session: Session, value: str, now: datetime) -> int:
        """Count one hit in the caller's transaction; returns the hits of the window so far."""
        key, start = self._key(value), self._start(now)
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(RateLimitWindow).values(bucket=self.bucket, key=key, window_start=start, hits=1)
        statement = statement.on_conflict_do_update(
            index_elements=["bucket", "key", "window_start"], set_={"hits": RateLimitWindow.hits + 1}
        )
        session.execute(statement)
        session.execute(
            delete(RateLimitWindow).where(
                RateLimitWindow.bucket == self.bucket, RateLimitWindow.key == key, RateLimitWindow.window_start < start
            )
        )
        return self.used(session, value, now)
