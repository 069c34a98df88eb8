"""Columns kept as Zstandard frames with a fixed dictionary: the audit events' details, the documents'
facts, the outgoing mail's bodies and the cases' records.

After the workflow states were compressed (``engine.bpm.state.codec``), these held most of what
is left of a case's bytes: about 15 audit events of 230 bytes of JSON each, a hoja's facts, two or
three mails of 700 bytes, a record of 1.3 KB. Each value is small, so a frame of it alone saves
only a fifth to a half: what repeats is not inside one value but across all of them (an event's
keys, the task's name, the mail's fixed wording, the record's keys and catalogue codes). A
dictionary that already holds those lets each frame point into it: the details and the records
take about two fifths of their text, the bodies a quarter.

The dictionaries are raw content, not trained: text files in ``engine/db/dictionaries``, one
dictionary a column, named ``<dictionary>.<version>.txt``, showing what such values look like.
For the details, one line per kind of event with its keys and the procedures' task names, every
value a case holds emptied; for the documents, the facts' keys; for the mail, the approved texts
with their fields left out; for the records, one line per shape of record with only the
catalogues' codes as values. No citizen's words are in them. A released file never changes,
because a value is read with the dictionary it was written with: when the procedures'
vocabulary or the texts move far enough, a new file with the next version is added and new
values are written with it.

A stored value is one byte, the version of its dictionary (1 to 8: no text begins with one of
those), and a Zstandard frame without the four bytes of its magic number and with no checksum.
Nothing reads inside these columns in SQL (a record's description, which the search index needs,
has a column of its own); they are read whole through ``Packed`` and decoded in Python. A value
written straight into the database as plain text (JSON, for the JSON columns) reads back as that
text, like the hashes of ``Sha256``; bytes in no form it reads (a frame claiming more than
``LARGEST`` bytes among them) read back as those bytes, named (``UNREADABLE``). Either way the
audit chain's check names a tampered event instead of failing to read it. The migrations before
0029 (0031 for the records) that read these columns through the models get them as they were
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
VERSIONS = range(1, 9)  # a stored value's first byte: no text, JSON included, begins with one of these
LARGEST = 64 * 2**20  # bytes a value may unpack to (a consolidado of 10,000 cases' facts: 2.5 MB)
UNREADABLE = "valor ilegible"  # the key (JSON) or mark (text) of a stored value in no form this type reads


class _Coders(threading.local):
    """This thread's compressors and decompressors by (dictionary, version, compressing): zstandard's are
    not safe to share between threads."""

    def __init__(self):
        self.made: dict[tuple[str, int, bool], zstandard.ZstdCompressor | zstandard.ZstdDecompressor] = {}


_coders = _Coders()


@functools.cache
def _dictionaries(dictionary: str) -> dict[int, zstandard.ZstdCompressionDict]:
    """The versions of ``dictionary``, each by its number."""
    found = {}
    for path in FOLDER.glob(f"{dictionary}.*.txt"):
        version = int(path.stem.rsplit(".", 1)[1])
        if version not in VERSIONS:
            raise ValueError(f"{path.name}: a dictionary's version is one of {VERSIONS.start}–{VERSIONS.stop - 1}")
        found[version] = zstandard.ZstdCompressionDict(path.read_bytes(), dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    return found


def newest(dictionary: str) -> int:
    """The version of ``dictionary`` new values are written with."""
    return max(_dictionaries(dictionary))


def _coder(dictionary: str, version: int, compressing: bool):
    key = (dictionary, version, compressing)
    coder = _coders.made.get(key)
    if coder is None:
        content = _dictionaries(dictionary)[version]
        if compressing:
            parameters = zstandard.ZstdCompressionParameters.from_level(
                LEVEL, format=zstandard.FORMAT_ZSTD1_MAGICLESS, write_checksum=0, write_dict_id=0, write_content_size=1
            )
            coder = zstandard.ZstdCompressor(dict_data=content, compression_params=parameters)
        else:
            coder = zstandard.ZstdDecompressor(dict_data=content, format=zstandard.FORMAT_ZSTD1_MAGICLESS)
        _coders.made[key] = coder
    return coder


def pack(dictionary: str, text: str) -> bytes:
    """``text`` as stored with ``dictionary``: its newest version's number, then the frame."""
    version = newest(dictionary)
    return bytes((version,)) + _coder(dictionary, version, True).compress(text.encode(errors="surrogatepass"))


def unpack(dictionary: str, stored: bytes | str) -> str:
    """The text of a value stored with ``dictionary``; a value stored as plain text, as it is.

    Raises ``ValueError`` for bytes that are neither: a dictionary version this release does not
    hold, a damaged frame or one that claims more than ``LARGEST`` bytes, bytes that are not UTF-8.
    """
    if isinstance(stored, str):
        return stored
    stored = bytes(stored)
    if not stored or stored[0] not in VERSIONS:
        return stored.decode(errors="surrogatepass")
    if stored[0] not in _dictionaries(dictionary):
        raise ValueError(f"{dictionary}: no version {stored[0]}")
    frame = stored[1:]
    try:
        if zstandard.get_frame_parameters(frame, format=zstandard.FORMAT_ZSTD1_MAGICLESS).content_size > LARGEST:
            raise ValueError(f"{dictionary}: a frame that claims more than {LARGEST} bytes")
        return _coder(dictionary, stored[0], False).decompress(frame).decode(errors="surrogatepass")
    except zstandard.ZstdError as damaged:
        raise ValueError(f"{dictionary}: {damaged}") from damaged


class Packed(TypeDecorator):
    """A column of values packed with ``dictionary``: JSON values (``as_json``) or text."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, dictionary: str, as_json: bool = True):
        super().__init__()
        self.dictionary = dictionary
        self.as_json = as_json

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return pack(self.dictionary, json_text(value) if self.as_json else value)

    def process_result_value(self, value, dialect):
        if value is None or isinstance(value, dict | list):  # jsonb before 0029, as earlier migrations read it
            return value
        try:
            text = unpack(self.dictionary, value)
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
