"""Compaction of the stored workflow states: a dictionary learnt from their shape, and the states rewritten with it.

Every state of a procedure repeats what every other holds: the same keys, task spec names
and structure. ``train`` learns that from the newest states' shapes (every value a case holds
emptied first, ``state_codec.shape``), stores it in ``state_dictionary`` and writes new states
with it; ``rewrite`` rewrites every stored state not yet written with it, closed cases and
long-waiting ones included, a batch of cases a transaction. ``atiende estados compactar``
does both (docs/operations.md: weekly, and after deploying a changed procedure).

A state is rewritten only if its case has not moved since it was read (its revision): a step
of the case meanwhile wrote a newer state, with the newest dictionary already. The rewrite
locks the case rows it writes the states of, as a step does, and passes over one a step holds
(on PostgreSQL; SQLite runs one writer at a time): the step writes a newer state. A finished
workflow's state is settled (``codec.settled``), as its last step writes it; no other
state's content changes here, so a process holding a workflow in memory (never a finished
one) holds the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import bindparam, func, select, update

from engine.bpm.state import codec as state_codec
from engine.bpm.state.codec import StateCodec
from engine.db.models import Case, CaseState, StateDictionary
from engine.db.store import Store

SAMPLE = 2000  # the newest states a dictionary learns from: a few MB of shapes, trained in seconds
MINIMUM = 50  # fewer states teach a dictionary little that one state's own frame does not find
BATCH = 500  # cases read and rewritten a transaction: a few MB of states

_REWRITE = update(CaseState).where(CaseState.case_id == bindparam("id")).values(workflow=bindparam("packed"))


def dictionaries(store: Store) -> Callable[[], dict[int, bytes]]:
    """What a ``StateCodec`` reads its database's dictionaries with: id → content."""

    def read() -> dict[int, bytes]:
        with store.read() as s:
            return {i: bytes(c) for i, c in s.execute(select(StateDictionary.id, StateDictionary.content))}

    return read


def train(store: Store, codec: StateCodec, now: datetime, minimum: int = MINIMUM) -> int | None:
    """A new dictionary from the newest states' shapes, stored and written with from now on; its id.

    None, and nothing stored, when the database holds fewer than ``minimum`` states.
    """
    with store.read() as s:
        stored = s.scalars(
            select(CaseState.workflow).where(CaseState.workflow != b"").order_by(CaseState.case_id.desc()).limit(SAMPLE)
        )
        shapes = [state_codec.shape(codec.unpack(state)) for state in stored]
        newest = s.scalar(select(func.max(StateDictionary.id))) or 0
    if len(shapes) < minimum:
        return None
    content = state_codec.train(shapes, newest + 1)
    with store.unit_of_work() as s:
        s.add(StateDictionary(id=newest + 1, trained_at=now, states=len(shapes), content=content))
    codec.adopt(newest + 1, content)
    return newest + 1


@dataclass
class Rewritten:
    """What ``rewrite`` did: states read and rewritten (a case that moved meanwhile is counted, and left as its
    step wrote it), and the bytes of the rewritten before and after."""

    read: int = 0
    rewritten: int = 0
    bytes_before: int = 0
    bytes_after: int = 0


def rewrite(store: Store, codec: StateCodec, batch: int = BATCH) -> Rewritten:
    """Every stored state not written with the newest dictionary, written with it (none: nothing to do)."""
    done = Rewritten()
    if not codec.newest:
        return done
    after = 0
    while True:
        with store.read() as s:
            rows = s.execute(
                select(Case.id, Case.revision, CaseState.workflow)
                .join_from(Case, CaseState, CaseState.case_id == Case.id)
                .where(Case.id > after)
                .order_by(Case.id)
                .limit(batch)
            ).all()
        if not rows:
            return done
        stale = [(case_id, revision, state) for case_id, revision, state in rows if not _current(codec, state)]
        changed = [
            {"id": case_id, "read_revision": revision, "packed": _repacked(codec, state)}
            for case_id, revision, state in stale
        ]
        if changed:
            with store.unit_of_work() as s:
                held = select(Case.id, Case.revision).where(Case.id.in_([c["id"] for c in changed]))
                unmoved: dict[int, int] = dict(s.execute(held.with_for_update(skip_locked=True)).all())
                still = [c for c in changed if unmoved.get(c["id"]) == c["read_revision"]]
                if still:
                    s.connection().execute(_REWRITE, still)
        done.read += len(rows)
        done.rewritten += len(changed)
        done.bytes_before += sum(len(state) for _id, _revision, state in stale)
        done.bytes_after += sum(len(c["packed"]) for c in changed)
        after = rows[-1][0]


def _current(codec: StateCodec, state: bytes) -> bool:
    """Nothing to rewrite: written with the newest dictionary, or empty (the placeholder an earlier release
    wrote while a case's first step ran)."""
    return not state or codec.uses_newest(state)


def _repacked(codec: StateCodec, state: bytes) -> bytes:
    """The state written with the newest dictionary; a finished workflow's settled and at ``FINISHED_LEVEL``,
    as its last step writes it."""
    text = codec.unpack(state)
    stored = orjson.loads(text)
    if stored.get("completed") is True:
        return codec.pack(orjson.dumps(state_codec.settled(stored)), True)
    return codec.pack(text.encode() if isinstance(text, str) else text)
