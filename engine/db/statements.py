"""The statements on a task completion's path and the busiest pages' reads, run straight on the driver's cursor.

A completion runs about ten statements. Through SQLAlchemy's execution layer each one cost
about 60 µs of Python (an execution context, bind and result processing set up per call, a
result object), against 5 µs on the driver's cursor: together more than the database's own
work (bench/engine.py --profile). Here SQLAlchemy still writes the SQL for each dialect and
gives the type conversions (its bind and result processors, the same the ORM applies); only
the execution is done on the DBAPI cursor of the session's connection, inside its
transaction. Statements run this way are not seen by SQLAlchemy's execution events.

Rows inserted or read this way that callers want as mapped objects are given to them
*detached* (``detached``, ``NewRow``): no flush ever writes them a second time.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar, cast

import psycopg
from sqlalchemy import ReturnsRows, Table
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached
from sqlalchemy.sql.dml import Insert, UpdateBase

if TYPE_CHECKING:
    from engine.db.models import Base

_M = TypeVar("_M", bound="Base")

# What a statement run here raises when the database itself is in trouble (a deadlock, a lock or
# statement timeout, a lost connection, SQLite's «database is locked»): the drivers' own errors,
# which SQLAlchemy wraps for the statements it runs but not for these. A value the database refuses
# (too long, out of range) is the data's, and stays the step's failure.
DATABASE_TROUBLE: tuple[type[Exception], ...] = (sqlite3.OperationalError, psycopg.OperationalError)


class AfterTheEnd(RuntimeError):
    """Work done after the transaction ended with its step's writes (``commit_here``): a programming
    error, never the procedure's step failing (``engine.cases.incidents``), since the step stands."""


_DRIVER = "statements_driver_connection"  # session.info key: (dialect, DBAPI connection) of its transaction
_MAY_END = "statements_may_end"  # session.info key: the next step's writes may end the transaction
_ENDED = "statements_ended"  # session.info key: the transaction's COMMIT has gone (commit_here)


