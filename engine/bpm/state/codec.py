"""Stored workflow states as Zstandard frames, with the dictionaries of their database.

A state's JSON repeats its keys, task spec names and ids in every task, and one Zstandard
frame of it takes about a seventh of its text. What a frame cannot compress is what every
state of a procedure shares with every other: the same keys, the same spec names, the same
shape. A Zstandard dictionary holds that once per database, and a state compressed with it
takes about a fifth less again (``engine.bpm.state.compaction`` trains it and rewrites the stored
states; ``bench/storage.py`` measures it).

A frame names its dictionary by id in its header, so a state is always read with the
dictionary it was written with, whichever is newest now; a frame without one is read without.
The dictionaries are kept in the database (``state_dictionary``, append-only), read before the
engine's first transaction and again when a frame names one this codec does not hold (another
process trained it). A dictionary is trained on the states' shape alone (``shape``): every
value a case holds is emptied first, so no citizen's words live on in it.

Level 1 adds about a tenth to a dump and a sixth of the JSON parse to a load; level 3 saved
1 % more for half as much time again. A state stored as plain JSON (before migration 0020)
still loads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import orjson
import zstandard

from engine.errors import StoredStateError

LEVEL = 1
# A finished workflow's state is written once more and then only read: worth 2 ms to keep a ninth
# less of it (level 19 kept 1 % more in twice the time; a frame decompresses as fast either way).
FINISHED_LEVEL = 15
DICTIONARY_BYTES = 16 * 1024  # 8 KB kept a fifth less of what it saves, 32 KB added 3 %
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # the first bytes of every Zstandard frame
# Where a state holds what a case carries: its data (the workflow's and each task's, and their
# changes), and what messages and events carry (correlations, payloads) and tasks keep of them.
_DATA_KEYS = ("data", "delta", "internal_data", "correlations", "bpmn_events")


class StateCodec:
    """Packs and unpacks the states of one database; ``dictionaries`` reads that database's, by id.

    Without ``dictionaries`` it writes and reads plain frames only. zstandard's compressors and
    decompressors are not safe to share between threads: each thread makes its own.
    """

    def __init__(self, dictionaries: Callable[[], dict[int, bytes]] | None = None):
        self._read = dictionaries
        self._held: dict[int, zstandard.ZstdCompressionDict] = {}
        self._newest = 0  # the dictionary new frames are written with; 0: none
        self._read_once = dictionaries is None
        self._lock = threading.Lock()
        self._local = threading.local()

    def read_once(self) -> None:
        """Read the database's dictionaries if this codec never has: called before a transaction begins, so
        the read does not take a second connection while the transaction holds one (the first state
        written would read them otherwise)."""
        if not self._read_once:
            self._refresh()

    @property
    def newest(self) -> int:
        """The id of the dictionary new states are written with (0: none)."""
        self.read_once()
        return self._newest

    def adopt(self, dictionary_id: int, content: bytes) -> None:
        """Write new states with this dictionary, just stored in the database by this process."""
        with self._lock:
            self._held[dictionary_id] = zstandard.ZstdCompressionDict(content)
            self._newest = max(self._newest, dictionary_id)

    def pack(self, text: bytes, finished: bool = False) -> bytes:
        """A state's JSON as stored: one Zstandard frame, with the newest dictionary if there is one; at
        ``FINISHED_LEVEL`` for a ``finished`` workflow's."""
        newest, level = self.newest, FINISHED_LEVEL if finished else LEVEL
        compressors = self._per_thread("compressors")
        compressor = compressors.get((newest, level))
        if compressor is None:
            held = self._held.get(newest)
            compressor = compressors[(newest, level)] = (
                zstandard.ZstdCompressor(level=level, dict_data=held)
                if held is not None
                else zstandard.ZstdCompressor(level=level)
            )
        return compressor.compress(text)

    def unpack(self, stored: bytes | str) -> bytes | str:
        """A stored state's JSON: decompressed, or as it is if it was stored uncompressed (before migration 0020)."""
        if isinstance(stored, str) or not stored.startswith(ZSTD_MAGIC):
            return stored
        named = zstandard.get_frame_parameters(stored).dict_id
        decompressors = self._per_thread("decompressors")
        decompressor = decompressors.get(named)
        if decompressor is None:
            decompressor = decompressors[named] = (
                zstandard.ZstdDecompressor(dict_data=self._dictionary(named)) if named else zstandard.ZstdDecompressor()
            )
        return decompressor.decompress(stored)

    def uses_newest(self, stored: bytes | str) -> bool:
        """Whether a stored state is a frame written with the newest dictionary (nothing to rewrite)."""
        if isinstance(stored, str) or not stored.startswith(ZSTD_MAGIC):
            return False
        return zstandard.get_frame_parameters(stored).dict_id == self.newest

    def _dictionary(self, dictionary_id: int) -> zstandard.ZstdCompressionDict:
        if dictionary_id not in self._held:
            self._refresh()
        found = self._held.get(dictionary_id)
        if found is None:
            raise StoredStateError(
                f"El estado guardado del caso está comprimido con el diccionario {dictionary_id}, que no "
                "está en esta base de datos: restaure la tabla state_dictionary de la misma copia de seguridad."
            )
        return found

    def _refresh(self) -> None:
        stored = self._read() if self._read is not None else {}
        with self._lock:
            for dictionary_id, content in stored.items():
                if dictionary_id not in self._held:
                    self._held[dictionary_id] = zstandard.ZstdCompressionDict(content)
            self._newest = max(self._held, default=0)
            self._read_once = True

    def _per_thread(self, name: str) -> dict:
        found = getattr(self._local, name, None)
        if found is None:
            found = {}
            setattr(self._local, name, found)
        return found


