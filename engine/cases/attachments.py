"""Files attached to cases: checked on the way in, kept in the database, handed out by id.

The whole API (every function takes the caller's session, so a file joins a case in the
caller's transaction, or not at all):

- ``store(session, data, filename, uploaded_by, now)`` → ``Attachment``: checks size
  (``MAX_BYTES``) and type, read from the bytes themselves, never from the name or the
  browser's word (``ACCEPTED``: PDF, JPEG/PNG/GIF/WebP images, Word/Excel/PowerPoint and
  OpenDocument files, plain text); raises ``FileRefused`` with a Spanish message. The bytes are
  kept once per SHA-256; each upload gets its own random id.
- ``check(data, filename)`` → ``Kind``: the same checks without storing, so a form's files are
  refused beside their field before anything is written; at most ``MAX_FILES`` per form.
- ``with_uploads(session, submitted, uploads, uploaded_by, now)`` → the submission with the ids
  of its new files (by field) appended: called inside the unit of work that accepts the form
  (a case started, a task completed, a draft saved), so a refused form stores none of its files.
- ``attach(session, ids, case_id)``: the uploads join the case; an id that is unknown or
  already belongs to another case raises ``FileRefused``. ``Atiende`` calls it for every form
  field marked ``"x-widget": "adjuntos"`` when a case starts or a task completes.
- ``get(session, id)``, ``content(session, attachment)``, ``of_case(session, case_id)``.

An id is a random 128-bit token and is the capability: whoever may read a case may fetch its
attachments, and an upload that joined no case yet (a draft's, a mail's) only by its uploader
(``web.cases``). Uploads that never joined a case are removed after ``UNCLAIMED_DAYS``
(``purge_unclaimed``, run on every upload). Why the database and not files: one transaction for the case and its
files, one backup, and several server processes (or machines) see the same files.
"""

from __future__ import annotations

import hashlib
import secrets
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from typing import cast

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.orm import Session

from engine.db.models import Attachment, StoredFile
from engine.db.statements import Statement
from engine.errors import FileRefused, FormErrors

MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 20  # per form sent: more is a flood, not a case's papers
TOO_MANY_FILES = f"Puede adjuntar hasta {MAX_FILES} archivos a la vez."
Uploads = dict[str, list[tuple[str, bytes]]]  # a form's new files (name, bytes) by field
UNCLAIMED_DAYS = 30
WIDGET = "adjuntos"  # the form widget whose values are attachment ids


@dataclass(frozen=True)
class Kind:
    content_type: str
    extensions: tuple[str, ...]
    label: str


# Office files are ZIP (OOXML, OpenDocument) or OLE2 (Office 97–2003) containers; the name's
# extension says which document a container holds.
ACCEPTED = (
    Kind("application/pdf", (".pdf",), "PDF"),
    Kind("image/jpeg", (".jpg", ".jpeg"), "imagen JPEG"),
    Kind("image/png", (".png",), "imagen PNG"),
    Kind("image/gif", (".gif",), "imagen GIF"),
    Kind("image/webp", (".webp",), "imagen WebP"),
    Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",), "Word"),
    Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",), "Excel"),
    Kind("application/vnd.openxmlformats-officedocument.presentationml.presentation", (".pptx",), "PowerPoint"),
    Kind("application/vnd.oasis.opendocument.text", (".odt",), "OpenDocument"),
    Kind("application/vnd.oasis.opendocument.spreadsheet", (".ods",), "OpenDocument"),
    Kind("application/msword", (".doc",), "Word 97–2003"),
    Kind("application/vnd.ms-excel", (".xls",), "Excel 97–2003"),
    Kind("text/plain", (".txt",), "texto"),
)
_BY_EXTENSION = {ext: kind for kind in ACCEPTED for ext in kind.extensions}
ACCEPT_ATTRIBUTE = ",".join(_BY_EXTENSION)  # for <input type="file" accept="...">
ACCEPTED_NAMES = "PDF, imágenes (JPG, PNG, GIF, WebP), Word, Excel, PowerPoint, OpenDocument o texto"


