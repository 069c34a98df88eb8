"""The outbox worker: claims written messages and hands them to the SMTP server, at most once.

The worker claims rows, hands them to the SMTP server and records the answer, each stage in
its own transaction.

What is guaranteed — at most once, automatically. A message is handed to the server (the
SMTP DATA command) only after the worker has recorded, in a committed transaction, that it
is about to (``handed_over_at``), and only if it still holds the claim. If the server
refuses, or cannot be reached, before that point the message goes back to ``pendiente``
and is retried with a growing pause; it cannot have been delivered. If the worker stops
between handing it over and recording the answer, the message becomes ``incierto``: it may
have been delivered, so it is never sent again by itself (``engine.mail.outbox.resend``).

A document a step attaches may not have its bytes yet (``engine.paperwork.rendering``): before
claiming, the worker renders the attachments of the messages that are due, outside any
transaction, and claims only messages whose attachments all have their bytes; one still
pending waits, ``pendiente``, for the next pass.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock as clocks
from engine.db.models import Document, OutboxAttachment, OutboxMessage
from engine.db.store import Store
from engine.mail.outbox import as_email
from engine.paperwork import rendering
from engine.settings import MailSettings

log = logging.getLogger("atiende.mail")

MAX_ATTEMPTS = 40
FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=1)
LEASE = timedelta(minutes=15)  # a claim older than this belongs to a worker that stopped
# A message goes out only with every attachment's bytes (as_email reads them).
_ATTACHMENT_PENDING = OutboxMessage.attachments.any(OutboxAttachment.document.has(rendering.PENDING))
UNRENDERED = (
    "Un documento adjunto no se pudo preparar todavía; se intenta de nuevo en cada pasada "
    "(el registro del servidor dice por qué)."
)


@dataclass
class Delivery:
    """What one pass of the worker did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0
    recovered: int = 0
    rendered: int = 0


class _Lost(Exception):
    """The connection broke before the message was handed over: safe to retry."""


