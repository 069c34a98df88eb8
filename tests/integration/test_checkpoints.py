"""SQLite's write-ahead log is copied back into the database by engine.db.checkpoints' thread, not by commits."""

from __future__ import annotations

import multiprocessing
import threading
import time

from sqlalchemy import text

from engine.db import checkpoints
from engine.db.store import Store


def _write_pages(store: Store, rows: int = 200) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)"))
        conn.execute(text("INSERT INTO filler (body) VALUES (:body)"), [{"body": "x" * 2000}] * rows)


def test_the_thread_copies_committed_pages_into_the_database_file(tmp_path):
    path = tmp_path / "a.sqlite3"
    store = Store(f"sqlite:///{path}")
    try:
        with store.engine.connect() as conn:  # creates the file in WAL mode
            conn.execute(text("SELECT 1"))
        size_before = path.stat().st_size
        _write_pages(store)  # about 100 pages: far below the commits' own threshold of 16,000
        deadline = time.monotonic() + 20 * checkpoints.INTERVAL_S
        while path.stat().st_size == size_before and time.monotonic() < deadline:
            time.sleep(checkpoints.INTERVAL_S / 5)
        assert path.stat().st_size > size_before + 100 * 2000
    finally:
        store.dispose()


def test_a_disposed_store_is_no_longer_checkpointed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = str(tmp_path / "a.sqlite3")
    store = Store("sqlite:///a.sqlite3")  # a relative path is registered as an absolute one
    assert path in checkpoints._databases.values()
    store.dispose()
    assert path not in checkpoints._databases.values()


def test_a_removed_database_is_not_created_again(tmp_path):
    path = tmp_path / "gone.sqlite3"
    assert checkpoints.checkpoint(str(path)) is None
    assert not path.exists()


def test_in_memory_databases_are_not_registered():
    registered = dict(checkpoints._databases)
    store = Store("sqlite://")
    try:
        assert checkpoints._databases == registered
    finally:
        store.dispose()


def _thread_running_in_child(queue) -> None:
    queue.put(checkpoints._thread is not None and checkpoints._thread.is_alive())


def test_a_forked_child_checkpoints_on_a_thread_of_its_own(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    try:
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_thread_running_in_child, args=(queue,))
        child.start()
        assert queue.get(timeout=30) is True
        child.join(timeout=30)
    finally:
        store.dispose()


def test_unregistering_waits_for_a_checkpoint_under_way(tmp_path, monkeypatch):
    started, release, unregistered = threading.Event(), threading.Event(), threading.Event()

    def slow_checkpoint(path):
        started.set()
        release.wait(timeout=30)

    monkeypatch.setattr(checkpoints, "checkpoint", slow_checkpoint)
    registration = checkpoints.register(str(tmp_path / "a.sqlite3"))
    assert started.wait(timeout=20 * checkpoints.INTERVAL_S)
    waiter = threading.Thread(target=lambda: (checkpoints.unregister(registration), unregistered.set()))
    waiter.start()
    assert not unregistered.wait(timeout=0.3)  # the pass under way holds it back
    release.set()
    assert unregistered.wait(timeout=10)
    waiter.join(timeout=10)


def _unregister_inside_a_pass(path: str, queue) -> None:
    done = threading.Event()
    registration = checkpoints.register(path)

    def collecting_checkpoint(_path):
        checkpoints.unregister(registration)  # as a Store's finalizer, run by a collection in this thread, would
        done.set()

    checkpoints.checkpoint = collecting_checkpoint
    queue.put(done.wait(timeout=20 * checkpoints.INTERVAL_S))


def test_a_store_collected_during_a_pass_unregisters_without_a_deadlock(tmp_path):
    context = multiprocessing.get_context("fork")  # a deadlocked thread would end with the child
    queue = context.Queue()
    child = context.Process(target=_unregister_inside_a_pass, args=(str(tmp_path / "a.sqlite3"), queue))
    child.start()
    try:
        assert queue.get(timeout=30) is True
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
