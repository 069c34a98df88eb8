"""Task ids that compress: a workflow's tasks share a random stem and count up.

SpiffWorkflow names every task it makes with a random UUID. A closed case's stored state names
about forty tasks, 170 times (each task's key and id, its parent's list of children, its
children's parent): random ids were the one part of a state Zstandard could not shrink, a third
of what was left of it (bench/storage.py). Here a workflow's tasks are RFC 9562 version 8 UUIDs:
90 random bits drawn once per workflow (its stem), then a 32-bit counter, so every id after the
first costs a state a few bytes.

Ids stay unique: across cases, as random 90-bit stems do (two alike among a million cases: about
one chance in 10^15); within a case, because the counter is stored with the state
(``last_issued``, ``restore``) and never goes back, not even when SpiffWorkflow drops a task it
had predicted. A state written before this (random ids, no counter) gets a new stem when it next
makes a task.

SpiffWorkflow draws an id in ``Task.__init__`` through its task module's global ``uuid4``,
which takes no argument; ``engine.bpm`` replaces that name with ``next_id``, which asks the
workflow being driven in the current context (``issuing``), and outside one draws a random UUID
as before. So one task id of a case tells its others: every route that takes a task id checks
the person's right to that task, never the id's secrecy (``web.tasks``).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar
from uuid import UUID, uuid4

_COUNTER = (1 << 32) - 1  # the low 32 bits
_VERSION_8 = 0x8 << 76  # the version field, bits 76–79
_VARIANT = 0b10 << 62  # RFC 9562's variant, bits 62–63
_ATTRIBUTE = "atiende_task_ids"  # where a workflow object keeps its TaskIds

W = TypeVar("W")


class TaskIds:
    """The ids one workflow gives its tasks: its stem, and how many it has issued."""

    __slots__ = ("stem", "issued")

    def __init__(self, last: UUID | None = None):
        """Go on after ``last``, an id issued before; without one (or with a random UUID), start a new stem."""
        if last is not None and last.version == 8:
            self.stem, self.issued = last.int & ~_COUNTER, last.int & _COUNTER
        else:
            self._new_stem()

    def _new_stem(self) -> None:
        bits = secrets.randbits(90)  # 48 before the version, 12 after it, 30 after the variant
        high = (bits >> 42) << 80 | _VERSION_8 | ((bits >> 30) & 0xFFF) << 64
        self.stem, self.issued = high | _VARIANT | (bits & ((1 << 30) - 1)) << 32, 0

    def next(self) -> UUID:
        if self.issued == _COUNTER:  # four thousand million tasks in one case: go on with a new stem
            self._new_stem()
        self.issued += 1
        return UUID(int=self.stem | self.issued)

    @property
    def last(self) -> UUID | None:
        return UUID(int=self.stem | self.issued) if self.issued else None


_current: ContextVar[TaskIds | None] = ContextVar("atiende_task_ids", default=None)


def next_id() -> UUID:
    """The id for a task being made now: the next of the workflow being driven, else a random one."""
    ids = _current.get()
    return ids.next() if ids is not None else uuid4()


def made(make: Callable[[], W]) -> W:
    """The workflow ``make`` builds, its first tasks (made as it is built) named with a new stem."""
    ids = TaskIds()
    token = _current.set(ids)
    try:
        workflow = make()
    finally:
        _current.reset(token)
    setattr(workflow, _ATTRIBUTE, ids)
    return workflow


@contextlib.contextmanager
def issuing(workflow) -> Iterator[None]:
    """Tasks made inside the block, by ``workflow`` or its subprocesses, take ``workflow``'s ids."""
    ids = getattr(workflow, _ATTRIBUTE, None)
    if ids is None:
        ids = TaskIds()
        setattr(workflow, _ATTRIBUTE, ids)
    token = _current.set(ids)
    try:
        yield
    finally:
        _current.reset(token)


def last_issued(workflow) -> str | None:
    """The last id ``workflow`` issued, for its stored state; None if it has issued none of its own."""
    ids = getattr(workflow, _ATTRIBUTE, None)
    last = ids.last if ids is not None else None
    return str(last) if last is not None else None


def restore(workflow, last: str | None) -> None:
    """Give a workflow read from a stored state the ids to go on with, after ``last`` (``last_issued``)."""
    setattr(workflow, _ATTRIBUTE, TaskIds(UUID(last) if last else None))