def _driver_connection(session: Session) -> tuple[Dialect, Any]:
    """The dialect and DBAPI connection of the session's transaction, begun now if it has not been.

    Kept for the transaction: asking the session for its connection was a quarter of the cost
    of a statement run here.
    """
    found = session.info.get(_DRIVER)
    if found is None:
        connection = session.connection()
        found = session.info[_DRIVER] = (connection.dialect, connection.connection.driver_connection)
    return found


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_connection(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the connection goes back to the pool with the outermost transaction
        for key in (_DRIVER, _MAY_END, _ENDED):
            session.info.pop(key, None)


@contextlib.contextmanager
def savepoint(session: Session) -> Iterator[SessionTransaction]:
    """A SAVEPOINT set now, rolled back whole if the block raises; what ran before it stays.

    ``Session.begin_nested`` sets its SAVEPOINT only when the ORM next asks for the
    connection, and the statements run here never ask: without this their writes would come
    before the SAVEPOINT and outlive its rollback.
    """
    with session.begin_nested() as nested:
        session.connection()
        yield nested


@contextlib.contextmanager
def pipelined(session: Session) -> Iterator[None]:
    """On PostgreSQL, the statements run in the block go to the server together (psycopg's pipeline).

    Writes whose results nobody reads wait for no answer one by one: a step's task projection,
    roll-ups and case row cost one round trip instead of one each. A read inside the block still
    gets its rows (psycopg waits for the answers then); an error is raised at the latest when the
    block ends, and the transaction is rolled back as for any other. On SQLite, nothing changes.
    """
    dialect, driver_connection = _driver_connection(session)
    if dialect.name != "postgresql":
        yield
        return
    with driver_connection.pipeline():
        yield


def may_end_with_the_step(session: Session) -> None:
    """Let the writes of the step the transaction runs next end it, with its COMMIT, in their round
    trip on PostgreSQL (``ends_here``) rather than in one of their own at the session's commit.

    Only for a transaction that runs no statement after that step's writes (``engine.facade``: a
    task's completion with no open incident to resolve, a start with no files to attach and nothing
    of a channel's to record; the step itself knows whether it threw messages, whose deliveries
    move other cases). A statement run after all the same would begin a transaction of its own,
    and the session's commit refuses it (``_nothing_after_the_end``).
    """
    session.info[_MAY_END] = True


def ends_here(session: Session, last: bool) -> bool:
    """Inside a ``pipelined`` block of writes that are the transaction's ``last``: whether the
    transaction may end with them (``may_end_with_the_step``), on PostgreSQL. The allowance is spent
    either way.

    Not while the ORM holds changes: they would be written only at the session's commit, after the
    COMMIT has gone. Nor inside a savepoint, whose release would find no transaction.
    """
    if not session.info.pop(_MAY_END, False) or not last:
        return False
    if session.new or session.dirty or session.deleted or session.in_nested_transaction():
        return False
    dialect, _connection = _driver_connection(session)
    return dialect.name == "postgresql"


def commit_here(session: Session) -> None:
    """The transaction's COMMIT, queued last in the ``pipelined`` block open (``ends_here`` said yes):
    the commit SQLAlchemy asks of the driver later finds the transaction ended, and psycopg sends
    nothing. If a write before it fails, the COMMIT is not run and the error is raised as the block
    ends, the transaction rolled back as for any other. From here on a statement run here raises
    (``Statement``), and so does the session's commit if anything else was done (``ended``)."""
    _dialect, driver_connection = _driver_connection(session)
    driver_connection.cursor().execute("COMMIT", prepare=False)  # never prepared: it ends what prepares
    session.info[_ENDED] = True


def ended(session: Session) -> bool:
    """Whether the transaction's COMMIT has gone with its step's writes (``commit_here``)."""
    return session.info.get(_ENDED, False)


@sa_event.listens_for(Session, "before_commit")
def _nothing_after_the_end(session: Session) -> None:
    """A transaction ended by ``commit_here`` commits nothing more: a statement run through SQLAlchemy
    after it, or a change the ORM would flush now, began or would begin another transaction, apart
    from the step's. A programming error: raised, so that work is rolled back; the step stands,
    committed. (The audit chain refuses events recorded after the end, ``engine.audit.chain``.)"""
    if not ended(session):
        return
    _dialect, driver_connection = _driver_connection(session)
    if driver_connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise AfterTheEnd("a statement ran after the transaction ended with its step's writes")
    if session.new or session.dirty or session.deleted:
        raise AfterTheEnd("the ORM holds changes made after the transaction ended with its step's writes")


@contextlib.contextmanager
def committing(session: Session) -> Iterator[None]:
    """On PostgreSQL, the statements run in the block and the transaction's COMMIT go to the server together.

    For the last writes of a transaction, from its ``before_commit``: what the ORM holds is
    flushed first (its statements wait for their answers one by one, and nothing may be left
    to write after the COMMIT), and the commit SQLAlchemy then asks of the driver finds the
    transaction ended (psycopg sends nothing). If the block or the COMMIT fails, the error is
    raised and the transaction is rolled back as for any other. On SQLite, nothing changes.
    """
    dialect, driver_connection = _driver_connection(session)
    if dialect.name != "postgresql":
        yield
        return
    session.flush()
    with driver_connection.pipeline():
        yield
        driver_connection.cursor().execute("COMMIT", prepare=False)  # never prepared: it ends what prepares


class _Compiled:
    """One statement's SQL for one dialect, with how to pass its parameters and read its rows."""

    def __init__(self, statement: ReturnsRows, dialect: Dialect, column_keys: tuple[str, ...] | None):
        if isinstance(statement, Insert) and not statement.exported_columns:
            statement = statement.inline()  # nobody reads its rows: no RETURNING of the id SQLAlchemy would add
        compiled = statement.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
        self.sql = compiled.string
        # private part of SQLAlchemy (SQLCompiler.positional): the driver's parameter style, to pass parameters in it
        self._positional = compiled.positional
        # private part of SQLAlchemy (SQLCompiler.positiontup, set when positional; .binds): the parameters, in order
        names = cast("list[str]", compiled.positiontup) if compiled.positional else list(compiled.binds)
        # (name, its own value when the caller gives none, e.g. a LIMIT's; the type's conversion)
        self._binds: list[tuple[str, Any, Callable[[Any], Any] | None]] = [
            (name, bind.effective_value, bind.type.dialect_impl(dialect).bind_processor(dialect))
            # private part of SQLAlchemy (SQLCompiler.binds): each parameter's default value and type, to convert it
            for name, bind in ((name, compiled.binds[name]) for name in names)
        ]
        self._names = names
        # A read's parameters that have no value of their own must be given one (as SQLAlchemy requires
        # when it runs a statement): left out, a person's value would silently read as NULL. Writes are
        # not checked: a column they are not given is written NULL by design (``NewRow``, ``Tally``).
        writes = isinstance(statement, UpdateBase)
        self._required = () if writes else tuple(name for name in names if compiled.binds[name].required)
        columns = list(statement.exported_columns)  # what a SELECT selects, or what DML RETURNs
        self._row = namedtuple("Row", [column.key for column in columns], rename=True) if columns else None
        self._results: list[Callable[[Any], Any] | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]

    def parameters(self, values: dict[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """``values`` by name, converted, in the driver's parameter style."""
        for name in self._required:
            if name not in values:
                raise KeyError(f"a value is required for the parameter {name!r}")
        get = values.get  # one comprehension, no generator: a roll-up row passes 73 values
        converted = [
            get(name, own) if process is None else process(get(name, own)) for name, own, process in self._binds
        ]
        return tuple(converted) if self._positional else dict(zip(self._names, converted, strict=True))

    def read(self, raw: tuple[Any, ...]) -> Any:
        """A row the cursor gave, converted, as a named tuple: only statements with columns give rows."""
        return cast("type[NamedTuple]", self._row)._make(
            value if process is None else process(value) for value, process in zip(raw, self._results, strict=False)
        )


class Statement:
    """A Core statement, compiled once per dialect (and per set of columns written), run on the cursor."""

    def __init__(self, statement: ReturnsRows):
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...] | None], _Compiled] = {}
        self._lock = threading.Lock()

    def _for(self, session: Session, column_keys: tuple[str, ...] | None) -> tuple[_Compiled, Any]:
        """This statement's compiled form for the session's database, and a cursor of its connection."""
        if ended(session):
            raise AfterTheEnd("a statement was run after the transaction ended with its step's writes")
        dialect, driver_connection = _driver_connection(session)
        key = (dialect.name, column_keys)
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.setdefault(key, _Compiled(self.statement, dialect, column_keys))
        return compiled, driver_connection.cursor()

    def execute(self, session: Session, values: dict[str, Any], column_keys: tuple[str, ...] | None = None) -> None:
        """Run once with ``values``. ``column_keys``: the columns an INSERT or UPDATE writes."""
        compiled, cursor = self._for(session, column_keys)
        cursor.execute(compiled.sql, compiled.parameters(values))

    def execute_many(
        self, session: Session, rows: Iterable[dict[str, Any]], column_keys: tuple[str, ...] | None = None
    ) -> None:
        """Run once per row, in one ``executemany``."""
        compiled, cursor = self._for(session, column_keys)
        cursor.executemany(compiled.sql, [compiled.parameters(row) for row in rows])

    def all(self, session: Session, values: dict[str, Any]) -> list[Any]:
        """Every row, as named tuples of values converted as SQLAlchemy converts them."""
        compiled, cursor = self._for(session, None)
        cursor.execute(compiled.sql, compiled.parameters(values))
        return [compiled.read(raw) for raw in cursor.fetchall()]

    def first(self, session: Session, values: dict[str, Any], column_keys: tuple[str, ...] | None = None) -> Any:
        """The first row, or None."""
        compiled, cursor = self._for(session, column_keys)
        cursor.execute(compiled.sql, compiled.parameters(values))
        raw = cursor.fetchone()
        cursor.close()  # an INSERT … RETURNING is done, its statement reset, before the next one
        return None if raw is None else compiled.read(raw)

    def scalar(self, session: Session, values: dict[str, Any], column_keys: tuple[str, ...] | None = None) -> Any:
        """The first column of the first row, or None."""
        row = self.first(session, values, column_keys)
        return None if row is None else row[0]


