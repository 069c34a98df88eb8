"""Cold columns kept as Zstandard frames with a fixed dictionary: the audit events' details, the documents'
facts and the outgoing mail's bodies.

After the workflow states were compressed (``engine.bpm.state.codec``), these three held most of
what is left of a case's bytes: about 15 audit events of 230 bytes of JSON each, a hoja's facts,
two or three mails of 700 bytes. Each value is small, so a frame of it alone saves only a fifth
to a third: what repeats is not inside one value but across all of them (an event's keys, the
task's name, the mail's fixed wording). A dictionary that already holds those lets each frame
point into it: the details take about two fifths of their text, the bodies a quarter.

The dictionaries are raw content, not trained: text files in ``engine/db/dictionaries``, named
``<column>.<version>.txt``, showing what such values look like. For the details, one line per
kind of event with its keys and the procedures' task names, every value a case holds emptied;
for the documents, the facts' keys; for the mail, the approved texts with their fields left out.
No citizen's words are in them. A released file never changes, because a value is read with
the dictionary it was written with: when the procedures' vocabulary or the texts move far
enough, a new file with the next version is added and new values are written with it.

A stored value is one byte, the version of its dictionary, and a Zstandard frame without the
four bytes of its magic number and with no checksum. Nothing reads inside these columns in SQL;
they are read whole through ``Packed`` and decoded in Python. A value written straight into the
database as plain text (JSON, for the JSON columns) reads back as that text, like the hashes of
``Sha256``, and bytes in no form it reads back as those bytes, named (``UNREADABLE``): either way
the audit chain's check names a tampered event instead of failing to read it.
The migrations before 0029 that read these columns through the models get them as they were
then stored (JSON; PostgreSQL hands ``jsonb`` over already parsed).
"""

from __future__ import annotations

import functools
import json
import threading
from pathlib import Path

import zstandard
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

from engine.db.store import json_text

FOLDER = Path(__file__).parent / "dictionaries"
LEVEL = 3  # a detail in 5 µs; level 6 saved 6 % more in 8 µs
_VERSIONS = range(1, 32)  # a stored value's first byte; plain text begins with a printable character
UNREADABLE = "valor ilegible"  # the key (JSON) or mark (text) of a stored value in no form this type reads
_local = threading.local()  # zstandard's compressors are not safe to share between threads


@functools.cache
def _dictionaries(column: str) -> dict[int, zstandard.ZstdCompressionDict]:
    """The dictionaries of ``column``, by version."""
    found = {}
    for path in FOLDER.glob(f"{column}.*.txt"):
        version = int(path.stem.rsplit(".", 1)[1])
        found[version] = zstandard.ZstdCompressionDict(path.read_bytes(), dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    return found


def newest(column: str) -> int:
    """The version new values of ``column`` are written with."""
    return max(_dictionaries(column))


def _coder(column: str, version: int, compressing: bool):
    coders = getattr(_local, "coders", None)
    if coders is None:
        coders = _local.coders = {}
    key = (column, version, compressing)
    coder = coders.get(key)
    if coder is None:
        dictionary = _dictionaries(column)[version]
        if compressing:
            parameters = zstandard.ZstdCompressionParameters.from_level(
                LEVEL, format=zstandard.FORMAT_ZSTD1_MAGICLESS, write_checksum=0, write_dict_id=0, write_content_size=1
            )
            coder = zstandard.ZstdCompressor(dict_data=dictionary, compression_params=parameters)
        else:
            coder = zstandard.ZstdDecompressor(dict_data=dictionary, format=zstandard.FORMAT_ZSTD1_MAGICLESS)
        coders[key] = coder
    return coder


def pack(column: str, text: str) -> bytes:
    """``text`` as ``column`` stores it: its dictionary's version, then the frame."""
    version = newest(column)
    return bytes((version,)) + _coder(column, version, True).compress(text.encode(errors="surrogatepass"))


def unpack(column: str, stored: bytes | str) -> str:
    """The text of a stored value of ``column``; a value stored as plain text, as it is.

    Raises ``ValueError`` for bytes that are neither: a damaged frame, a dictionary this release
    does not hold, bytes that are not UTF-8.
    """
    if isinstance(stored, str):
        return stored
    stored = bytes(stored)
    if not stored or stored[0] not in _VERSIONS:
        return stored.decode(errors="surrogatepass")
    if stored[0] not in _dictionaries(column):
        raise ValueError(f"{column}: no dictionary {stored[0]}")
    try:
        return _coder(column, stored[0], False).decompress(stored[1:]).decode(errors="surrogatepass")
    except zstandard.ZstdError as damaged:
        raise ValueError(f"{column}: {damaged}") from damaged


class Packed(TypeDecorator):
    """A column of ``column``'s values packed: JSON values (``as_json``) or text."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, column: str, as_json: bool = True):
        super().__init__()
        self.column = column
        self.as_json = as_json

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return pack(self.column, json_text(value) if self.as_json else value)

    def process_result_value(self, value, dialect):
        if value is None or isinstance(value, dict | list):  # jsonb before 0029, as earlier migrations read it
            return value
        try:
            text = unpack(self.column, value)
            return json.loads(text) if self.as_json else text
        except ValueError:  # UnicodeDecodeError and json's errors are ValueErrors too
            return self._unreadable(value)

    def _unreadable(self, value) -> dict | str:
        """What a value written by hand in no form this type reads reads as: its bytes, named.

        Reading it must not fail: the audit chain's check then names the event as modified, and a
        page shows the value for what it is, instead of an error.
        """
        stored = value.encode(errors="surrogatepass") if isinstance(value, str) else bytes(value)
        return {UNREADABLE: stored.hex()} if self.as_json else f"[{UNREADABLE}: {stored.hex()}]"
