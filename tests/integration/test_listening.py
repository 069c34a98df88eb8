"""The access version each process keeps: read once while nothing changes, read again when it does.

``engine.db.listening``: on PostgreSQL a process listens for the notification a change sends as it
commits; its own changes it marks itself; a listening connection that ends or goes silent falls
back to reading. On SQLite every ask reads.
"""

from __future__ import annotations

import os
import time

import psycopg
import pytest
from sqlalchemy.orm import Session

from engine.access.accounts import ACCESS_CHANNEL, access_changed, access_version
from engine.db import listening
from engine.db.store import Store
from tests.integration.test_round_trips import counted

postgres_only = pytest.mark.parametrize(
    "store", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def kept_long(monkeypatch):
    """No read falls due while a test runs: what the process sees, it saw by a notification or its own change."""
    monkeypatch.setattr(listening, "REREAD_SECONDS", 600.0)


@pytest.fixture
def elsewhere(store):
    """Another process's connection to the same database: what it commits, this process learns only
    from the server (a store of this process would mark its kept numbers itself)."""
    with psycopg.connect(store.url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as other:
        yield other


def change(other: psycopg.Connection, notified: bool = True) -> None:
    """What ``access_changed`` commits in another process: the row counted up and, unless not
    ``notified`` (as if the notification were lost on the way), the channel told."""
    with other.transaction():
        other.execute("UPDATE access_version SET version = version + 1")
        if notified:
            # the channel as engine.db.listening names it for the schema
            other.execute("SELECT pg_notify(%s || '_' || left(md5(current_schema()), 12), '')", (ACCESS_CHANNEL,))


def seen_within(store: Store, expected: int, seconds: float = 5.0) -> int:
    deadline = time.monotonic() + seconds
    while (found := access_version(store)) != expected and time.monotonic() < deadline:
        time.sleep(0.005)
    return found


def test_while_nothing_changes_a_process_asks_the_database_nothing_on_postgresql(store, kept_long, tmp_path):
    access_version(store)  # listening from now on (PostgreSQL)
    with counted(store, tmp_path) as count:
        for _ in range(20):
            access_version(store)
        spent = count()
    assert spent == {"sqlite": 60, "postgresql": 0}[store.engine.dialect.name]  # SQLite: BEGIN, SELECT, ROLLBACK


def test_a_processs_own_change_is_read_at_its_next_ask(store, kept_long):
    before = access_version(store)
    with store.unit_of_work() as s:
        access_changed(s)
    assert access_version(store) == before + 1  # at once: no waiting for the server's notification


@postgres_only
def test_a_change_committed_in_another_process_reaches_this_one(store, elsewhere, kept_long):
    before = access_version(store)
    change(elsewhere)
    assert seen_within(store, before + 1) == before + 1


@postgres_only
def test_a_change_rolled_back_in_this_process_sends_nothing_and_marks_nothing(store, elsewhere, kept_long):
    before = access_version(store)
    with Session(store.engine) as s:  # one session: what its rolled-back transaction noted is gone at its next commit
        s.begin()
        access_changed(s)
        s.rollback()
        s.begin()
        s.commit()
    change(elsewhere, notified=False)  # seen only if something still made this process read
    assert seen_within(store, before + 1, seconds=0.3) == before


@postgres_only
def test_a_change_in_a_savepoint_counts_when_its_transaction_commits(store, elsewhere, kept_long):
    before = access_version(store)
    change(elsewhere, notified=False)  # seen only when this process reads
    with store.unit_of_work() as s:
        with s.begin_nested():
            access_changed(s)
        assert access_version(store) == before  # the savepoint's release committed nothing yet
    assert access_version(store) == before + 2


@postgres_only
def test_a_listening_connection_the_server_ends_is_noticed_and_the_number_read(store, elsewhere, kept_long):
    before = access_version(store)
    with psycopg.connect(store.url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
        ended = admin.execute(  # this process's listening connection: pytest-xdist runs others beside it
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (f"atiende: escucha {ACCESS_CHANNEL}, pid {os.getpid()}",),
        ).fetchall()
        assert ended
        admin.execute("SELECT pg_sleep(0.2)")  # the server's goodbye reaches the listening connection
    change(elsewhere, notified=False)  # noticed only by a process that knows it stopped listening
    assert seen_within(store, before + 1, seconds=0.5) == before + 1  # a look or two: the goodbye, the closed socket
    change(elsewhere, notified=False)
    assert access_version(store) == before + 2  # until it listens again, it reads at every ask


@postgres_only
def test_a_silent_listening_connection_is_covered_by_reading_every_so_often(store, elsewhere, monkeypatch):
    monkeypatch.setattr(listening, "REREAD_SECONDS", 0.3)
    before = access_version(store)
    change(elsewhere, notified=False)
    assert access_version(store) == before
    time.sleep(0.35)
    assert access_version(store) == before + 1


@postgres_only
def test_a_process_that_cannot_listen_reads_at_every_ask(store, elsewhere, kept_long, monkeypatch):
    def refused(*_args, **_kwargs):
        raise psycopg.OperationalError("no hay conexión")

    monkeypatch.setattr(listening.psycopg, "connect", refused)
    before = access_version(store)
    change(elsewhere, notified=False)
    assert access_version(store) == before + 1