def _container(data: bytes) -> str | None:
    """Which family the bytes are, by their signature."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    return None


def _zip_holds(data: bytes, member_prefix: str) -> bool:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            return any(name.startswith(member_prefix) for name in archive.namelist())
    except zipfile.BadZipFile:
        return False


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data


def kind_of(data: bytes, filename: str) -> Kind:
    """The accepted kind the bytes really are (the name's extension must agree); else FileRefused."""
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    claimed = _BY_EXTENSION.get(extension)
    family = _container(data)
    if claimed is not None:
        if claimed.content_type == family:
            return claimed
        office = {".docx": "word/", ".xlsx": "xl/", ".pptx": "ppt/"}
        if family == "zip" and extension in office and _zip_holds(data, office[extension]):
            return claimed
        if family == "zip" and extension in (".odt", ".ods") and _zip_holds(data, "mimetype"):
            return claimed
        if family == "ole" and extension in (".doc", ".xls"):
            return claimed
        if extension == ".txt" and family is None and _is_text(data):
            return claimed
    raise FileRefused(
        f"«{filename}» no es un tipo de archivo aceptado o su contenido no corresponde a su extensión. "
        f"Se aceptan: {ACCEPTED_NAMES}."
    )


def _clean_name(filename: str) -> str:
    """The file's own name without any folder, control characters or excess length."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?').strip() or "archivo"
    return name[-200:]


def check(data: bytes, filename: str) -> Kind:
    """The kind of an acceptable upload; raises FileRefused (in Spanish) if it is empty, too big or not accepted."""
    name = _clean_name(filename)
    if not data:
        raise FileRefused(f"«{name}» está vacío.")
    if len(data) > MAX_BYTES:
        raise FileRefused(
            f"«{name}» pesa {len(data) / 1024 / 1024:.1f} MB; el máximo es {MAX_BYTES // 1024 // 1024} MB."
        )
    return kind_of(data, name)


def store(session: Session, data: bytes, filename: str, uploaded_by: str, now: datetime) -> Attachment:
    """Check one uploaded file and keep it; raises FileRefused (in Spanish) if it is not acceptable."""
    name = _clean_name(filename)
    kind = check(data, name)
    digest = hashlib.sha256(data).hexdigest()
    if session.get(StoredFile, digest) is None:
        session.add(StoredFile(sha256=digest, size=len(data), content=data))
        session.flush()  # the bytes' row first: the attachment row refers to it
    attachment = Attachment(
        id=secrets.token_hex(16),
        sha256=digest,
        filename=name,
        content_type=kind.content_type,
        size=len(data),
        uploaded_by=uploaded_by,
        uploaded_at=now,
        case_id=None,
    )
    session.add(attachment)
    purge_unclaimed(session, now)
    session.flush()
    return attachment


def with_uploads(session: Session, submitted: dict, uploads: Uploads | None, uploaded_by: str, now: datetime) -> dict:
    """``submitted`` with the new files of each field (name, bytes) stored and their ids appended to it.

    Run in the unit of work that accepts the form: if the form is refused the files go with the
    rollback, so a refused form leaves no file behind. A refused file raises FormErrors by field.
    """
    if not uploads:
        return submitted
    if sum(len(files) for files in uploads.values()) > MAX_FILES:
        raise FormErrors({next(iter(uploads)): TOO_MANY_FILES})
    result = dict(submitted)
    for field, files in uploads.items():
        try:
            ids = [store(session, data, name, uploaded_by, now).id for name, data in files]
        except FileRefused as refused:
            raise FormErrors({field: str(refused)}) from None
        kept = result.get(field) or []
        result[field] = (kept if isinstance(kept, list) else [kept]) + ids
    return result


def attach(session: Session, ids: Iterable[str], case_id: int) -> None:
    """Make the uploads part of the case; an unknown id or another case's raises FileRefused."""
    for attachment_id in ids:
        attachment = session.get(Attachment, attachment_id)
        if attachment is None or attachment.case_id not in (None, case_id):
            raise FileRefused("Uno de los archivos adjuntos no existe o pertenece a otro caso; vuelva a adjuntarlo.")
        attachment.case_id = case_id


def fields_of(schema: dict | None) -> list[str]:
    """The fields of a form schema that hold attachment ids."""
    properties = (schema or {}).get("properties", {})
    return [name for name, prop in properties.items() if prop.get("x-widget") == WIDGET]


def attach_fields(session: Session, schema: dict | None, data: dict, case_id: int) -> None:
    """Attach every id a cleaned form submission carries in its attachment fields (FormErrors if not)."""
    for field in fields_of(schema):
        try:
            attach(session, data.get(field) or [], case_id)
        except FileRefused as refused:
            raise FormErrors({field: str(refused)}) from None


def get(session: Session, attachment_id: str) -> Attachment | None:
    return session.get(Attachment, attachment_id) if isinstance(attachment_id, str) else None


def by_ids(session: Session, ids: Iterable[str]) -> dict[str, Attachment]:
    """The attachments with these ids that exist, by id (to show a form's files by name)."""
    wanted = {i for i in ids if isinstance(i, str)}
    if not wanted:
        return {}
    return {a.id: a for a in session.scalars(select(Attachment).where(Attachment.id.in_(wanted)))}


def content(session: Session, attachment: Attachment) -> bytes | None:
    """The attachment's bytes; None if they are gone (purged since the attachment was read)."""
    return session.scalar(select(StoredFile.content).where(StoredFile.sha256 == attachment.sha256))


_ATTACHMENTS = cast(Table, Attachment.__table__)
_OF_CASE = Statement(
    select(*_ATTACHMENTS.c)
    .where(_ATTACHMENTS.c.case_id == bindparam("case_id"))
    .order_by(_ATTACHMENTS.c.uploaded_at, _ATTACHMENTS.c.filename)
)


def of_case_read(case_id: int) -> tuple[Statement, dict]:
    """The read of a case's attachments (``attachment`` rows), oldest first, to send with others
    (``statements.together``)."""
    return _OF_CASE, {"case_id": case_id}


def purge_unclaimed(session: Session, now: datetime) -> None:
    """Remove uploads that joined no case within UNCLAIMED_DAYS, and bytes nothing refers to any more."""
    cutoff = now - timedelta(days=UNCLAIMED_DAYS)
    stale = select(Attachment.sha256).where(Attachment.case_id.is_(None), Attachment.uploaded_at < cutoff)
    digests = set(session.scalars(stale))
    if not digests:
        return
    session.execute(delete(Attachment).where(Attachment.case_id.is_(None), Attachment.uploaded_at < cutoff))
    still_used = set(session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(digests))))
    if digests - still_used:
        session.execute(delete(StoredFile).where(StoredFile.sha256.in_(digests - still_used)))
