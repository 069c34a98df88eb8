"""The tables of Atiende: procedure versions, cases, their human tasks, audit, people."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, configure_mappers, mapped_column, relationship, validates
from sqlalchemy.types import UserDefinedType

from engine.db import event_kinds
from engine.db.packing import Packed
from engine.db.store import json_text

JSONType = JSON().with_variant(JSONB(), "postgresql")
# Diagrams, form schemas and specs keep their key order (a form's fields render in the order
# they are written); PostgreSQL's JSONB would reorder them, its plain JSON does not.
OrderedJSON = JSON()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class _SQLiteInstant(UserDefinedType):
    """How ``UTCDateTime`` is declared on SQLite: DATETIME, as every release wrote it, with no
    conversion of its own (``UTCDateTime`` writes and reads the integers)."""

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "DATETIME"


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too.

    PostgreSQL keeps a ``timestamp`` (8 bytes). SQLite has no time type: SQLAlchemy's DateTime
    writes 26 characters of text there; this type writes the microseconds since 1970 as an
    integer instead (8 bytes, in the row and in each index on the column). Integers order and
    compare as the instants do. That is about 0.9 KB a case: the dozen events of its audit trail,
    its own times and its mail's (migration 0030). The column stays declared DATETIME, which on
    SQLite is only an affinity. A value written as text (by hand, or before 0030) still reads, but
    SQLite orders text after every integer, so it would not compare as a time: 0030 converts every
    one, and refuses to go on past one it cannot read.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return _SQLiteInstant() if dialect.name == "sqlite" else dialect.type_descriptor(DateTime())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        if dialect.name == "sqlite":
            return sqlite_instant(value)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, int):
            return _EPOCH + value * _MICROSECOND
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_instant(at: datetime) -> int:
    """An aware datetime as SQLite's ``UTCDateTime`` columns hold it: microseconds since 1970, UTC."""
    return (at - _EPOCH) // _MICROSECOND


class _TextAsBytes(TypeDecorator):
    """A text in Python kept as bytes in the database (``packed``, ``unpacked``): less room in the row and
    its indexes. A value someone wrote as text straight into the database reads back as that text."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return self.packed(value) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is None or isinstance(value, str):
            return value
        return self.unpacked(bytes(value))

    def packed(self, value: str) -> bytes:
        raise NotImplementedError

    def unpacked(self, stored: bytes) -> str:
        raise NotImplementedError


class Sha256(_TextAsBytes):
    """A SHA-256 as its 64 hexadecimal digits in Python, as its 32 bytes in the database: half the room.

    A value written as text reads back as that text, so the chain's check compares it like any
    other and names the event (``engine.audit.chain``).
    """

    cache_ok = True

    def packed(self, value: str) -> bytes:
        return bytes.fromhex(value)

    def unpacked(self, stored: bytes) -> str:
        return stored.hex()


class TaskId(_TextAsBytes):
    """A SpiffWorkflow task's id, a UUID: its text in Python, its 16 bytes in the database (36 as text).

    Only a UUID's own text (``str(uuid)``, as SpiffWorkflow writes it) is kept as 16 bytes, so it
    reads back as written: the audit chain hashes that text. Any other (written by hand, or asked
    for from a URL) is kept as ``OTHER`` and its UTF-8 bytes, never 16 bytes long, and reads back as
    it was; a lookup by it finds nothing rather than failing.
    """

    cache_ok = True
    OTHER = b"\xff"  # the first byte of a text kept as text: no UTF-8 begins with it

    def packed(self, value: str) -> bytes:
        try:
            found = uuid.UUID(value)
        except ValueError:
            found = None
        if found is not None and str(found) == value:
            return found.bytes
        return self.OTHER + value.encode(errors="surrogatepass")

    def unpacked(self, stored: bytes) -> str:
        if len(stored) == 16:
            return str(uuid.UUID(bytes=stored))
        return stored.removeprefix(self.OTHER).decode(errors="replace")


class EventKind(_TextAsBytes):
    """An audit event's kind: its text in Python, one byte in the database (``engine.db.event_kinds``)."""

    cache_ok = True

    def packed(self, value: str) -> bytes:
        return event_kinds.stored(value)

    def unpacked(self, stored: bytes) -> str:
        return event_kinds.read(stored)


