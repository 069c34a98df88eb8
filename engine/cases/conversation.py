"""A case's conversation, as staff read it on the case page: what the citizen wrote (entrante), what
the office sent (saliente, with its delivery state) and the internal notes (never shown to the
citizen), in time order; the preview of the e-mail a task will send the citizen; and what the
citizen brought (their words and the case's files), shown on every task of the case.

Every channel keeps the citizen's text under the same key, ``descripcion``: the start forms of the
desk, the public report (``engine.intake.web_report``), the mailbox (the message's body) and
Open311 (``description``). Whoever works a step reads it beside the form.

Nothing is stored twice for this page: it is read from where each part already lives. The
citizen's first words are the e-mail the case was made from (``IntakeItem``) or, for a case typed in
by staff or filed on the web, the start form's description; later e-mails the mailbox joined to the
case are its «correo_recibido» events (``engine.intake.items``); messages out are the outbox's rows,
plus the acknowledgement the mailbox sent before the case existed; notes are ``engine.cases.notes``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from engine.bpm import following_mail
from engine.cases import notes
from engine.db.models import Case, HumanTask, IntakeItem, OutboxMessage
from engine.db.statements import Statement
from engine.errors import FormErrors
from engine.facade import Atiende
from engine.forms import catalogs
from engine.mail import outbox
from engine.paperwork import effects

IN, OUT, NOTE = "entrante", "saliente", "nota"
_ORDER = {IN: 0, OUT: 1, NOTE: 2}  # at the same instant: the message, then its acknowledgement, then notes
RECEIVED = "correo_recibido"  # the event of an e-mail the mailbox joined to its case
RECEIPT = "acuse_recepcion"  # the mailbox's «we have your message», written before the case existed
CHANNELS = "canales"  # the catalogue that names how a case arrived


@dataclass(frozen=True)
class Entry:
    """One message or note. ``who``: the sender (in), the recipients (out) or the author's username (note)."""

    at: datetime
    direction: str  # entrante, saliente, nota
    who: str
    text: str
    subject: str = ""
    via: str = ""  # how it arrived: the channel's name, «correo electrónico»
    state: str | None = None  # an outgoing message's outbox state
    state_label: str = ""
    error: str | None = None  # why it failed, or what was left out
    files: tuple[tuple[str, str], ...] = field(default=())  # (attachment id, name) of a message in


_ITEMS = cast(Table, IntakeItem.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)
_FIRST_IN = Statement(select(*_ITEMS.c).where(_ITEMS.c.case_id == bindparam("case_id")).order_by(_ITEMS.c.id).limit(1))
_SENT = Statement(select(*_OUTBOX.c).where(_OUTBOX.c.case_id == bindparam("case_id")).order_by(_OUTBOX.c.id))


def reads(case_id: int) -> tuple[tuple[Statement, dict], ...]:
    """What a case's conversation is made of, to read with the page's other reads (``statements.together``):
    the e-mail the case was made from (no row for other cases), the messages out, the notes."""
    key = {"case_id": case_id}
    return (_FIRST_IN, key), (_SENT, key), notes.of_case_read(case_id)


def entries(
    session: Session, case: Case, events: Iterable[Any], rows: list[list[Any]], catalog_cache: catalogs.CatalogCache
) -> list[Entry]:
    """The case's conversation, oldest first; ``events`` are its audit events and ``rows`` what ``reads``
    gave, already read by the page."""
    first_in, sent, written = rows
    found = [*_first_words(session, case, first_in[0] if first_in else None, catalog_cache), *_joined(events)]
    found += [_out(m) for m in sent]
    found += [Entry(n.written_at, NOTE, n.author, n.text) for n in written]
    return sorted(found, key=lambda e: (e.at, _ORDER[e.direction]))


