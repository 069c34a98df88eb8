"""A case's steps stay within the statements (SQLite) and round trips (PostgreSQL) stated here.

Every statement a step adds is paid on every step of every case, and on PostgreSQL each
round trip waits for the server. The counts are the database's own: SQLite's trace callback
sees every statement, BEGIN and COMMIT included (and once more each trigger a statement
fires); libpq's trace sees every message psycopg sends, and each ``Query`` or ``Sync`` is one
wait for the server. A change that adds one fails here, and says which step: lower the bound
when a step needs fewer.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest
from sqlalchemy import event, text

from engine.db.store import Store
from engine.demo.seed import DEMO_CASES, SAMPLE_SUBMISSIONS
from engine.facade import Atiende
from engine.settings import Settings
from tests.fixtures.desk import BY_ROLE, PROCESS, Desk
from tests.fixtures.sql_seen import on_new_connections

# The most each step of one e-mail/web case may cost: statements on SQLite, round trips on PostgreSQL
# (a checkout's liveness check costs none). The start, the hoja (which sends the case to its
# dirección) and the closing move the indicators' roll-ups; the approval writes a document and mail.
BOUNDS = {
    "sqlite": {
        "start": 29,
        "Task_plantilla_queja_reclamo": 14,
        "Task_confeccionar_hoja": 40,
        "Task_aprobar_hoja": 24,
        "Task_acuse_recibo": 14,
        "Task_respuesta_final": 31,
    },
    "postgresql": {
        "start": 4,
        "Task_plantilla_queja_reclamo": 2,
        "Task_confeccionar_hoja": 2,
        "Task_aprobar_hoja": 8,
        "Task_acuse_recibo": 2,
        "Task_respuesta_final": 4,
    },
}
WARM_UP_CASES = 8
ROUTE = ["Task_plantilla_queja_reclamo", "Task_confeccionar_hoja", "Task_aprobar_hoja", "Task_acuse_recibo"]


@contextlib.contextmanager
def counted(store: Store, tmp_path) -> Iterator[Callable[..., int]]:
    """Yields the count so far (statements on SQLite; on PostgreSQL the messages named, by default
    the round trips), over every connection the store opens from now on."""
    statements: list[int] = []
    trace_file = tmp_path / "libpq.trace"
    fd = os.open(trace_file, os.O_CREAT | os.O_WRONLY | os.O_APPEND)

    def trace(dbapi_connection):
        if store.is_sqlite:
            dbapi_connection.set_trace_callback(lambda sql: sql.startswith("--") or statements.append(1))
        else:
            dbapi_connection.pgconn.trace(fd)
            dbapi_connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)

    def count(messages_of: tuple[str, ...] = ("Query", "Sync"), but: tuple[str, ...] = ()) -> int:
        """``but``: SQL the messages counted do not carry (the start of its text)."""
        if store.is_sqlite:
            return len(statements)
        messages = (line.split("\t") for line in trace_file.read_text(errors="replace").splitlines())
        return sum(
            1
            for parts in messages
            if parts[0] == "F" and parts[2:3] and parts[2] in messages_of and not _carries(parts[3:4], but)
        )

    try:
        with on_new_connections(store, trace):
            yield count
    finally:
        os.close(fd)


def _carries(text: list[str], sql: tuple[str, ...]) -> bool:
    """Whether a traced message's text (``[]`` for none) carries one of ``sql``: a Parse's is
    ``"name" "SQL" …``, a Query's ``"SQL"``."""
    return bool(text) and any(f'"{statement}' in text[0] for statement in sql)


def one_case(atiende, count: Callable[..., int]) -> dict[str, int]:
    """Starts a case and takes it along the route to «cerrado»; what each step cost."""
    desk = Desk(atiende, atiende.clock)
    spent = {}
    starter = desk.starter(PROCESS)  # read outside the count, as the signed-in person is
    before = count()
    case_id = atiende.start_case(PROCESS, dict(DEMO_CASES[0]), starter).case_id
    spent["start"] = count() - before
    for bpmn_id in [*ROUTE, "Task_respuesta_final"]:
        task = desk.task(case_id, bpmn_id)  # read outside the count, as the task page did
        before = count()
        atiende.complete_task(task.id, dict(SAMPLE_SUBMISSIONS[task.form]), BY_ROLE[task.lane])
        spent[bpmn_id] = count() - before
    assert desk.case(case_id).status == "cerrado"
    return spent


def test_each_step_of_a_case_stays_within_its_bound(atiende, tmp_path):
    with counted(atiende.store, tmp_path) as count:
        # The first cases warm the caches (procedures, catalogs, calendar) and, on PostgreSQL, the
        # connection's prepared statements (psycopg prepares a statement at its fifth run, with a
        # round trip of its own): the counted case costs what it does in a running process.
        for _ in range(WARM_UP_CASES):
            one_case(atiende, count)
        spent = one_case(atiende, count)
    bounds = BOUNDS[atiende.store.engine.dialect.name]
    over = {step: (spent[step], bound) for step, bound in bounds.items() if spent[step] > bound}
    assert not over, f"steps over their bound (spent, bound): {over}; all: {spent}"


