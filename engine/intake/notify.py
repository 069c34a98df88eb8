"""The approved acknowledgements the citizen gets at once, by the channel they wrote from.

Texts follow the office's script (answer at once, by the same medium; give the ticket
number once it exists) and are queued in the caller's transaction, so a message is sent
if and only if what it tells of was committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from engine.clock import PANAMA
from engine.mail import outbox as mail

SIGNATURE = "Atentamente,\nDirección de Atención al Ciudadano\nAlcaldía de Panamá · Línea 311"
LEGAL_TERM = (
    "Conforme a la Ley 36 de 1998, su petición recibirá respuesta dentro de los 30 días siguientes a su presentación."
)


@dataclass(frozen=True)
class Message:
    kind: str  # the outbox's kind: what the message is, for its page and its filters
    to: str
    subject: str
    body: str


def _greeting(name: str | None) -> str:
    return f"Estimado(a) {name}:" if name else "Estimado(a) ciudadano(a):"


def received(name: str | None, to: str, subject: str, at: datetime) -> Message:
    """«We have your message»: sent the moment a message reaches the mailbox, before any ticket."""
    when = at.astimezone(PANAMA).strftime("%d/%m/%Y a las %H:%M")
    body = (
        f"{_greeting(name)}\n\n"
        f"La Dirección de Atención al Ciudadano de la Alcaldía de Panamá recibió su mensaje "
        f"«{subject}» el {when}. Un operador lo revisará y registrará su caso; le enviaremos por "
        f"este mismo medio el número de ticket con el que podrá darle seguimiento.\n\n"
        f"{LEGAL_TERM}\n\n{SIGNATURE}\n"
    )
    return Message("acuse_recepcion", to, f"Recibimos su mensaje: {subject}"[:300], body)


def registered(name: str | None, to: str, ticket: str, subject: str, status_url: str | None) -> Message:
    """«Your case has ticket N»: sent when the case exists (mailbox, Reporte Ciudadano, Open311)."""
    where = f" en {status_url}" if status_url else " en la página de consulta de la Alcaldía"
    body = (
        f"{_greeting(name)}\n\n"
        f"Su caso «{subject}» quedó registrado con el número de ticket {ticket}.\n\n"
        f"Puede consultar su estado{where} con este número y su correo electrónico o cédula. "
        f"Para escribirnos sobre este caso, responda a este mensaje conservando el número de "
        f"ticket en el asunto.\n\n{LEGAL_TERM}\n\n{SIGNATURE}\n"
    )
    return Message("ticket_ciudadano", to, f"Su caso fue registrado con el ticket {ticket}", body)


def joined(name: str | None, to: str, ticket: str) -> Message:
    """«Your message was added to case N»: a reply that carried its ticket number."""
    body = (
        f"{_greeting(name)}\n\n"
        f"Recibimos su mensaje sobre el caso {ticket} y lo agregamos a su expediente. "
        f"El operador a cargo lo tendrá en cuenta.\n\n{SIGNATURE}\n"
    )
    return Message("acuse_respuesta", to, f"Recibimos su mensaje sobre el caso {ticket}", body)


def queue(session: Session, message: Message, now: datetime, sender: str, case_id: int | None = None) -> None:
    """Put a message in the outbox (``engine.mail.outbox``) within the caller's transaction."""
    mail.enqueue(
        session,
        kind=message.kind,
        to=[message.to] if message.to else [],
        subject=message.subject,
        body=message.body,
        now=now,
        sender=sender,
        case_id=case_id,
        no_recipient_reason="el ciudadano no dio un correo electrónico",
    )