class Base(DeclarativeBase):
    pass


class ProcedureVersion(Base):
    """One deployed version of a procedure: its diagrams, forms and parsed spec, stored once."""

    __tablename__ = "procedure_version"
    __table_args__ = (
        UniqueConstraint("process_id", "version"),
        UniqueConstraint("process_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    bpmn: Mapped[dict] = mapped_column(OrderedJSON)  # file name -> XML text
    forms: Mapped[dict] = mapped_column(OrderedJSON)  # form name -> JSON Schema
    spec: Mapped[dict] = mapped_column(OrderedJSON)  # serialized spec and subprocess specs
    deployed_by: Mapped[str] = mapped_column(String(100))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    # The version of each procedure it calls that it bundles (engine.procedures.versions.with_callers)
    calls: Mapped[dict] = mapped_column(JSONType, default=dict, server_default="{}")


DESCRIPTION_FIELD = "descripcion"  # the start forms' field for the citizen's own words


def record_text(record, field: str) -> str | None:
    """A field of a case's record as SQL's JSON text of it (``->>``): text as it is, another value as its
    JSON; None when the record (of any shape) does not hold it."""
    found = record.get(field) if isinstance(record, dict) else None
    return None if found is None else found if isinstance(found, str) else json_text(found)


class Case(Base):
    """A citizen's case: the columns people search by, its record; its workflow state is a ``CaseState``."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket: Mapped[str] = mapped_column(String(32), unique=True)
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"), index=True)
    case_type: Mapped[str | None] = mapped_column(String(50), index=True)
    channel: Mapped[str | None] = mapped_column(String(50), index=True)
    citizen_name: Mapped[str | None] = mapped_column(String(200))
    citizen_cedula: Mapped[str | None] = mapped_column(String(30), index=True)
    citizen_email: Mapped[str | None] = mapped_column(String(254))  # RFC 5321: an address at most
    citizen_phone: Mapped[str | None] = mapped_column(String(30))
    subject: Mapped[str | None] = mapped_column(String(300))
    direccion: Mapped[str | None] = mapped_column(String(100), index=True)
    corregimiento: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(30))  # ix_cases_status_direccion, ix_cases_status_type
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    # The case record people read, packed (engine.db.packing, migration 0031); its description also
    # in a column of its own, which the search index's triggers read (kept by ``_describe``).
    data: Mapped[dict] = mapped_column(Packed("case_data"))
    description: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=0)  # the steps taken: its state's version
    timer_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    version: Mapped[ProcedureVersion] = relationship()

    @validates("data")
    def _describe(self, _key: str, data: dict) -> dict:
        """Whoever sets the record sets the description column with it. A lone surrogate (a broken mail
        header may leave one), which the record keeps escaped but a text column cannot hold, becomes «?»."""
        found = record_text(data, DESCRIPTION_FIELD)
        self.description = None if found is None else found.encode(errors="replace").decode()
        return data


class CaseState(Base):
    """A case's SpiffWorkflow instance state, without the spec, compressed (``engine.bpm.state.codec``).

    Apart from the case row (migration 0035), read and written through ``engine.db.case_rows`` (and
    rewritten by ``engine.bpm.state.compaction``). A compressed state takes 1–3 KB; in the case row,
    it made most rows larger than half a SQLite page, so each row took a page of its own and left a
    third of it empty. Here two states share a page, and the case rows, without it, a dozen. Each
    step writes it with the case row, whose ``revision`` tells its version.
    """

    __tablename__ = "case_state"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, autoincrement=False)
    workflow: Mapped[bytes] = mapped_column(LargeBinary)


class HumanTask(Base):
    """A READY user task, projected so that task lists never deserialize a workflow."""

    __tablename__ = "human_task"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str] = mapped_column(String(50))
    form: Mapped[str | None] = mapped_column(String(100))
    direccion: Mapped[str | None] = mapped_column(String(100))  # ix_human_task_direccion_due
    # The case's columns the bandeja filters by, mirrored so counting needs no join (migration 0004).
    case_type: Mapped[str | None] = mapped_column(String(50))
    channel: Mapped[str | None] = mapped_column(String(50))
    corregimiento: Mapped[str | None] = mapped_column(String(100))
    assignee: Mapped[str | None] = mapped_column(String(100))  # ix_human_task_mine
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Also mirrored, so that the figures count open tasks without a join (migration 0019): the
    # procedure version (the time per step's «waiting now») and the opening (the enlaces' backlog by age).
    procedure_version_id: Mapped[int | None] = mapped_column(Integer)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship()


class AuditEvent(Base):
    """One append-only entry of what happened, written in the transaction of the change."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(EventKind, index=True)  # and ix_audit_event_case_kind (migration 0034)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))  # ix_audit_event_case_kind (0021, 0025)
    task_id: Mapped[str | None] = mapped_column(TaskId)  # ix_audit_event_task_id, of the tasks' events (0028, 0032)
    detail: Mapped[dict] = mapped_column(Packed("audit_detail"))  # engine.db.packing (migration 0029)
    hash: Mapped[str | None] = mapped_column(Sha256)  # engine.audit.chain (migrations 0007, 0026, 0033)


class StateDictionary(Base):
    """A Zstandard dictionary the stored workflow states are compressed with (``engine.bpm.state.codec``).

    Append-only (migration 0027): a state is read with the dictionary its frame names, so one
    deleted would leave every state written with it unreadable.
    """

    __tablename__ = "state_dictionary"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # the id its frames name
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime)
    states: Mapped[int] = mapped_column(Integer)  # how many states' shapes it was trained on
    content: Mapped[bytes] = mapped_column(LargeBinary)


class AuditSeal(Base):
    """A signed seal of the audit chain's head (``engine.audit.seals``): listed and printed; its signature is its proof.

    No foreign key to ``audit_event``: a sealed event that disappears must be found missing by
    ``atiende audit verify``, not kept by a constraint an intruder can drop.
    """

    __tablename__ = "audit_seal"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)  # 1, 2, 3…: a gap is a deleted seal
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_event_id: Mapped[int] = mapped_column(Integer)  # the newest event sealed
    head_hash: Mapped[str] = mapped_column(String(64))  # its hash
    event_count: Mapped[int] = mapped_column(Integer)  # events with an id up to it
    key_id: Mapped[str] = mapped_column(String(16))  # which key signed (start of its public key's SHA-256)
    signature: Mapped[str] = mapped_column(String(100))  # Ed25519, base64
    sealed_by: Mapped[str] = mapped_column(String(100))