@pytest.mark.parametrize("store", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_running_process_sends_its_steps_statements_prepared(atiende, tmp_path):
    """Once a connection has run a statement a few times psycopg prepares it, and the server parses and
    plans it no more: a warm process's case sends no statement text (libpq's ``Parse``) but its
    transactions' BEGIN and COMMIT (in a pipeline those go as a Parse too), only the prepared
    statements' names and values."""
    with counted(atiende.store, tmp_path) as count:
        for _ in range(WARM_UP_CASES):
            one_case(atiende, count)
        parsed = count(("Parse",), but=("BEGIN", "COMMIT"))
        one_case(atiende, count)
        assert count(("Parse",), but=("BEGIN", "COMMIT")) == parsed


@pytest.mark.postgres
def test_a_connection_the_server_closed_is_replaced_at_checkout(pg_url):
    store = Store(pg_url)
    try:
        with store.read() as s:
            pid = s.execute(text("SELECT pg_backend_pid()")).scalar()
        with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            admin.execute("SELECT pg_sleep(0.2)")  # the server's goodbye reaches the pooled connection
        with store.read() as s:
            assert s.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        store.dispose()


@pytest.mark.postgres
def test_a_pooled_connection_sends_tcp_keepalives(pg_url):
    """A connection idle for hours behind a firewall that forgot it would otherwise look alive at checkout."""
    store = Store(pg_url)
    try:
        with store.read() as s:
            parameters = s.connection().connection.driver_connection.info.get_parameters()
        assert parameters["keepalives"] == "1" and int(parameters["keepalives_idle"]) <= 60
    finally:
        store.dispose()


@pytest.mark.postgres
def test_a_process_keeps_a_connection_open_for_each_of_its_threads(pg_url):
    """Eight threads reading at once, twice: the second time every one finds a connection kept
    open, none connects anew (a new server process, every statement to prepare again)."""
    atiende = Atiende.open(pg_url, settings=Settings(threads=8))
    together = threading.Barrier(8)

    def servers_of_eight_reading_at_once() -> set[int]:
        pids: list[int] = []

        def read():
            with atiende.store.read() as s:
                pids.append(s.execute(text("SELECT pg_backend_pid()")).scalar())
                together.wait(timeout=30)

        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not together.broken and len(pids) == 8
        return set(pids)

    try:
        first = servers_of_eight_reading_at_once()
        assert len(first) == 8
        assert servers_of_eight_reading_at_once() == first
    finally:
        atiende.store.dispose()


@pytest.mark.postgres
def test_a_session_gets_the_connection_given_back_last(pg_url):
    """With two connections idle, the next session takes the one used last: one request after another
    keep to one server process, its caches and prepared statements warm, instead of taking turns
    over every connection the pool holds."""
    store = Store(pg_url)
    try:
        with store.read() as first, store.read() as second:  # the pool now holds two connections
            older = first.execute(text("SELECT pg_backend_pid()")).scalar()
            newer = second.execute(text("SELECT pg_backend_pid()")).scalar()
            first.close()  # given back first: the older
        for _ in range(3):
            with store.read() as s:
                assert s.execute(text("SELECT pg_backend_pid()")).scalar() == newer != older
    finally:
        store.dispose()


def test_a_read_is_one_round_trip_on_postgresql(store, tmp_path):
    """A read session's SELECT goes alone: on PostgreSQL no BEGIN before it nor ROLLBACK after it."""
    with store.read() as s:  # a pooled connection, as a running process has
        s.execute(text("SELECT 1"))
    with counted(store, tmp_path) as count:
        with store.read() as s:
            assert s.execute(text("SELECT 1")).scalar() == 1
        spent = count()
    assert spent == {"sqlite": 3, "postgresql": 1}[store.engine.dialect.name]  # SQLite: BEGIN, SELECT, ROLLBACK


def test_a_task_completion_runs_its_statements_on_the_drivers_cursor(atiende):
    """The hot path skips SQLAlchemy's execution layer (``engine.db.statements``): a statement through
    it costs tens of microseconds of Python, and one built on every call (the roll-ups' upsert, with
    an expression per column) costs milliseconds. Completions that move none of the case's counted
    facts run nothing through it; the one that sends the case to its dirección moves the roll-ups
    and the step times on the cursor too."""
    desk = Desk(atiende, atiende.clock)
    desk.start()  # caches warm, as in a running process
    through_sqlalchemy: list[str] = []
    event.listen(
        atiende.store.engine, "before_cursor_execute", lambda _c, _cur, sql, *_: through_sqlalchemy.append(sql)
    )
    case_id = desk.start()
    seen = {}
    for bpmn_id in ["Task_plantilla_queja_reclamo", "Task_confeccionar_hoja", "Task_aprobar_hoja", "Task_acuse_recibo"]:
        task = desk.task(case_id, bpmn_id)
        through_sqlalchemy.clear()
        atiende.complete_task(task.id, dict(SAMPLE_SUBMISSIONS[task.form]), BY_ROLE[task.lane])
        seen[bpmn_id] = list(through_sqlalchemy)
    assert seen["Task_plantilla_queja_reclamo"] == [] and seen["Task_acuse_recibo"] == [], seen
    counters = ("indicator_", "step_time", "calendar_version")
    assert not [sql for sql in seen["Task_confeccionar_hoja"] if any(name in sql for name in counters)], seen