PLAIN = StateCodec()  # frames without a dictionary: for states made outside any database


def unpacked_size(stored: bytes | str) -> int:
    """The length of a stored state's JSON, read from its frame's header: what the state takes to hold."""
    if isinstance(stored, str) or not stored.startswith(ZSTD_MAGIC):
        return len(stored)
    return zstandard.frame_content_size(stored)


def settled(state: dict) -> dict:
    """A finished workflow's state as it is kept: each task's place, spec, state and internal data,
    the data where the workflow begins (its root task's) and ends (its own); not what each task
    changed of the data, nor when its state last changed. ``state`` is changed in place.

    Nothing can advance a finished workflow: no task of it is ready or waiting. What reads it is the
    path the case took (``engine.bpm.runtime.path_of``: the auditor's view, a replay) and which loop
    item a task was (its internal data); the trail keeps what each step was given and when
    (``tarea_completada``), the case row the record. A settled task is restored with no data of its
    own. The changes and times were about a quarter of a closed case's frame (``bench/storage.py``).
    """
    for workflow in (state, *state.get("subprocesses", {}).values()):
        for task in workflow["tasks"].values():
            if task["parent"] is not None:
                task["delta"] = {}
            task["last_state_change"] = 0
    return state


def shape(text: bytes | str) -> bytes:
    """A state's JSON with every value the case holds emptied, keys kept: what a dictionary learns from."""
    return orjson.dumps(_emptied(orjson.loads(text), False))


def _emptied(value, inside_data: bool):
    if isinstance(value, dict):
        return {k: _emptied(v, inside_data or k in _DATA_KEYS) for k, v in value.items()}
    if isinstance(value, list):
        return [_emptied(v, inside_data) for v in value]
    if not inside_data or value is None or isinstance(value, bool):
        return value
    return "" if isinstance(value, str) else 0


def train(shapes: list[bytes], dictionary_id: int) -> bytes:
    """A dictionary learnt from states' shapes, carrying ``dictionary_id`` (what frames name it by)."""
    samples: list[bytes | bytearray | memoryview] = list(shapes)
    return zstandard.train_dictionary(DICTIONARY_BYTES, samples, dict_id=dictionary_id, level=LEVEL).as_bytes()