class TicketSequence(Base):
    """The last ticket number issued per prefix and year; numbers are never reused."""

    __tablename__ = "ticket_sequence"

    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    direccion: Mapped[str | None] = mapped_column(String(100))  # an enlace's dirección
    active: Mapped[bool] = mapped_column(default=True)
    # Moved on by sign-out, password reset and deactivation: a session counts only while it names this one.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    roles: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def role_codes(self) -> set[str]:
        return {r.role for r in self.roles}


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(50), primary_key=True)


class CatalogItem(Base):
    """An entry of an editable catalogue: direcciones, corregimientos, case types, ..."""

    __tablename__ = "catalog_item"
    __table_args__ = (UniqueConstraint("catalog", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    catalog: Mapped[str] = mapped_column(String(50), index=True)
    code: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(200))
    extra: Mapped[dict] = mapped_column(JSONType, default=dict)
    active: Mapped[bool] = mapped_column(default=True)


# -- Channels (issue 6): intake of the mailbox, rate limits, links between cases, Open311 --------


class IntakeItem(Base):
    """A message that reached the office and waits for an operator to make it a case or discard it."""

    __tablename__ = "intake_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(50))
    sender_email: Mapped[str] = mapped_column(String(254))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSONType, default=list)  # [{"id", "nombre", "tipo", "tamano"}]
    ticket_mentioned: Mapped[str | None] = mapped_column(String(32))  # a ticket it names but may not join
    acknowledged: Mapped[bool] = mapped_column(default=False)  # the citizen was answered at once
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # pendiente, convertido, descartado
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    handled_by: Mapped[str | None] = mapped_column(String(100))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discard_reason: Mapped[str | None] = mapped_column(Text)


