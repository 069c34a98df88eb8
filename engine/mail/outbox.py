"""The outbox: e-mail written in the transaction of the step that causes it, read and resent here.

A step never talks to a mail server. It adds a row here in its own transaction, so a message
exists if and only if the step that tells of it was committed; ``engine.mail.smtp``'s worker
then sends it. Every message carries a Message-ID fixed when it was written, so a second
copy is recognisable as the same message by any mail program. A message whose delivery is
uncertain is never sent again by itself: a coordinator checks and resends it from here.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from engine.audit import trail as audit
from engine.db.models import OutboxAttachment, OutboxMessage
from engine.db.statements import NewRow, Statement
from engine.db.store import Store
from engine.errors import MailError
from engine.mail import addresses

STATES = {
    "pendiente": "Pendiente de envío",
    "enviando": "Enviándose",
    "enviado": "Enviado",
    "incierto": "Sin confirmar (verifique antes de reenviar)",
    "fallido": "Fallido",
}


def _single_line(text: str, what: str) -> str:
    if "\r" in text or "\n" in text:
        raise MailError(f"{what} no puede contener saltos de línea")
    return text.strip()


def _shown(address: str) -> str:
    """An address as the outbox page and the trail may show it: on one line, not too long."""
    return " ".join(address.split())[:254]


def subject_line(subject: str) -> str:
    """A subject as the outbox stores and sends it: on one line, not too long (previews show it so too)."""
    return " ".join(subject.split())[:300]


_NEW_MESSAGE = NewRow(OutboxMessage)
_INSERT_ATTACHMENT = Statement(cast(Table, OutboxAttachment.__table__).insert())
_ATTACHMENT_WRITTEN = ("message_id", "document_id", "position")


def new_message_id(sender: str) -> str:
    """A new message's Message-ID: 128 random bits in base 32, at the sender's domain.

    As unique as ``email.utils.make_msgid`` with a UUID (the time, the process and 63 random bits
    besides), at half its length: a message names it in its row, its unique index and its audit
    event (bench/storage.py).
    """
    token = base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=").lower()
    return f"<{token}@{sender.rsplit('@', 1)[-1]}>"


def enqueue(
    session: Session,
    *,
    kind: str,
    to: list[str],
    subject: str,
    body: str,
    now: datetime,
    sender: str,
    case_id: int | None = None,
    direccion: str | None = None,
    attachments=(),
    no_recipient_reason: str | None = None,
) -> OutboxMessage:
    """Write a message into the outbox, in the caller's transaction; returns the row, detached, to read.

    ``sender`` is the office's address (``MailSettings.sender``); ``attachments`` are Document
    rows. With nobody to send it to, the message is still written, as ``fallido`` with the
    reason, so the outbox page shows what could not go out and why. An address that is not
    valid (``engine.mail.addresses``: a stored one from before addresses were checked) is left
    out and named, with why, in ``last_error`` and in the audit trail: a mail never blocks a step.
    Inserted with plain statements: through the ORM's flush it cost as much as a workflow step.
    """
    sender = _single_line(sender, "el remitente")
    given = sorted({address.strip() for address in to if address and address.strip()})
    left_out = {address: said for address in given if (said := addresses.problem(address))}
    recipients = [address for address in given if address not in left_out]
    notes = "; ".join(f"No se envía a «{_shown(address)}»: {said}" for address, said in left_out.items())
    if recipients:
        last_error = notes or None
    elif left_out:
        last_error = f"Sin destinatario válido. {notes}"
    else:
        last_error = f"Sin destinatario: {no_recipient_reason or 'no se indicó ninguna'}"
    values = {
        "message_id": new_message_id(sender),
        "kind": kind,
        "case_id": case_id,
        "direccion": direccion,
        "sender": sender,
        "recipients": recipients,
        "subject": subject_line(subject),
        "body": body,
        "attempts": 0,
        "created_at": now,
        "state": "pendiente" if recipients else "fallido",
        "next_attempt_at": now if recipients else None,
        "claimed_by": None,
        "claimed_at": None,
        "handed_over_at": None,
        "sent_at": None,
        "last_error": last_error,
    }
    message = _NEW_MESSAGE.detached(session, values)
    if left_out:
        audit.record(
            session,
            now,
            audit.SYSTEM,
            "correo_direccion_invalida",
            case_id=case_id,
            detail={"mensaje": message.id, "tipo": kind, "no_enviado_a": {_shown(a): r for a, r in left_out.items()}},
        )
    if attachments:
        rows = [
            {"message_id": message.id, "document_id": document.id, "position": position}
            for position, document in enumerate(attachments)
        ]
        _INSERT_ATTACHMENT.execute_many(session, rows, column_keys=_ATTACHMENT_WRITTEN)
    return message


def as_email(message: OutboxMessage) -> EmailMessage:
    """The MIME message of an outbox row, attachments included, as it goes over SMTP."""
    mime = EmailMessage(policy=policy.SMTP)
    mime["From"] = message.sender
    mime["To"] = ", ".join(message.recipients)
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(message.created_at)
    mime["Message-ID"] = message.message_id
    mime.set_content(message.body)
    for attachment in message.attachments:
        document = attachment.document
        maintype, _, subtype = document.content_type.partition("/")
        mime.add_attachment(document.content, maintype=maintype, subtype=subtype, filename=document.filename)
    return mime


def resend(store: Store, outbox_id: int, actor: str, now: datetime) -> OutboxMessage:
    """Put an uncertain or failed message back in the queue, as the same message (same Message-ID)."""
    with store.unit_of_work() as s:
        message = s.get(OutboxMessage, outbox_id, with_for_update=True)
        if message is None:
            raise LookupError("el mensaje no existe")
        if message.state not in ("incierto", "fallido") or not message.recipients:
            raise MailError("solo se reenvían mensajes sin confirmar o fallidos que tengan destinatario")
        audit.record(
            s,
            now,
            actor,
            "correo_reenviado",
            case_id=message.case_id,
            detail={"mensaje": message.id, "estado_anterior": message.state, "asunto": message.subject},
        )
        message.state, message.attempts, message.next_attempt_at = "pendiente", 0, now
        message.claimed_by = message.claimed_at = message.handed_over_at = None
    return message


def listing(session: Session, state: str | None = None, limit: int = 200) -> list[OutboxMessage]:
    """The newest messages of the outbox (optionally of one state), for the outbox page."""
    query = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)
    if state:
        query = query.where(OutboxMessage.state == state)
    return list(session.scalars(query))