def _first_words(session: Session, case: Case, item: Any | None, catalog_cache: catalogs.CatalogCache) -> list[Entry]:
    if item is None:
        words = (case.description or "").strip()
        if not words:
            return []
        channels = catalog_cache.labels(session, (CHANNELS,))[CHANNELS]
        via = channels.get(case.channel, case.channel) if case.channel else ""
        return [Entry(case.opened_at, IN, case.citizen_name or "", words, case.subject or "", via)]
    found = [
        Entry(
            item.received_at,
            IN,
            _sender(item.sender_name, item.sender_email),
            item.body,
            item.subject,
            "Correo electrónico",
            files=tuple((a["id"], a["nombre"]) for a in item.attachments if "id" in a),
        )
    ]
    receipts = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind == RECEIPT, OutboxMessage.case_id.is_(None), OutboxMessage.created_at == item.received_at
        )
    )
    found += [_out(m) for m in receipts if item.sender_email in m.recipients]
    return found


def _joined(events: Iterable[Any]) -> list[Entry]:
    return [
        Entry(
            e.at,
            IN,
            str(e.detail.get("de", "")),
            str(e.detail.get("cuerpo", "")),
            str(e.detail.get("asunto", "")),
            "Correo electrónico",
            files=tuple((f["id"], f["nombre"]) for f in e.detail.get("adjuntos", []) if "id" in f),
        )
        for e in events
        if e.kind == RECEIVED
    ]


def _out(message: Any) -> Entry:
    return Entry(
        message.created_at,
        OUT,
        ", ".join(message.recipients) or "sin destinatario",
        message.body,
        message.subject,
        state=message.state,
        state_label=outbox.STATES.get(message.state, message.state),
        error=message.last_error,
    )


def _sender(name: str | None, email: str) -> str:
    return f"{name} <{email}>" if name else email


# -- the preview of the answer ---------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """The e-mail a task's completion will send the citizen, or why none will go (``notice``)."""

    to: str | None = None
    subject: str | None = None
    body: str | None = None
    notice: str | None = None


def preview(atiende: Atiende, session: Session, task: HumanTask, submitted: dict) -> Preview | None:
    """The message to the citizen that completing ``task`` with ``submitted`` would write, made by the
    code the step runs (``engine.bpm.following_mail``, ``engine.paperwork.effects.drafts``); None when
    no operator writing to the citizen follows the task. The caller checks the person may work it."""
    case = task.case
    procedure = atiende.procedure(session, case.procedure_version_id)
    schema = procedure.forms.get(task.form) if task.form else None
    data = {**case.data, **_typed(atiende, session, procedure, task.form, schema, submitted)}
    try:
        following = following_mail.to_citizen(procedure, task.bpmn_id, data)
        if not following:
            return None
        for step in following:
            drafts = effects.drafts(session, case, step.effects, atiende.now(), atiende.catalog_cache, atiende.settings)
            if drafts:
                draft = drafts[0]
                return Preview(", ".join(draft.to), outbox.subject_line(draft.subject), draft.body)
        why = next((str(s.result["motivo"]) for s in following if s.result.get("motivo")), "")
        return Preview(notice=f"Esta respuesta no se envía por correo: {why}." if why else "No se envía correo.")
    except Exception as exc:  # noqa: BLE001 - a preview that cannot be made says why; completing the task will too
        return Preview(notice=f"No se pudo preparar la vista previa: {exc}")


def _typed(atiende: Atiende, session: Session, procedure, form: str | None, schema: dict | None, submitted: dict):
    """The form's values as the step would get them; while the form is incomplete, the text typed so far
    (trimmed, as the form's check trims it) and every other field of the form blank."""
    if schema is None:
        return {}
    try:
        return atiende.clean_form(session, procedure, form, submitted)
    except FormErrors:
        blank = dict.fromkeys(schema.get("properties", {}), "")
        typed = {k: v.strip() for k, v in submitted.items() if k in blank and isinstance(v, str)}
        return {**blank, **typed}


@dataclass(frozen=True)
class CitizenMaterial:
    """The citizen's subject and text, as received, and the case's attachments, oldest first."""

    subject: str
    text: str
    files: list[Any] = field(default_factory=list)  # attachment rows

    def __bool__(self) -> bool:
        return bool(self.text or self.files)


def material(case: Case, files: list[Any]) -> CitizenMaterial:
    """What the citizen brought (``files``: the case's attachment rows, oldest first); false when it has
    neither text nor files (an operativo, a meeting)."""
    return CitizenMaterial(case.subject or "", (case.description or "").strip(), files)