class InboundMail(Base):
    """Every message taken from the mailbox, once: its Message-ID's hash is unique."""

    __tablename__ = "inbound_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_key: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the Message-ID
    message_id: Mapped[str] = mapped_column(String(500))
    sender_email: Mapped[str] = mapped_column(String(254))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    intake_item_id: Mapped[int | None] = mapped_column(ForeignKey("intake_item.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))  # a reply that joined its case


class RateLimitWindow(Base):
    """Hits of one key (a hashed address, a ticket) in one fixed time window of one bucket."""

    __tablename__ = "rate_limit_window"

    bucket: Mapped[str] = mapped_column(String(50), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)


class CaseLink(Base):
    """Two cases an operator linked as duplicates; the lower id first, so a pair is stored once."""

    __tablename__ = "case_link"
    __table_args__ = (UniqueConstraint("case_id", "other_case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    other_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Open311Key(Base):
    """An Open311 client allowed to post requests; only the key's hash is kept."""

    __tablename__ = "open311_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Open311Request(Base):
    """What an Open311 client posted beyond the case's form: where, and the token it may ask by."""

    __tablename__ = "open311_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("open311_key.id"), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    address_string: Mapped[str | None] = mapped_column(String(300))
    media_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- Paperwork (issue 5): documents made or received, and the outbox of e-mail ---------------


class Document(Base):
    """A paper of a case or a dirección, kept byte for byte as it was made or received.

    A hoja de trámite is stored as the PDF that was sent, so the archive and a later resend show
    exactly what the dirección received, whatever the templates look like by then. A document
    a step asks for is stored by that step with the ``snapshot`` of its facts and no bytes;
    ``engine.paperwork.rendering`` makes content, size and sha256 after the step has committed.
    """

    __tablename__ = "document"
    __table_args__ = (
        Index("ix_document_kind_direccion_created", "kind", "direccion", "created_at"),
        # The documents still to be rendered (engine.paperwork.rendering), found without reading the table.
        Index(
            "ix_document_pending", "id", sqlite_where=text("content IS NULL"), postgresql_where=text("content IS NULL")
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # hoja_de_tramite, consolidado_xlsx, consolidado_pdf, acuse_firmado
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    direccion: Mapped[str | None] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)  # None (with sha256 and content) until rendered
    sha256: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # lists never load the bytes
    # the facts it is rendered from, packed (engine.db.packing)
    snapshot: Mapped[dict | None] = mapped_column(Packed("document_snapshot"), deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))


class OutboxAttachment(Base):
    """A document attached to an outgoing message, in the order it is attached."""

    __tablename__ = "outbox_attachment"

    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id"), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)

    document: Mapped[Document] = relationship()


class OutboxMessage(Base):
    """An e-mail written in the transaction of the step that caused it, sent later by the worker.

    ``state``: pendiente → enviando (claimed by a worker) → enviado; or back to pendiente with
    a later ``next_attempt_at`` when the server could not take it; fallido when it refused it
    for good; incierto when a worker stopped after handing it over (``handed_over_at``) and
    before recording the server's answer: then a person decides whether to send it again.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(250), unique=True)  # the Message-ID header, fixed at enqueue
    kind: Mapped[str] = mapped_column(String(40), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    direccion: Mapped[str | None] = mapped_column(String(100))
    sender: Mapped[str] = mapped_column(String(254))
    recipients: Mapped[list] = mapped_column(JSONType)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Packed("outbox_body", as_json=False))
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    attachments: Mapped[list[OutboxAttachment]] = relationship(
        cascade="all, delete-orphan", order_by=OutboxAttachment.position, lazy="selectin"
    )


# -- Procedures in the browser and their tests (issue 7) ------------------------------------------


class ProcedureDraft(Base):
    """An analyst's unfinished change to a procedure: its diagrams, forms and scenarios; one per procedure."""

    __tablename__ = "procedure_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100), unique=True)
    # The version it was copied from; None for a procedure created in the editor, never deployed yet.
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("procedure_version.id"))
    bpmn: Mapped[dict] = mapped_column(OrderedJSON)  # file name -> XML text
    forms: Mapped[dict] = mapped_column(OrderedJSON)  # form name -> JSON Schema
    scenarios: Mapped[dict] = mapped_column(OrderedJSON)  # engine.procedures.scenarios: {"proceso", "escenarios"}
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcedureScenarios(Base):
    """The diagram tests a procedure's last deploy passed; the next draft starts from them."""

    __tablename__ = "procedure_scenarios"

    process_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    scenarios: Mapped[dict] = mapped_column(OrderedJSON)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- Task list (issue 4): drafts of task forms, internal notes, attachments -------------------


class TaskDraft(Base):
    """A task form half-filled by one person; the database drops it when the task leaves the list."""

    __tablename__ = "task_draft"

    task_id: Mapped[str] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    author: Mapped[str] = mapped_column(String(100), primary_key=True)
    form_values: Mapped[dict] = mapped_column(JSONType)  # as posted: it may not be valid yet
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Covering indexes for the bandeja (engine.cases.finding.worklist): counts and pages come from index pages alone,
# for a person's lanes and for the whole team (they replace 0001's ix_human_task_lane_due).
_WORKLIST_FILTERS = (
    HumanTask.assignee,
    HumanTask.direccion,
    HumanTask.case_type,
    HumanTask.channel,
    HumanTask.corregimiento,
)
Index("ix_human_task_worklist", HumanTask.lane, HumanTask.due_at, HumanTask.id, *_WORKLIST_FILTERS)
Index("ix_human_task_due", HumanTask.due_at, HumanTask.id, HumanTask.lane, *_WORKLIST_FILTERS)


class CaseNote(Base):
    """An internal note on a case: for the office only, never shown to the citizen."""

    __tablename__ = "case_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)


class StoredFile(Base):
    """The bytes of an uploaded file, kept once per content (SHA-256)."""

    __tablename__ = "stored_file"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(Base):
    """One upload of a file: its name, checked type, size, who and when, and the case it joined."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_unclaimed", "case_id", "uploaded_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random: knowing it is the capability
    sha256: Mapped[str] = mapped_column(ForeignKey("stored_file.sha256"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))


# -- Scheduled procedures (issue 3): the calendar of each timer start event ---------------------


class Schedule(Base):
    """A timer start event of a deployed procedure and when the scheduler next starts its runs.

    SpiffWorkflow's timer start events do not create instances; ``engine.bpm.start_events`` does, from
    this row: the indexed ``next_run_at`` lets the sweep find what is due without reading any
    diagram, and the row lock makes each run start exactly once.
    """

    __tablename__ = "schedule"
    __table_args__ = (UniqueConstraint("process_id", "start_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100))
    start_event: Mapped[str] = mapped_column(String(100))  # the timer start event's BPMN id
    cycle: Mapped[str] = mapped_column(String(200))  # its timeCycle, evaluated: R/2026-01-05T08:00:00-05:00/P7D
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # None: no more runs
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Incident(Base):
    """A step that failed at run time and was rolled back (``engine.cases.incidents``), as Camunda calls it.

    One open row per case and element (per procedure and element for a start that left no case):
    ``open_key`` says which and is unique, NULL once resolved, so a second failure of the same step
    counts an attempt instead of adding a row, even when two fail at once.
    """

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    open_key: Mapped[str | None] = mapped_column(String(250), unique=True)
    state: Mapped[str] = mapped_column(String(10), index=True)  # abierta, resuelta
    kind: Mapped[str] = mapped_column(String(20))  # inicio, tarea, temporizador, mensaje: what a retry does
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)  # None: a start, no case
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"))
    process_id: Mapped[str] = mapped_column(String(100))
    element_id: Mapped[str] = mapped_column(String(100))
    element_name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)  # Spanish
    original: Mapped[str] = mapped_column(Text)  # the library's message, as it gave it
    task_id: Mapped[str | None] = mapped_column(String(36))  # a completion: the task a retry completes
    actor: Mapped[str] = mapped_column(String(100))  # who (or audit.SYSTEM) took the step last
    data: Mapped[dict | None] = mapped_column(JSONType)  # a completion: the cleaned submission a retry repeats
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(100))


# -- The business calendar: the days off the admin keeps, national and decreed ------------


class DayOff(Base):
    """A day the Alcaldía does not work: a national holiday, the district's, or one a decree declared.

    ``engine.calendar`` reads them into the helpers' working-day arithmetic (``sumar_dias(.., habiles=True)``).
    """

    __tablename__ = "day_off"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # ley (national or district, seeded), decreto
    decree: Mapped[str | None] = mapped_column(String(200))  # «Decreto Ejecutivo N.º 12 de 2026»
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarYear(Base):
    """A year the table holds: its days off are the rows of ``day_off``, not the law's defaults."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class CalendarVersion(Base):
    """One row, counted up by every edit of the calendar, in the edit's transaction: each process
    compares it with the copy it caches, so an edit reaches every process's next step."""

    __tablename__ = "calendar_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)


class AccessVersion(Base):
    """One row, counted up by every change to who a signed-in person is (roles, dirección, name, active,
    session generation), in the change's transaction: each web process compares it with the people it
    keeps (``web.auth``), so a change reaches every process's next request."""

    __tablename__ = "access_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)


# -- The citizen's verdict: a one-use survey link, and answers without personal data --------


class SurveyInvitation(Base):
    """A link to the survey given for a case: its token's SHA-256 only, one use, until ``expires_at``.

    Every invitation of a case is spent when one is answered: a case is judged once.
    """

    __tablename__ = "survey_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    origin: Mapped[str] = mapped_column(String(10))  # correo (the final answer), consulta (/consulta)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used: Mapped[bool] = mapped_column(default=False)  # no time: it would tie the answer to the case


class SurveyAnswer(Base):
    """One citizen's answers, with no way back to the case: no ticket, no name, no address, no time
    finer than the month its case was answered in."""

    __tablename__ = "survey_answer"
    __table_args__ = (Index("ix_survey_answer_month", "month", "direccion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)  # the first day of the month the case was answered in
    direccion: Mapped[str | None] = mapped_column(String(100))
    case_type: Mapped[str | None] = mapped_column(String(100))
    satisfaction: Mapped[int] = mapped_column(Integer)  # 1 to 5
    on_time: Mapped[bool] = mapped_column()  # «¿Le respondimos dentro del plazo?»
    comment: Mapped[str | None] = mapped_column(Text)


class SurveyTally(Base):
    """The answers counted per month, dirección and case type, kept with each answer: what the
    indicators read (``engine.indicators.surveys``) instead of the answers themselves."""

    __tablename__ = "survey_tally"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    direccion: Mapped[str] = mapped_column(String(100), primary_key=True)  # "" when the case had none
    case_type: Mapped[str] = mapped_column(String(100), primary_key=True)
    answers: Mapped[int] = mapped_column(Integer)
    satisfaction_sum: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)  # answers that said «sí»


# -- Indicators (engine.indicators.rollup) ------------------------------------------------------
ANSWER_DAYS = 60  # the histogram of time to answer is exact up to this many days, then one overflow
INDICATOR_DIMENSIONS = ("direccion", "case_type", "channel", "corregimiento", "process_id")


class IndicatorCase(Base):
    """What a case last counted for in the indicator roll-ups: the diff of a move, and the drill-down.

    Dimensions hold "" for none, so that the roll-ups' unique keys hold (NULL never equals NULL).
    ``outcome`` is "open", "on_time" or "late"; days are Panamá days.
    """

    __tablename__ = "indicator_case"
    __table_args__ = (
        Index("ix_indicator_case_closed", "outcome", "closed_day", "case_id"),
        Index("ix_indicator_case_opened", "opened_day", "case_id"),
        Index("ix_indicator_case_outcome_id", "outcome", "case_id"),
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, autoincrement=False)
    process_id: Mapped[str] = mapped_column(String(100))
    direccion: Mapped[str] = mapped_column(String(100))
    case_type: Mapped[str] = mapped_column(String(50))
    channel: Mapped[str] = mapped_column(String(50))
    corregimiento: Mapped[str] = mapped_column(String(100))
    opened_day: Mapped[date] = mapped_column(Date)
    due_day: Mapped[date | None] = mapped_column(Date)
    closed_day: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(10))
    # Derived, so that a rebuild can group in SQL alike on both databases (no date arithmetic there).
    opened_month: Mapped[date] = mapped_column(Date)
    closed_month: Mapped[date | None] = mapped_column(Date)
    answer_days: Mapped[int | None] = mapped_column(Integer)


class IndicatorCount(Base):
    """Cases received (by opening day) and answered on time / late (by closing day), per day and
    grouping: ``grain`` names which dimensions a row keeps (engine.indicators.rollup.GRAINS), the
    others hold ""; ``a0`` … ``a60`` and ``a_mas`` count the answered by days taken."""

    __tablename__ = "indicator_count"
    __table_args__ = (
        UniqueConstraint("grain", "day", *INDICATOR_DIMENSIONS, name="uq_indicator_count_key"),
        Index("ix_indicator_count_direccion", "grain", "direccion", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grain: Mapped[str] = mapped_column(String(1))
    day: Mapped[date] = mapped_column(Date)
    month: Mapped[date] = mapped_column(Date)  # the first day of day's month
    direccion: Mapped[str] = mapped_column(String(100))
    case_type: Mapped[str] = mapped_column(String(50))
    channel: Mapped[str] = mapped_column(String(50))
    corregimiento: Mapped[str] = mapped_column(String(100))
    process_id: Mapped[str] = mapped_column(String(100))
    received: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)
    late: Mapped[int] = mapped_column(Integer)
    for _days in range(ANSWER_DAYS + 1):
        vars()[f"a{_days}"] = mapped_column(Integer, nullable=False)
    del _days
    a_mas: Mapped[int] = mapped_column(Integer)


class IndicatorOpen(Base):
    """Cases open now per opening day, due day and grouping (as ``IndicatorCount``), kept +1/−1.

    ``due_day`` is NO_TERM (9999-12-31) for a case without a term: never past it.
    """

    __tablename__ = "indicator_open"
    __table_args__ = (
        UniqueConstraint("grain", "opened_day", "due_day", *INDICATOR_DIMENSIONS, name="uq_indicator_open_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grain: Mapped[str] = mapped_column(String(1))
    opened_day: Mapped[date] = mapped_column(Date)
    month: Mapped[date] = mapped_column(Date)  # the first day of opened_day's month
    due_day: Mapped[date] = mapped_column(Date)
    direccion: Mapped[str] = mapped_column(String(100))
    case_type: Mapped[str] = mapped_column(String(50))
    channel: Mapped[str] = mapped_column(String(50))
    corregimiento: Mapped[str] = mapped_column(String(100))
    process_id: Mapped[str] = mapped_column(String(100))
    n: Mapped[int] = mapped_column(Integer)


# -- Time per step (the heatmap on the diagram: engine.indicators.steps) -----------------------------


class StepTime(Base):
    """Completions of one diagram element of a procedure, per Panamá month of completion (AAAAMM) and
    duration bucket (engine.indicators.steps.bucket_of), counted in the completion's transaction so
    the heatmap's median and 90th percentile never scan the audit trail (migration 0018)."""

    __tablename__ = "step_time"

    process_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    bpmn_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    completions: Mapped[int] = mapped_column(Integer)


# The heatmap's waiting counts read only the open tasks of the diagram's elements.
Index("ix_human_task_bpmn", HumanTask.bpmn_id, HumanTask.procedure_version_id)
# A calendar run reads only what it reports (migration 0021): the open cases of a status by dirección
# (engine.cases.selectors, engine.paperwork.consolidado), the sugerencias waiting for a meeting, and
# the follow-up reports among the events of those cases.
Index("ix_cases_status_direccion", Case.status, Case.direccion, Case.opened_at)
Index("ix_cases_status_type", Case.status, Case.case_type, Case.procedure_version_id)
Index("ix_audit_event_case_kind", AuditEvent.case_id, AuditEvent.kind)
# A task's completion is looked up by its id (engine.audit.trail.completion_of); three events in five
# name no task, and the index keeps none of them (migration 0028).
Index(
    "ix_audit_event_task_id",
    AuditEvent.task_id,
    sqlite_where=AuditEvent.task_id.is_not(None),
    postgresql_where=AuditEvent.task_id.is_not(None),
)
# At a million cases (migration 0023): the bandeja's order by each column, for a person's lane and for the
# whole team, covering as the two above (engine.cases.finding.worklist; by due date: ix_human_task_worklist,
# ix_human_task_due; by ticket for the team: ix_human_task_case_id), a person's own tasks (their count and
# «Mías»), and the possible duplicates of a case (engine.cases.finding.duplicates). Then (migration 0024) the same
# two for the corregimiento, a filter too narrow for the capped counts to stop early, and the duplicates'
# index of the open cases alone.
for _name, _column in (
    ("name", HumanTask.name),
    ("type", HumanTask.case_type),
    ("direccion", HumanTask.direccion),
    ("created", HumanTask.created_at),
    ("case", HumanTask.case_id),
    ("corregimiento", HumanTask.corregimiento),
):
    _covered = [c for c in _WORKLIST_FILTERS if c is not _column]
    Index(f"ix_human_task_lane_{_name}", HumanTask.lane, _column, HumanTask.due_at, HumanTask.id, *_covered)
    if _name != "case":
        Index(f"ix_human_task_{_name}_due", _column, HumanTask.due_at, HumanTask.id, HumanTask.lane, *_covered)
Index(
    "ix_human_task_mine",
    HumanTask.assignee,
    HumanTask.lane,
    HumanTask.due_at,
    HumanTask.id,
    *[c for c in _WORKLIST_FILTERS if c is not HumanTask.assignee],
)
Index(
    "ix_cases_duplicates_open",  # migration 0024: the open cases alone, so their rows are the only ones read
    Case.corregimiento,
    Case.case_type,
    Case.opened_at,
    sqlite_where=text("status <> 'cerrado'"),
    postgresql_where=text("status <> 'cerrado'"),
)


# The hot path builds rows without the ORM's query machinery (engine.db.statements.detached),
# which needs every mapper configured; a query would configure them lazily, so do it once here.
configure_mappers()