def together(session: Session, *reads: tuple[Statement, dict[str, Any]]) -> list[list[Any]]:
    """Every row of each read, all sent together: on PostgreSQL one round trip.

    psycopg's pipeline sends them at once; the server runs them in order, and each takes its
    snapshot when it starts, so a read sees what committed while one before it waited for a lock.
    On SQLite they run one after the other, as they would alone.
    """
    dialect, _connection = _driver_connection(session)
    if dialect.name != "postgresql":
        return [statement.all(session, values) for statement, values in reads]
    sent = []
    with pipelined(session):
        for statement, values in reads:
            compiled, cursor = statement._for(session, None)
            cursor.execute(compiled.sql, compiled.parameters(values))
            sent.append((compiled, cursor))
    rows = []
    for compiled, cursor in sent:
        rows.append([compiled.read(raw) for raw in cursor.fetchall()])
        cursor.close()
    return rows


class Tally:
    """Counters kept in a table: each row's measures added to the row of its key, created when missing.

    ``INSERT … ON CONFLICT (key) DO UPDATE SET m = m + excluded.m``, in each database's own
    dialect, built and compiled once. Built anew on every call, with an expression per measure
    (a count of the indicators has 65), it costs about 2 ms of Python a step, more than the
    step's own statements (bench/engine.py).
    """

    def __init__(self, table: Table, keys: tuple[str, ...], measures: tuple[str, ...], others: tuple[str, ...] = ()):
        self._columns = (*keys, *others, *measures)  # every row gives a value for each
        self._by_dialect = {}
        for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert)):
            statement = insert(table)
            statement = statement.on_conflict_do_update(
                index_elements=[table.c[key] for key in keys],
                set_={measure: table.c[measure] + statement.excluded[measure] for measure in measures},
            )
            self._by_dialect[name] = Statement(statement)

    def add(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """Add ``rows`` (a value for every key, other column and measure), in one ``executemany``."""
        if rows:
            dialect, _connection = _driver_connection(session)
            self._by_dialect[dialect.name].execute_many(session, rows, column_keys=self._columns)


def detached(cls: type[_M], values: dict[str, Any]) -> _M:
    """A mapped object holding ``values`` as if loaded, in no session: nothing flushes it by accident.

    Filled in as the ORM fills what it loads, straight into the instance's dict: through the
    constructor each value went through an attribute event, half the cost of reading a task
    with its case.
    """
    # private part of SQLAlchemy (ClassManager.new_instance, the instance's __dict__): what its loading does
    obj = cls.__mapper__.class_manager.new_instance()
    obj.__dict__.update(values)
    make_transient_to_detached(obj)
    return obj


class NewRow(Generic[_M]):
    """The INSERT of a mapped class's row: every column but its ``id``, which the database gives back."""

    def __init__(self, cls: type[_M]):
        table = cast(Table, cls.__table__)
        self._cls = cls
        self._columns = tuple(column.key for column in table.c if column.key != "id")
        self._insert = Statement(table.insert().returning(table.c.id))

    def id(self, session: Session, values: dict[str, Any]) -> int:
        """Insert ``values`` (a value for every column but the id); returns the new row's id."""
        return self._insert.scalar(session, values, column_keys=self._columns)

    def detached(self, session: Session, values: dict[str, Any]) -> _M:
        """Insert ``values``; returns the row as a detached object, its id included."""
        return detached(self._cls, {**values, "id": self.id(session, values)})
