"""A number every request asks of the database, kept by each process and read again when it changes.

Before every signed-in request a process must know whether anything about people changed since it
last read them (``engine.access.accounts.access_version``). Asking the database costs a round trip
on PostgreSQL, as much as a fifth of a task completion's. There each process keeps the number
instead, and listens: a transaction that changes it sends a notification on the number's channel
(``notify``: PostgreSQL's ``NOTIFY``, delivered when the transaction commits; the channel is named
for the schema too, so installations sharing a database do not wake each other), and the process,
holding a connection of its own that ``LISTEN``s, reads the number again once one has arrived.
Looking for an arrival costs no round trip: libpq takes in what the socket already holds, without
waiting.

- **This process's own changes** mark its kept numbers stale as they commit: its next request reads.
- **Another process's** reach this one as soon as the server passes the notification on (well
  under a millisecond on one machine): a request that begins in between is served as one that
  began just before the change.
- **A listening connection that dies** loudly (a server restart, ``pg_terminate_backend``, an idle
  timeout) is noticed within a look or two (the server's goodbye, then the closed socket), and the
  number read then; one that goes silent (a network dropping it without a word) is covered by a
  read at least every ``REREAD_SECONDS`` anyway, until TCP's keepalives find it dead.
- **While a process cannot listen**, it reads the number at every request and tries again after
  ``RETRY_SECONDS``. On SQLite it always reads: the read is in the process and costs what looking
  would.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import pq, sql
from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

REREAD_SECONDS = 1.0  # the longest a number is kept without a read, whatever arrives
RETRY_SECONDS = 5.0  # after listening failed, how long to read at every request before trying again
# A channel is the database's, not the schema's: each schema gets its own name, made in SQL by the
# notifying and the listening connection alike (md5: a name fits PostgreSQL's 63 bytes whatever the schema's).
_IN_SCHEMA = "(:channel || '_' || left(md5(current_schema()), 12))"
_NOTIFY = text(f"SELECT pg_notify({_IN_SCHEMA}, '')")
_CHANNEL_NAME = f"SELECT {_IN_SCHEMA.replace(':channel', '%(channel)s')}"
_NOTIFIED = "listening_notified"  # session.info key: the channels its transaction notifies
_LISTENED: defaultdict[str, weakref.WeakSet[Listened]] = defaultdict(weakref.WeakSet)  # this process's, by channel
_REGISTRY_LOCK = threading.Lock()  # _LISTENED is filled by one thread while another commits
# Every PostgreSQL connection's: one the network dropped without a word (a firewall or a NAT that forgot
# it) is known dead after about a minute of quiet, not when a request sends its first statement on it.
KEEPALIVES: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
_CONNECT: dict[str, Any] = {"connect_timeout": 5, **KEEPALIVES}  # the listening connection's: given up on quickly


def notify(session: Session, channel: str) -> None:
    """Tell every process, when the session's transaction commits, that the number kept on ``channel``
    changed (on PostgreSQL; on SQLite nobody keeps it)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_NOTIFY, {"channel": channel})
        session.info.setdefault(_NOTIFIED, set()).add(channel)


@event.listens_for(Session, "after_commit")
def _stale_here(session: Session) -> None:
    """This process need not wait for the server's notification of its own change (a savepoint's
    release commits nothing yet)."""
    if session.in_nested_transaction():
        return
    for channel in session.info.pop(_NOTIFIED, ()):
        with _REGISTRY_LOCK:
            listening = list(_LISTENED[channel])
        for listened in listening:
            listened.stale()


@event.listens_for(Session, "after_rollback")
def _not_notified(session: Session) -> None:
    """Nothing is sent when the transaction rolls back (a savepoint's rollback leaves the mark: at
    worst one read too many)."""
    if not session.in_nested_transaction():
        session.info.pop(_NOTIFIED, None)


class Listened:
    """The number ``read`` gives, kept while no change arrives on ``channel`` (PostgreSQL at ``url``, or
    None for SQLite, where it is read every time). Shared by a process's threads."""

    def __init__(self, url: URL | None, channel: str, read: Callable[[], int]):
        self._url = url.set(drivername="postgresql").render_as_string(hide_password=False) if url else None
        self._channel = channel
        self._read = read
        self._lock = threading.Lock()
        self._connection: psycopg.Connection | None = None
        self._value = 0
        self._read_at = float("-inf")
        self._failed_at = float("-inf")
        with _REGISTRY_LOCK:
            _LISTENED[channel].add(self)

    def value(self) -> int:
        if self._url is None:
            return self._read()
        with self._lock:
            now = time.monotonic()
            if self._connection is None and (now - self._failed_at < RETRY_SECONDS or not self._listen(now)):
                return self._read()
            if self._arrived():
                self._read_at = float("-inf")  # should the read fail, the next ask reads
            if now - self._read_at >= REREAD_SECONDS:
                self._value, self._read_at = self._read(), now
            return self._value

    def stale(self) -> None:
        """Read the number at the next ask."""
        with self._lock:
            self._read_at = float("-inf")

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _listen(self, now: float) -> bool:
        """Open the listening connection; the number is read after it listens, so a change committed
        before is in what is read, and one committed after is notified."""
        assert self._url is not None
        connection = None
        try:
            connection = psycopg.connect(
                self._url,
                autocommit=True,
                application_name=f"atiende: escucha {self._channel}, pid {os.getpid()}",
                **_CONNECT,
            )
            [(named,)] = connection.execute(_CHANNEL_NAME, {"channel": self._channel}).fetchall()
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(named)))
        except psycopg.Error as exc:
            if connection is not None:
                connection.close()
            self._failed_at = now
            log.warning("cannot listen on %s; reading it at every request meanwhile: %s", self._channel, exc)
            return False
        self._connection = connection
        self._read_at = float("-inf")
        return True

    def _arrived(self) -> bool:
        """Whether a change arrived since the last look; the listening connection's end counts as one."""
        assert self._connection is not None
        pgconn = self._connection.pgconn
        try:
            pgconn.consume_input()  # what the socket holds now, without waiting
            ended = None if pgconn.status == pq.ConnStatus.OK else "the server ended it"
        except psycopg.OperationalError as exc:
            ended = str(exc)
        if ended is not None:
            log.warning("stopped listening on %s; reading it at every request meanwhile: %s", self._channel, ended)
            self._connection.close()
            self._connection = None
            self._failed_at = time.monotonic()
            return True
        arrived = False
        while pgconn.notifies() is not None:
            arrived = True
        return arrived