class MailWorker:
    """Claims pending messages and sends them over SMTP; safe to run several at once."""

    def __init__(self, store: Store, settings: MailSettings, clock_=None, name: str | None = None, batch: int = 20):
        self.store = store
        self.settings = settings
        self.clock = clock_ or clocks.SystemClock()
        self.name = name or f"correo-{uuid.uuid4().hex[:8]}"
        self.batch = batch

    def run_once(self) -> Delivery:
        """Recover abandoned claims, render the attachments due, then claim and send one batch of due messages."""
        done = Delivery()
        now = self.clock.now()
        done.recovered = self._recover(now)
        waiting = self._attachments_due(now)
        done.rendered = rendering.ensure_rendered(self.store, waiting, self.clock.now)
        if done.rendered < len(waiting):
            self._note_unrendered(now)
        ids = self._claim(now)
        if not ids:
            return done
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            for outbox_id in ids:
                self._retry(outbox_id, f"No se pudo conectar con el servidor de correo: {exc}", done)
            return done
        try:
            for position, outbox_id in enumerate(ids):
                try:
                    self._deliver(smtp, outbox_id, done)
                except _Lost as lost:
                    for rest in ids[position:]:
                        self._retry(rest, str(lost), done)
                    break
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return done

    # -- stages, each in its own transaction ----------------------------------------------
    def _recover(self, now: datetime) -> int:
        stale = (OutboxMessage.state == "enviando") & (OutboxMessage.claimed_at < now - LEASE)
        with self.store.unit_of_work() as s:
            back = s.execute(
                update(OutboxMessage)
                .where(stale, OutboxMessage.handed_over_at.is_(None))
                .values(
                    state="pendiente",
                    next_attempt_at=now,
                    claimed_by=None,
                    last_error="Un envío anterior se interrumpió antes de entregar el mensaje al servidor.",
                )
            ).rowcount
            unsure = s.execute(
                update(OutboxMessage)
                .where(stale, OutboxMessage.handed_over_at.is_not(None))
                .values(
                    state="incierto",
                    last_error="El envío se interrumpió después de entregar el mensaje al servidor: pudo haber "
                    "llegado. Verifique con el destinatario antes de reenviarlo.",
                )
            ).rowcount
        return back + unsure

    def _due(self, now: datetime):
        return (
            select(OutboxMessage.id)
            .where(OutboxMessage.state == "pendiente", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(self.batch)
        )

    def _attachments_due(self, now: datetime) -> list[int]:
        """The documents attached to the next batch of due messages that have no bytes yet."""
        with self.store.read() as s:
            return list(
                s.scalars(
                    select(OutboxAttachment.document_id)
                    .distinct()
                    .join(Document, Document.id == OutboxAttachment.document_id)
                    .where(OutboxAttachment.message_id.in_(self._due(now).scalar_subquery()), rendering.PENDING)
                )
            )

    def _note_unrendered(self, now: datetime) -> None:
        """Due messages whose attachment could not be laid out say so on the outbox page; they stay pendiente."""
        with self.store.unit_of_work() as s:
            s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(self._due(now).scalar_subquery()), _ATTACHMENT_PENDING)
                .values(last_error=UNRENDERED)
            )

    def _claim(self, now: datetime) -> list[int]:
        with self.store.unit_of_work() as s:
            query = self._due(now).where(~_ATTACHMENT_PENDING)
            if not self.store.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            ids = list(s.scalars(query))
            if ids:
                s.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids))
                    .values(
                        state="enviando",
                        claimed_by=self.name,
                        claimed_at=now,
                        handed_over_at=None,
                        attempts=OutboxMessage.attempts + 1,
                    )
                )
        return ids

    def _mine(self, s: Session, outbox_id: int) -> OutboxMessage | None:
        message = s.get(OutboxMessage, outbox_id, with_for_update=True)
        if message is None or message.claimed_by != self.name or message.state not in ("enviando", "incierto"):
            return None
        return message

    def _hand_over(self, outbox_id: int) -> bool:
        with self.store.unit_of_work() as s:
            message = self._mine(s, outbox_id)
            if message is None or message.state != "enviando":
                return False
            message.handed_over_at = self.clock.now()
            return True

    def _finish(self, outbox_id: int, state: str, error: str | None, done: Delivery) -> None:
        with self.store.unit_of_work() as s:
            message = self._mine(s, outbox_id)
            if message is None or (message.state == "incierto" and state != "enviado"):
                return  # only the server's acceptance may settle an uncertain message
            now = self.clock.now()
            if state == "pendiente" and message.attempts >= MAX_ATTEMPTS:
                state, error = "fallido", f"{error} (tras {message.attempts} intentos)"
            message.state, message.last_error = state, error
            if state == "enviado":
                message.sent_at = now
                done.sent += 1
            elif state == "pendiente":
                message.next_attempt_at = now + min(FIRST_PAUSE * 2 ** (message.attempts - 1), LONGEST_PAUSE)
                message.claimed_by = None
                message.handed_over_at = None
                done.retried += 1
            elif state == "incierto":
                done.uncertain += 1
            else:
                done.failed += 1

    def _retry(self, outbox_id: int, error: str, done: Delivery) -> None:
        self._finish(outbox_id, "pendiente", error, done)

    # -- SMTP -------------------------------------------------------------------------------
    def _connect(self) -> smtplib.SMTP:
        cfg = self.settings
        if not cfg.configured:
            raise smtplib.SMTPException("no hay servidor SMTP configurado (ATIENDE_SMTP_HOST)")
        host = cfg.host
        assert host is not None  # configured: there is a host
        smtp: smtplib.SMTP
        if cfg.security == "tls":
            smtp = smtplib.SMTP_SSL(host, cfg.port, timeout=cfg.timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, cfg.port, timeout=cfg.timeout)
        try:
            smtp.ehlo()
            if cfg.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if cfg.user:
                smtp.login(cfg.user, cfg.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _deliver(self, smtp: smtplib.SMTP, outbox_id: int, done: Delivery) -> None:
        with self.store.read() as s:
            message = s.get(OutboxMessage, outbox_id)
            recipients, sender = list(message.recipients), message.sender
            payload = as_email(message).as_bytes()
        try:
            code, answer = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, answer, sender)
            refused = {}
            for address in recipients:
                code, answer = smtp.rcpt(address)
                if code not in (250, 251):
                    refused[address] = (code, answer)
            if len(refused) == len(recipients):
                smtp.rset()
                temporary = any(400 <= code < 500 for code, _ in refused.values())
                self._finish(outbox_id, "pendiente" if temporary else "fallido", _refusal(refused), done)
                return
        except smtplib.SMTPResponseException as exc:
            self._refused(smtp, outbox_id, exc, done)
            return
        except (OSError, smtplib.SMTPException) as exc:
            raise _Lost(f"Se perdió la conexión con el servidor de correo: {exc}") from exc
        if not self._hand_over(outbox_id):
            smtp.rset()
            return  # another worker took it over after our claim lapsed
        try:
            smtp.data(payload)
        except smtplib.SMTPResponseException as exc:  # the server answered: it did not take the message
            self._refused(smtp, outbox_id, exc, done)
            return
        except (OSError, smtplib.SMTPException) as exc:
            self._finish(
                outbox_id,
                "incierto",
                f"Se perdió la conexión mientras el servidor recibía el mensaje: "
                f"{exc}. Verifique con el destinatario antes de reenviarlo.",
                done,
            )
            raise _Lost(f"Se perdió la conexión con el servidor de correo: {exc}") from exc
        self._finish(outbox_id, "enviado", _refusal(refused) if refused else None, done)

    def _refused(self, smtp, outbox_id: int, exc: smtplib.SMTPResponseException, done: Delivery) -> None:
        reason = f"El servidor respondió {exc.smtp_code}: {_text(exc.smtp_error)}"
        self._finish(outbox_id, "pendiente" if 400 <= exc.smtp_code < 500 else "fallido", reason, done)
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException) as lost:
            raise _Lost(f"Se perdió la conexión con el servidor de correo: {lost}") from lost


def _text(answer) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def _refusal(refused: dict) -> str:
    return "Rechazados: " + "; ".join(
        f"{address} ({code} {_text(answer)})" for address, (code, answer) in refused.items()
    )


def mail_worker(worker: MailWorker, interval: float, stop: threading.Event) -> None:
    """Every ``interval`` seconds until ``stop`` is set: send due messages, then render documents still pending.

    The second part fills in documents no message is waiting for (the archive's hojas, an
    unsent consolidado), so a download seldom has to wait for one.
    """
    while not stop.is_set():
        try:
            done = worker.run_once()
            done.rendered += rendering.render_pending(worker.store, rendering.BATCH, worker.clock.now)
            if done.sent or done.retried or done.failed or done.uncertain or done.recovered or done.rendered:
                log.info("correo: %s", done)
        except Exception:  # noqa: BLE001 - the worker must outlive a bad pass
            log.exception("mail pass failed")
        stop.wait(interval)
