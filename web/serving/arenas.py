"""glibc's memory arenas capped for a threaded server process.

glibc gives each thread that allocates an arena of its own, up to eight per core, and an arena
keeps what it once held: a threaded server's resident memory grows with its threads. Both ways
of serving call ``cap`` before their threads start: ``python -m web`` at its start, gunicorn in
each web process right after the fork.
"""

from __future__ import annotations

import contextlib
import ctypes
import os

ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter


def cap() -> None:
    """At most ``ARENAS`` arenas for the threads started next, unless MALLOC_ARENA_MAX says otherwise;
    nothing where the C library is not glibc."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, ARENAS)
