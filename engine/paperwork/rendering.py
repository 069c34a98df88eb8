"""Documents made after the step that asked for them, from the facts that step kept.

A step must not hold the database's write lock (SQLite has a single one) while a PDF is
laid out: a hoja de trámite takes hundreds of milliseconds under load, a consolidado of
10,000 cases seconds. So the step stores the document's row with a snapshot of its facts
(``documents.HojaDeTramite`` or ``documents.Consolidado`` as JSON) and no bytes, and the
bytes are made here, later, outside any write transaction: by the outbox worker before it
sends a message that carries the document, by its background pass, or by whoever needs
them first (a download, the month's archive). The facts are those of the step, so a
document rendered an hour later says what it would have said then.

Two renderers may race on one document: each renders, and only the first to store its
bytes (``... WHERE content IS NULL``) records ``documento_renderizado``; the other's bytes
are dropped, so a document has one content and one such event.

The one-process server (``python -m web``) renders in a short-lived child process instead of a
thread of its own (``render_pending_apart``): laying out a hoja loads WeasyPrint, Pango,
fontconfig and their fonts, about 55 MB, and leaves the heap it used larger, all of which a
long-lived server would otherwise hold for as long as it runs; and a crash in a native layout
library takes down the child, not the server and its requests. The child opens its own
connection from the database's URL (no pooled connection crosses a process boundary) and exits
when its pass is done, giving its memory back. The outbox worker, a process of its own, and a
download of a document not yet made still render in the process that asks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import subprocess
import sys
import threading
import time
import types
import typing
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select, update

from engine import clock as clocks
from engine.audit import trail as audit
from engine.db.models import Document
from engine.db.store import Store
from engine.errors import NotRendered
from engine.paperwork import documents

log = logging.getLogger("atiende.rendering")

# kind of document → (facts it is made from, how it is made, content type)
KINDS: dict[str, tuple[type, Callable[[Any], bytes], str]] = {
    "hoja_de_tramite": (documents.HojaDeTramite, documents.hoja_de_tramite_pdf, documents.PDF),
    "consolidado_xlsx": (documents.Consolidado, documents.consolidado_xlsx, documents.XLSX),
    "consolidado_pdf": (documents.Consolidado, documents.consolidado_pdf, documents.PDF),
}
PENDING = Document.content.is_(None)
BATCH = 20  # documents a background pass renders (beyond the attachments of messages due)
CHILD_SECONDS = 60.0  # a child renders batch after batch while they come full, for about this long
CHILD_TIMEOUT = 600.0  # a child still at work after this is killed; its documents wait for the next pass


def snapshot(facts: Any) -> Any:
    """The facts of a document as JSON: nested facts as objects, datetimes as ISO 8601 with their offset.

    A document's facts (a dataclass) give a dict; nested values give what JSON holds for them.
    """
    if dataclasses.is_dataclass(facts):
        return {f.name: snapshot(getattr(facts, f.name)) for f in dataclasses.fields(facts)}
    if isinstance(facts, list):
        return [snapshot(item) for item in facts]
    if isinstance(facts, datetime):
        return facts.isoformat()
    return facts


def facts(kind: str, taken: dict[str, Any]) -> Any:
    """The facts a snapshot of a ``kind`` document was taken from, as its renderer takes them."""
    return _revive(KINDS[kind][0], taken)


def _revive(annotation: Any, value: Any) -> Any:
    """``value`` read back as ``annotation`` says (the field types of ``engine.paperwork.documents``)."""
    if value is None:
        return None
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):  # X | None
        [annotation] = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _revive(annotation, value)
    if origin is list:
        [item] = typing.get_args(annotation)
        return [_revive(item, v) for v in value]
    if dataclasses.is_dataclass(annotation):
        hints = typing.get_type_hints(annotation)
        made = cast("type[Any]", annotation)  # a dataclass: the class, not an instance
        return made(**{f.name: _revive(hints[f.name], value[f.name]) for f in dataclasses.fields(annotation)})
    if annotation is datetime:
        return datetime.fromisoformat(value)
    return value


def content_type(kind: str) -> str:
    """The MIME type of a ``kind`` document made here."""
    return KINDS[kind][2]


def render(kind: str, taken: dict[str, Any]) -> bytes:
    """The bytes of a ``kind`` document made from its snapshot (WeasyPrint, ``tabla_pdf`` or openpyxl)."""
    return KINDS[kind][1](facts(kind, taken))


def ensure_rendered(store: Store, document_ids: Iterable[int], now: Callable[[], datetime] = clocks.now) -> int:
    """Render and store those of the documents that have no bytes yet; how many this call stored.

    Call it with no transaction open: each document is read in a read session, rendered
    with no transaction at all, and stored in a short unit of work of its own. A document
    that fails to render is logged and stays pending for the next try.
    """
    wanted = set(document_ids)
    if not wanted:
        return 0
    with store.read() as s:
        pending = list(s.scalars(select(Document.id).where(Document.id.in_(wanted), PENDING).order_by(Document.id)))
    return sum(_render(store, document_id, now) for document_id in pending)


def render_pending(store: Store, limit: int, now: Callable[[], datetime] = clocks.now) -> int:
    """One background pass: render the ``limit`` oldest documents that have no bytes yet; how many it stored."""
    with store.read() as s:
        pending = list(s.scalars(select(Document.id).where(PENDING).order_by(Document.id).limit(limit)))
    return sum(_render(store, document_id, now) for document_id in pending)


def render_pending_apart(store: Store, limit: int) -> int:
    """One background pass in a child process, if any document is pending; how many it stored.

    The child is ``python -m engine.paperwork.rendering LIMIT`` on the same database (its URL in
    DATABASE_URL, not on the command line, which any user of the machine can read). It renders
    batches of ``limit`` while they come full, for about ``CHILD_SECONDS``, so a desk that makes
    documents faster than a batch per pass does not leave them waiting behind a child's start.
    Raises ``subprocess.CalledProcessError`` if the child fails or dies, and
    ``subprocess.TimeoutExpired`` (the child killed) after ``CHILD_TIMEOUT``.
    """
    with store.read() as s:
        if s.scalar(select(Document.id).where(PENDING).limit(1)) is None:
            return 0  # no child started for nothing
    child = subprocess.run(
        [sys.executable, "-m", __name__, str(limit)],
        env={**os.environ, "DATABASE_URL": store.url},
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        timeout=CHILD_TIMEOUT,
    )
    return int(child.stdout)


def rendering_worker(
    store: Store,
    batch: int,
    interval: float,
    stop: threading.Event,
    render_pass: Callable[[Store, int], int] = render_pending,
) -> None:
    """Render pending documents every ``interval`` seconds until ``stop`` is set, each pass by ``render_pass``.

    For an installation with no outbox worker (the demo without SMTP), whose pass does this
    too: without it, documents would wait for their first download.
    """
    while not stop.is_set():
        try:
            rendered = render_pass(store, batch)
            if rendered:
                log.info("documentos: %d preparados", rendered)
        except Exception:  # noqa: BLE001 - the worker must outlive a bad pass
            log.exception("rendering pass failed")
        stop.wait(interval)


def contents(store: Store, document_ids: list[int], now: Callable[[], datetime] = clocks.now) -> list[bytes]:
    """The bytes of the documents, in the order given, rendering those still pending first.

    Raises ``NotRendered`` naming the documents that could not be rendered.
    """
    ensure_rendered(store, document_ids, now)
    with store.read() as s:
        found = dict(s.execute(select(Document.id, Document.content).where(Document.id.in_(document_ids))).all())
    missing = [document_id for document_id in document_ids if found.get(document_id) is None]
    if missing:
        raise NotRendered(missing)
    return [found[document_id] for document_id in document_ids]


def _render(store: Store, document_id: int, now: Callable[[], datetime]) -> bool:
    with store.read() as s:
        kind, filename, case_id, taken = s.execute(
            select(Document.kind, Document.filename, Document.case_id, Document.snapshot).where(
                Document.id == document_id
            )
        ).one()
    try:
        content = render(kind, taken)
    except Exception:  # noqa: BLE001 - one document that cannot be made must not hold back the others
        log.exception("document %s (%s) could not be rendered", document_id, filename)
        return False
    digest = hashlib.sha256(content).hexdigest()
    with store.unit_of_work() as s:
        stored = (
            s.execute(
                update(Document)
                .where(Document.id == document_id, PENDING)
                .values(content=content, size=len(content), sha256=digest)
            ).rowcount
            == 1
        )
        if stored:  # else another renderer stored the same document first
            audit.record(
                s,
                now(),
                audit.SYSTEM,
                "documento_renderizado",
                case_id=case_id,
                detail={"documento": document_id, "archivo": filename, "sha256": digest, "bytes": len(content)},
            )
    return stored


def _main(limit: int) -> None:
    """The child of ``render_pending_apart`` on DATABASE_URL: batches of ``limit`` while they come full,
    for about ``CHILD_SECONDS``; prints how many documents it stored."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # one line per layout stage otherwise
    store = Store(os.environ["DATABASE_URL"])
    stored, until = 0, time.monotonic() + CHILD_SECONDS
    try:
        while True:
            batch = render_pending(store, limit)
            stored += batch
            if batch < limit or time.monotonic() > until:
                break
        print(stored)
    finally:
        store.dispose()


if __name__ == "__main__":
    _main(int(sys.argv[1]))
