"""Database connections and the unit of work: every change to a case is one transaction.

SQLite is the embedded default (WAL mode; write transactions start with ``BEGIN
IMMEDIATE`` so two writers queue instead of failing half-way); PostgreSQL is reached
through ``DATABASE_URL`` with psycopg 3, and writers lock the rows they change.

Reads and writes take different sessions. A read session never writes, flushes or locks a row
(``ReadSessionMisuse`` otherwise), so on PostgreSQL it runs in autocommit: each SELECT is its
own transaction, as it already was under READ COMMITTED (every statement there sees its own
snapshot), without the BEGIN and ROLLBACK that cost two of a page's ten round trips. A report
that must agree with itself, or a scan that streams rows through a server-side cursor (which
PostgreSQL keeps only inside a transaction), reads in ``Store.snapshot`` instead.
"""

from __future__ import annotations

import contextlib
import functools
import json
import select
import threading
import weakref
from collections.abc import Callable
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import pq
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import sessionmaker

from engine.db import checkpoints
from engine.db.listening import KEEPALIVES, Listened
from engine.errors import SchemaOutdated

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_SQLITE = "instance/atiende.sqlite3"


def database_url(url: str | None = None) -> str:
    """The URL to use: the one given (``Settings.database_url``), else the SQLite file under instance/."""
    url = url or f"sqlite:///{DEFAULT_SQLITE}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def json_text(value) -> str:
    """A JSON column's value as stored: compact, with text as typed.

    The default escapes every accented letter (``\\u00f3``, six bytes for two) and puts a space
    after each comma and colon: a Spanish record, an audit event's detail, comes out a tenth larger
    (bench/storage.py). Text UTF-8 cannot encode (a lone surrogate a broken e-mail header may leave)
    stays escaped, since the database would refuse it unescaped.
    """
    stored = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        stored.encode()
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":"))
    return stored


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # engine.db.checkpoints copies the log back from a thread of its own; a commit checkpoints
        # only past 16,000 pages (64 MB), should that thread not keep up.
        cursor.execute("PRAGMA wal_autocheckpoint=16000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # On the driver's connection: through SQLAlchemy's execution this cost more than the BEGIN.
        conn.connection.driver_connection.execute(
            "BEGIN IMMEDIATE" if conn.get_execution_options().get("writer") else "BEGIN"
        )


class ReadSessionMisuse(RuntimeError):
    """Code in a read session tried to write, lock rows or stream outside a snapshot: a programming
    error, never a person's. In autocommit a write would be kept at once, a lock released at once
    and a server-side cursor refused; writes belong in ``Store.unit_of_work``, streams in
    ``Store.snapshot``. Refused on every database, so the tests on SQLite find it too.
    """


def _read_only(sessions: sessionmaker, streams: bool) -> None:
    """Refuse, in every session ``sessions`` makes, a flush that would write, DML, SELECT … FOR UPDATE,
    and, unless ``streams``, a read through a server-side cursor. Its sessions do not autoflush:
    an object changed for display is simply forgotten.
    """

    @event.listens_for(sessions, "before_flush")
    def _flush(session, _context, _instances):
        if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
            raise ReadSessionMisuse("a read session does not write: use Store.unit_of_work")

    @event.listens_for(sessions, "do_orm_execute")
    def _execute(state):
        if state.is_insert or state.is_update or state.is_delete:
            raise ReadSessionMisuse("a read session does not write: use Store.unit_of_work")
        if getattr(state.statement, "_for_update_arg", None) is not None:
            raise ReadSessionMisuse("a read session does not lock rows: use Store.unit_of_work")
        options = state.execution_options
        if not streams and (options.get("yield_per") or options.get("stream_results")):
            raise ReadSessionMisuse("rows are streamed inside a transaction: use Store.snapshot")


def _postgres_liveness(engine: Engine) -> None:
    """A pooled connection the server has closed is replaced at checkout, with no round trip.

    SQLAlchemy's ``pool_pre_ping`` sent a ``SELECT 1`` at every checkout: a request's two or
    three sessions paid as many round trips. An idle connection receives nothing unless the
    server is leaving (a restart, ``pg_terminate_backend``, an idle timeout): its goodbye or the
    closed socket makes the socket readable, which ``poll`` sees at once; so does an error on it,
    which TCP's keepalives raise when the network has dropped the connection without a word. Such a
    connection, or one libpq already knows is broken, is discarded and the pool connects anew.
    """

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, _record, _proxy):
        if dbapi_conn.closed or dbapi_conn.broken:
            raise DisconnectionError("the connection is closed")
        idle = select.poll()
        idle.register(dbapi_conn.pgconn.socket, select.POLLIN)
        if idle.poll(0):
            raise DisconnectionError("the server has closed the connection")


class _BeginInFirstRoundTrip(psycopg.Connection):
    """A psycopg connection whose transactions' BEGIN travels with their first statements.

    psycopg opens a transaction by sending BEGIN before the first statement; in a pipeline it then
    waits for the BEGIN's answer alone (a Sync), so every write transaction, whose first reads go
    together (``statements.together``), paid one round trip for the BEGIN: a fifth of a task
    completion's. Here the BEGIN is queued with the statements after it. If one of them fails, the
    server aborts the transaction as it would after a BEGIN answered alone, and the failure is
    raised at the pipeline's end. Outside a pipeline nothing changes.

    ``_start_query`` is psycopg's own (private) step that opens a transaction; this overrides it
    for the version ``requirements.lock`` pins, and ``tests/integration/test_round_trips.py`` fails
    if an upgrade brings the round trip back.
    """

    def _start_query(self):
        if self._autocommit or self.pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return
        yield from self._exec_command(self._get_tx_start_command())


