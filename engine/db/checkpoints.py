"""SQLite's WAL checkpoints, run by a thread of their own instead of inside a commit.

In WAL mode a commit only appends its pages to the log; a checkpoint copies them back into
the database file and syncs it. SQLite's automatic checkpoint runs inside whichever commit
takes the log past its threshold: with about 200 pages written per case, one completion in
twenty waited 20 to 90 ms for the copy and the sync (bench/engine.py). Here one daemon
thread per process (started again in a forked child) runs a PASSIVE checkpoint of every
open database twice a second. A passive checkpoint never waits for and never blocks readers
or writers, so commits only append. The writers' own automatic checkpoint stays, at a higher
threshold, as a backstop for when the thread does not keep up.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from urllib.parse import quote

log = logging.getLogger(__name__)

INTERVAL_S = 0.5

# Re-entrant: a Store collected by a garbage collection that the thread's own pass triggers
# unregisters from inside that pass.
_lock = threading.RLock()
_databases: dict[int, str] = {}  # registration → database file
_next_registration = 0
_thread: threading.Thread | None = None


def register(path: str) -> int:
    """Checkpoint the database file at ``path`` from now on; returns what ``unregister`` takes."""
    global _next_registration
    with _lock:
        _next_registration += 1
        _databases[_next_registration] = os.path.abspath(path)  # the thread outlives a change of directory
        if _thread is None:
            _start()
        return _next_registration


def unregister(registration: int) -> None:
    """Stop checkpointing a database (another registration of the same file keeps it going).

    Waits for a checkpoint under way: once this returns, the thread has no connection to the
    file, so a file copied after ``Store.dispose`` has nothing left in its log.
    """
    with _lock:
        _databases.pop(registration, None)


def checkpoint(path: str) -> tuple[int, int, int] | None:
    """One PASSIVE checkpoint: (busy, frames in the log, frames copied), or None if the file is gone.

    The file is opened read-write but never created: a database removed since it was
    registered is not brought back empty. It never waits for a lock (a busy database raises
    and is tried again next pass): the thread holds ``_lock`` meanwhile.
    """
    try:
        connection = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None, timeout=0)
    except sqlite3.OperationalError:
        return None
    try:
        return connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        connection.close()


def _start() -> None:
    global _thread
    _thread = threading.Thread(target=_run, name="sqlite-checkpoints", daemon=True)
    _thread.start()


def _after_fork_in_child() -> None:
    """A forked child has none of its parent's threads, and the lock may have been held at the fork."""
    global _lock, _thread
    _lock, _thread = threading.RLock(), None
    if _databases:
        _start()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _run() -> None:
    while True:  # a daemon thread: it ends with the process
        time.sleep(INTERVAL_S)
        with _lock:  # held through the pass: see unregister
            for path in set(_databases.values()):
                try:
                    checkpoint(path)
                except sqlite3.Error:  # e.g. a file that is not (or no longer) a database
                    log.debug("checkpoint of %s failed", path, exc_info=True)
