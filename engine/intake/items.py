"""Intake items: messages an operator turns into cases or discards, each taken exactly once.

A message is *taken* in one transaction: its Message-ID recorded (unique), then either a
new intake item with the citizen's acknowledgement queued, or — when its subject carries the
ticket of a case opened by the same address — an entry on that case. Taking the same
message again (after a crash between this commit and the IMAP flag) finds the Message-ID
and does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.access.accounts import Actor
from engine.audit import trail as audit
from engine.cases import attachments
from engine.db.models import Case, InboundMail, IntakeItem
from engine.db.store import Store
from engine.errors import FileRefused, IntakeError
from engine.facade import Atiende, Started
from engine.intake import notify
from engine.intake.emails import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, ParsedMail

CHANNEL_EMAIL = "correo_electronico"
PENDING, CONVERTED, DISCARDED = "pendiente", "convertido", "descartado"
MAIL_PROCESS = "atencion_correo_web"
MAX_FORM_TEXT = 4000  # the start form's descripcion maxLength
MAILBOX_ACTOR = "buzón institucional"  # who "uploaded" a mail's attachments
SKIPPED = (
    f"No se guardó: supera {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB o el mensaje trae más de "
    f"{MAX_ATTACHMENTS} adjuntos."
)


@dataclass(frozen=True)
class Taken:
    outcome: str  # "entrada" (a new intake item), "unido" (joined its case), "repetido" (seen before)
    intake_item_id: int | None = None
    case_id: int | None = None


def take_mail(atiende: Atiende, mail: ParsedMail) -> Taken:
    """Record one message from the mailbox, once; safe to call again with the same message."""
    store, now, sender = atiende.store, atiende.now(), atiende.settings.smtp.sender
    try:
        with store.unit_of_work() as s:
            if _taken(s, mail.key):
                return Taken("repetido")
            record = InboundMail(
                message_key=mail.key, message_id=mail.message_id, sender_email=mail.sender_email, taken_at=now
            )
            s.add(record)
            s.flush()  # a second reader of the same message fails here, before doing anything else
            case = _case_replied_to(s, mail)
            if case is not None:
                _join(s, case, mail, now, sender)
                record.case_id = case.id
                return Taken("unido", case_id=case.id)
            item = _new_item(s, mail, now, sender)
            record.intake_item_id = item.id
            return Taken("entrada", intake_item_id=item.id)
    except IntegrityError:
        with store.read() as s:  # another worker took it between our check and our insert; or a real fault
            if not _taken(s, mail.key):
                raise
        return Taken("repetido")


def _taken(session: Session, key: str) -> bool:
    return session.scalar(select(InboundMail.id).where(InboundMail.message_key == key)) is not None


def _case_replied_to(session: Session, mail: ParsedMail) -> Case | None:
    """The case whose ticket the subject names, if the sender is the case's own citizen.

    Anyone can type a ticket number; only the address the case was opened with may add to it.
    """
    if not mail.ticket:
        return None
    case = session.scalar(select(Case).where(Case.ticket == mail.ticket))
    if case is None or not case.citizen_email or case.citizen_email.strip().lower() != mail.sender_email:
        return None
    return case


def _join(session: Session, case: Case, mail: ParsedMail, now: datetime, sender: str) -> None:
    files, refused = _store_files(session, mail, now)
    attachments.attach(session, [f["id"] for f in files], case.id)
    audit.record(
        session,
        now,
        audit.SYSTEM,
        "correo_recibido",
        case_id=case.id,
        detail={
            "de": mail.sender_email,
            "asunto": mail.subject,
            "cuerpo": mail.body,
            "adjuntos": files,
            "adjuntos_rechazados": refused,
            "message_id": mail.message_id,
        },
    )
    if not mail.automatic:
        notify.queue(
            session,
            notify.joined(case.citizen_name or mail.sender_name, mail.sender_email, case.ticket),
            now,
            sender,
            case_id=case.id,
        )


def _new_item(session: Session, mail: ParsedMail, now: datetime, sender: str) -> IntakeItem:
    files, refused = _store_files(session, mail, now)
    answer = not mail.automatic and bool(mail.sender_email)
    item = IntakeItem(
        channel=CHANNEL_EMAIL,
        sender_email=mail.sender_email,
        sender_name=mail.sender_name or None,
        subject=mail.subject,
        body=mail.body,
        attachments=files + refused,
        acknowledged=answer,
        ticket_mentioned=mail.ticket,
        received_at=now,
        status=PENDING,
    )
    session.add(item)
    session.flush()
    if answer:
        notify.queue(session, notify.received(mail.sender_name, mail.sender_email, mail.subject, now), now, sender)
    return item


def _store_files(session: Session, mail: ParsedMail, now: datetime) -> tuple[list[dict], list[dict]]:
    """Keep the files the attachment store accepts; name the others and why, for the operator."""
    kept, refused = [], [{"nombre": name, "motivo": SKIPPED} for name in mail.skipped_attachments]
    for file in mail.attachments:
        try:
            stored = attachments.store(session, file.data, file.filename, MAILBOX_ACTOR, now)
        except FileRefused as reason:
            refused.append({"nombre": file.filename, "motivo": str(reason)})
            continue
        kept.append({"id": stored.id, "nombre": stored.filename, "tipo": stored.content_type, "tamano": stored.size})
    return kept, refused


# -- what the operator does with an item --------------------------------------------------------


def pending(session: Session) -> list[IntakeItem]:
    """The items waiting for an operator, oldest first."""
    return list(
        session.scalars(
            select(IntakeItem).where(IntakeItem.status == PENDING).order_by(IntakeItem.received_at, IntakeItem.id)
        )
    )


def get(session: Session, item_id: int) -> IntakeItem | None:
    return session.get(IntakeItem, item_id)


def start_form_values(item: IntakeItem) -> dict:
    """The start form of the e-mail procedure, prefilled from the message."""
    return {
        "canal": CHANNEL_EMAIL,
        "ciudadano_nombre": item.sender_name or "",
        "ciudadano_email": item.sender_email,
        "asunto": item.subject[:200],
        "descripcion": item.body[:MAX_FORM_TEXT],
        "respuesta_inmediata_enviada": item.acknowledged,  # queued when the message arrived
        "adjuntos": [a["id"] for a in item.attachments if "id" in a],
    }


def convert(
    atiende: Atiende,
    item_id: int,
    submitted: dict,
    actor: Actor,
    status_url: str | None = None,
    uploads: attachments.Uploads | None = None,
) -> Started:
    """Start the e-mail procedure from an item; the item, the case, the files the operator added
    (``uploads``) and the ticket message commit together."""

    def mark_converted(session: Session, case: Case) -> None:
        item = _lock_pending(session, item_id)
        now = atiende.now()
        item.status, item.case_id, item.handled_by, item.handled_at = CONVERTED, case.id, actor.username, now
        audit.record(
            session,
            now,
            actor.username,
            "entrada_convertida",
            case_id=case.id,
            detail={"entrada": item.id, "de": item.sender_email, "asunto": item.subject},
        )
        to = case.citizen_email or item.sender_email
        notify.queue(
            session,
            notify.registered(case.citizen_name, to, case.ticket, case.subject or item.subject, status_url),
            now,
            atiende.settings.smtp.sender,
            case_id=case.id,
        )

    with atiende.store.read() as s:
        _check_pending(s.get(IntakeItem, item_id))  # say so before the form is checked; again under lock below
    return atiende.start_case(MAIL_PROCESS, submitted, actor, then=mark_converted, uploads=uploads)


def discard(store: Store, item_id: int, reason: str, actor: Actor, now: datetime) -> None:
    """Set an item aside with the operator's reason (spam, duplicate, not for this office)."""
    reason = (reason or "").strip()
    if not reason:
        raise IntakeError("Indique el motivo por el que descarta el mensaje.")
    with store.unit_of_work() as s:
        item = _lock_pending(s, item_id)
        item.status, item.discard_reason, item.handled_by, item.handled_at = (
            DISCARDED,
            reason[:2000],
            actor.username,
            now,
        )
        audit.record(
            s,
            now,
            actor.username,
            "entrada_descartada",
            detail={"entrada": item.id, "de": item.sender_email, "asunto": item.subject, "motivo": reason},
        )


def _lock_pending(session: Session, item_id: int) -> IntakeItem:
    return _check_pending(session.get(IntakeItem, item_id, with_for_update=True))


def _check_pending(item: IntakeItem | None) -> IntakeItem:
    if item is None:
        raise IntakeError("El mensaje no existe.")
    if item.status != PENDING:
        who = f" por {item.handled_by}" if item.handled_by else ""
        state = "convertido en caso" if item.status == CONVERTED else "descartado"
        raise IntakeError(f"El mensaje ya fue {state}{who}.")
    return item
