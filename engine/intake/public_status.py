"""The citizen's view of their case: its status and public timeline, behind the ticket and a proof.

The proof is the e-mail or the cédula the case was opened with. What is shown is chosen
here, field by field (never the record, the tasks, the notes or who worked the case). The final
answer is shown once the citizen has it: its e-mail sent (the outbox says «enviado»), or, for a
case answered by telephone, in person or by letter (no e-mail written), once the case is closed.
A wrong guess costs the same as a right one up to the comparison, and the answer to «no such
ticket» and to «wrong e-mail» is the same.

Wrong guesses are limited per address (``engine.access.ratelimit``: a guess is counted before
it is compared, in one statement with the check; a right answer gives it back). Not per
ticket: wrong guesses from anywhere would then lock a ticket for its own citizen. Guessing
an e-mail or a cédula from a ticket number is slow from one address, and the ticket alone
shows nothing.
"""

from __future__ import annotations

import contextlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import select

from engine.access import ratelimit
from engine.access.ratelimit import Limit
from engine.audit import trail as audit
from engine.db.models import Case, OutboxMessage
from engine.db.store import Store
from engine.errors import TooManyGuesses
from engine.forms import catalogs, cedula

PER_ADDRESS = Limit("consulta_estado", hits=10, window=timedelta(minutes=15))
TOO_MANY = "Demasiados intentos fallidos. Espere unos minutos antes de volver a intentar, o llame a la Línea 311."
STATUS_NAMES = {
    "abierto": "Abierto",
    "en seguimiento": "En seguimiento",
    "escalado a la unidad": "Escalado a la unidad",
    "cerrado": "Cerrado",
}
_NOT_A_VALUE = "\x00"  # compared against when there is no case, so both failures do the same work


@dataclass(frozen=True)
class PublicEvent:
    at: datetime | date
    what: str


@dataclass(frozen=True)
class PublicAnswer:
    text: str
    at: datetime | date | None  # when it was sent, or the date the office recorded it was given


@dataclass(frozen=True)
class PublicCase:
    ticket: str
    case_type: str
    status: str
    opened_at: datetime
    due_at: datetime | None
    closed_at: datetime | None
    timeline: tuple[PublicEvent, ...]
    answer: PublicAnswer | None = None


def normalise_ticket(text: str) -> str:
    return re.sub(r"\s+", "", text or "").upper()[:32]


def _proof(text: str) -> str:
    """An e-mail compares without case; a cédula in its canonical form, however it was written."""
    text = (text or "").strip()
    return text.lower() if "@" in text else _cedula(text)


def _cedula(text: str) -> str:
    return re.sub(r"\s+", "", cedula.normalized(text)).upper()


def lookup(store: Store, ticket: str, contact: str, client: str, now: datetime) -> PublicCase | None:
    """The public view of the case, or None for any mismatch; raises TooManyGuesses."""
    ticket, proof = normalise_ticket(ticket), _proof(contact)
    counted = [(PER_ADDRESS, client)]
    until = ratelimit.take(store, now, counted)
    if until is not None:
        raise TooManyGuesses(TOO_MANY, ratelimit.seconds_until(until, now))
    with store.read() as s:
        case = s.scalar(select(Case).where(Case.ticket == ticket)) if ticket else None
        email = (case.citizen_email or "").strip().lower() if case else _NOT_A_VALUE
        on_file = _cedula(case.citizen_cedula or "") if case else _NOT_A_VALUE
        # Both comparisons always run: the time taken does not tell which one could have matched.
        by_email = hmac.compare_digest(proof.encode(), (email or _NOT_A_VALUE).encode())
        by_cedula = hmac.compare_digest(proof.encode(), (on_file or _NOT_A_VALUE).encode())
        if case is None or not proof or not (by_email or by_cedula):
            return None
        found = _public(s, case)
    ratelimit.give_back(store, now, counted)
    return found


def _public(session, case: Case) -> PublicCase:
    timeline = []
    for event in audit.case_history(session, case.id):
        if event.kind == "caso_creado":
            timeline.append(PublicEvent(event.at, "Caso registrado"))
        elif event.kind == "estado_cambiado":
            after = cast(str, event.detail.get("despues"))  # the runtime records the new status, always a name
            status = STATUS_NAMES.get(after, after)
            timeline.append(PublicEvent(event.at, f"Estado: {status}"))
    answered = _answered_on(case)
    if answered and case.status == "cerrado":
        timeline.append(PublicEvent(answered, "Respuesta final emitida"))
    return PublicCase(
        ticket=case.ticket,
        case_type=catalogs.label(session, "tipos_caso", case.case_type) or "",
        status=STATUS_NAMES.get(case.status, case.status),
        opened_at=case.opened_at,
        due_at=case.due_at,
        closed_at=case.closed_at,
        timeline=tuple(timeline),
        answer=_answer(session, case),
    )


ANSWER_TEXT = "respuesta_final"  # the final answer's form field: the text the citizen was given
ANSWER_MAIL = "respuesta_ciudadano"  # the outbox kind of its e-mail (operator «responder_ciudadano»)


def _answer(session, case: Case) -> PublicAnswer | None:
    """The final answer, once the citizen has it (see the module's docstring); None before."""
    text = str(case.data.get(ANSWER_TEXT) or "").strip()
    if not text:
        return None
    mails = list(
        session.execute(
            select(OutboxMessage.state, OutboxMessage.sent_at).where(
                OutboxMessage.case_id == case.id, OutboxMessage.kind == ANSWER_MAIL
            )
        )
    )
    sent = [at for state, at in mails if state == "enviado" and at is not None]
    if sent:
        return PublicAnswer(text, max(sent))
    if mails or case.status != "cerrado":
        return None  # its e-mail is still on its way (or failed): not the citizen's yet
    return PublicAnswer(text, _answered_on(case) or case.closed_at)


def _answered_on(case: Case) -> date | None:
    """The date the office recorded it gave the answer (the final answer's form), if it is one."""
    with contextlib.suppress(ValueError):
        return date.fromisoformat(str(case.data.get("fecha_respuesta") or "")[:10])
    return None
