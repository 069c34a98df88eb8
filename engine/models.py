"""The tables of Atiende: procedure versions, cases, their human tasks, audit, people."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None else None


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
    bpmn: Mapped[dict] = mapped_column(JSONType)  # file name -> XML text
    forms: Mapped[dict] = mapped_column(JSONType)  # form name -> JSON Schema
    spec: Mapped[dict] = mapped_column(JSONType)  # serialized spec and subprocess specs
    deployed_by: Mapped[str] = mapped_column(String(100))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")


class Case(Base):
    """A citizen's case: the columns people search by, its record, and its workflow state."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket: Mapped[str] = mapped_column(String(32), unique=True)
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"), index=True)
    case_type: Mapped[str | None] = mapped_column(String(50), index=True)
    channel: Mapped[str | None] = mapped_column(String(50), index=True)
    citizen_name: Mapped[str | None] = mapped_column(String(200))
    citizen_cedula: Mapped[str | None] = mapped_column(String(30), index=True)
    citizen_email: Mapped[str | None] = mapped_column(String(200))
    citizen_phone: Mapped[str | None] = mapped_column(String(30))
    subject: Mapped[str | None] = mapped_column(String(300))
    direccion: Mapped[str | None] = mapped_column(String(100), index=True)
    corregimiento: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict] = mapped_column(JSONType)  # the case record people read
    workflow: Mapped[str] = mapped_column(Text)  # SpiffWorkflow instance state, without the spec
    revision: Mapped[int] = mapped_column(Integer, default=0)
    timer_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    version: Mapped[ProcedureVersion] = relationship()


class HumanTask(Base):
    """A READY user task, projected so that task lists never deserialize a workflow."""

    __tablename__ = "human_task"
    __table_args__ = (Index("ix_human_task_lane_due", "lane", "due_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str] = mapped_column(String(50))
    form: Mapped[str | None] = mapped_column(String(100))
    direccion: Mapped[str | None] = mapped_column(String(100), index=True)
    assignee: Mapped[str | None] = mapped_column(String(100), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship()


class AuditEvent(Base):
    """One append-only entry of what happened, written in the transaction of the change."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    detail: Mapped[dict] = mapped_column(JSONType)


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