def _postgres_connections(engine: Engine) -> None:
    """The engine's PostgreSQL connections are ``_BeginInFirstRoundTrip``, with psycopg's own arguments."""

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect, _record, cargs, cparams):
        return _BeginInFirstRoundTrip.connect(*cargs, **cparams)


class Store:
    """One database: its engine, sessions for reading and units of work for writing."""

    def __init__(self, url: str | None = None, connections: int = 5):
        """``connections``: how many PostgreSQL connections the pool keeps open, one for each thread
        that may hold one at once (``Atiende.open`` gives the process's threads)."""
        self.url = database_url(url)
        self._stop_checkpoints = None
        if self.url.startswith("sqlite"):
            self.engine = create_engine(self.url, json_serializer=json_text)
            _sqlite_pragmas(self.engine)
            file = self.engine.url.database
            if file and file != ":memory:":
                Path(file).parent.mkdir(parents=True, exist_ok=True)
                registration = checkpoints.register(file)
                self._stop_checkpoints = weakref.finalize(self, checkpoints.unregister, registration)
        else:
            # psycopg prepares a statement at its fifth run on a connection (its default): the steps'
            # statements, the same on every step, are then neither parsed nor planned again (for
            # statements this short, most of the server's work). A ROLLBACK (a savepoint's too) makes psycopg
            # deallocate them all; only failures and the auditor's snapshot roll back. Behind a pooler
            # in transaction mode the pooler must keep prepared statements (docs/operations.md).
            # The pool keeps ``connections`` open and opens up to ten more for a burst, closing each
            # as it is given back: kept fewer than a process's threads, a busy process would connect
            # anew for most requests, each time a new server process preparing its statements again.
            # A session takes the connection given back last: requests one after another keep to one
            # server process, whose caches are warm, rather than taking turns over all of them. The
            # others may then stay idle for hours: TCP keepalives tell the checkout
            # (``_postgres_liveness``) of one the network dropped.
            self.engine = create_engine(
                self.url,
                json_serializer=json_text,
                pool_size=connections,
                max_overflow=10,
                pool_use_lifo=True,
                connect_args=KEEPALIVES,
            )
            _postgres_connections(self.engine)
            _postgres_liveness(self.engine)
        # SQLite's read transaction is a snapshot from its first read already.
        reading, one_moment = (
            (self.engine, self.engine)
            if self.is_sqlite
            else (
                self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                self.engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True),
            )
        )
        self._reader = sessionmaker(reading, expire_on_commit=False, autoflush=False)
        _read_only(self._reader, streams=False)
        self._snapshot_reader = sessionmaker(one_moment, expire_on_commit=False, autoflush=False)
        _read_only(self._snapshot_reader, streams=True)
        self._writer = sessionmaker(self.engine.execution_options(writer=True), expire_on_commit=False)
        self._listened: dict[str, Listened] = {}
        self._listened_lock = threading.Lock()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def read(self):
        """A session for reading: it refuses to write or lock (``ReadSessionMisuse``)."""
        with self._reader() as session:
            yield session

    @contextlib.contextmanager
    def snapshot(self):
        """A read session that sees the database at one moment, in one read-only transaction: for a
        report that must agree with itself (the audit's verification) and for streamed scans."""
        with self._snapshot_reader() as session:
            yield session

    @contextlib.contextmanager
    def unit_of_work(self):
        """A session whose changes are committed together at the end, or not at all."""
        with self._writer() as session, session.begin():
            yield session

    def listened(self, channel: str, read: Callable[[], int]) -> Listened:
        """The number ``read`` gives, kept by this process while no change to it arrives on ``channel``
        (``engine.db.listening``): one per channel, its listening connection closed with the store."""
        found = self._listened.get(channel)
        if found is None:
            with self._listened_lock:
                found = self._listened.get(channel)
                if found is None:
                    found = Listened(None if self.is_sqlite else self.engine.url, channel, read)
                    self._listened[channel] = found
        return found

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revisions (every branch head).

        Only ``atiende migrate`` and ``python -m web`` do: web processes and workers starting at
        once would race on the schema (they call ``check_schema``).
        """
        with self.engine.begin() as conn:
            cfg = alembic_config(self.url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")

    def check_schema(self) -> None:
        """Raise ``SchemaOutdated`` unless the database is at every head of this release's migrations.

        One read of ``alembic_version``; a database with no schema is left without one (a process
        that starts on it fails at once, with the command that fixes it, not in its first request).
        """
        with self.engine.connect() as conn:
            current = frozenset(MigrationContext.configure(conn).get_current_heads())
        expected = migration_heads()
        if current != expected:
            raise SchemaOutdated(
                "La base de datos no tiene el esquema de esta versión de Atiende "
                f"(tiene {', '.join(sorted(current)) or 'ninguno'}; se espera {', '.join(sorted(expected))}). "
                "Ejecute «atiende migrate» y vuelva a iniciar."
            )

    def dispose(self) -> None:
        for listened in self._listened.values():
            listened.close()
        if self._stop_checkpoints is not None:
            self._stop_checkpoints()
        self.engine.dispose()


@functools.cache
def migration_heads() -> frozenset[str]:
    """The newest revision of every branch of this release's migrations (read once per process)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


def alembic_config(url: str) -> Config:
    """Alembic's configuration for this package's migrations, built in code (no alembic.ini)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
