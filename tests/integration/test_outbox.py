"""The outbox and its worker against a real SMTP server on loopback (aiosmtpd).

What is promised (engine/mail/smtp.py): a message leaves at most once by itself; with the server
down it waits and goes out once it is back; a worker that stops after handing a message over
leaves it «incierto» for a person, never sends it again on its own. A message whose attachment
is not rendered yet waits until it is, and then carries it.
"""

from __future__ import annotations

import io
import threading
import time
from collections import Counter

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from engine.db.models import AuditEvent, Case, Document, OutboxMessage
from engine.errors import MailError
from engine.mail import outbox as mail
from engine.mail import smtp as sending
from engine.paperwork import documents, rendering
from engine.paperwork.effects import store_document
from engine.settings import MailSettings
from tests.fixtures import paperwork as pw
from tests.fixtures.smtp import Inbox, SmtpServer
from tests.unit.test_paperwork_units import hoja

SENDER = MailSettings().sender


@pytest.fixture
def smtp():
    server = SmtpServer(Inbox())
    server.start()
    yield server
    server.stop()


def settings(server: SmtpServer) -> MailSettings:
    return MailSettings(host="127.0.0.1", port=server.port, security="none", timeout=5)


def write(
    store,
    clock,
    n: int = 1,
    to=("elena@planificacion.example",),
    attach: bytes | None = None,
    to_render: documents.HojaDeTramite | None = None,
) -> list[int]:
    """Put ``n`` messages in the outbox, as a step would: with a PDF received whole, or one still to render."""
    with store.unit_of_work() as s:
        attached = []
        if attach is not None or to_render is not None:
            attached.append(
                store_document(
                    s,
                    kind="hoja_de_tramite",
                    filename="hoja_de_tramite_AC-2026-000001.pdf",
                    content_type="application/pdf",
                    content=attach,
                    snapshot=rendering.snapshot(to_render) if to_render is not None else None,
                    actor="sistema",
                    now=clock.now(),
                )
            )
        rows = [
            mail.enqueue(
                s,
                kind="remision_hoja",
                to=list(to),
                subject=f"Hoja de trámite AC-2026-{i:06d} – ñandú",
                body=f"Señor(a) enlace: le remitimos el caso número {i}.",
                now=clock.now(),
                sender=SENDER,
                attachments=attached,
            )
            for i in range(n)
        ]
        s.flush()
        return [row.id for row in rows]


def states(store) -> list[str]:
    with store.read() as s:
        return list(s.scalars(select(OutboxMessage.state).order_by(OutboxMessage.id)))


def row(store, outbox_id: int) -> OutboxMessage:
    with store.read() as s:
        return s.get(OutboxMessage, outbox_id)


def test_a_message_id_is_26_random_letters_and_digits_at_the_sender_s_domain(store, frozen_clock):
    first, second = (row(store, outbox_id).message_id for outbox_id in write(store, frozen_clock, n=2))
    domain = SENDER.rsplit("@", 1)[-1]
    for message_id in (first, second):
        token, at = message_id.removeprefix("<").removesuffix(">").split("@")
        assert at == domain and len(token) == 26 and set(token) <= set("abcdefghijklmnopqrstuvwxyz234567")
    assert first != second


class Crash(BaseException):
    """A worker process dying at a chosen point (not an Exception: nothing may catch it)."""


def test_the_worker_delivers_the_message_with_its_pdf_attached(store, frozen_clock, smtp):
    pdf = b"%PDF-1.7\n% hoja de prueba\n%%EOF\n"
    [outbox_id] = write(store, frozen_clock, attach=pdf)
    done = sending.MailWorker(store, settings(smtp), frozen_clock).run_once()

    assert done.sent == 1 and states(store) == ["enviado"]
    [received] = smtp.inbox.messages()
    sent = row(store, outbox_id)
    assert received["Message-ID"] == sent.message_id
    assert received["To"] == "elena@planificacion.example"
    assert received["Subject"] == "Hoja de trámite AC-2026-000000 – ñandú"
    assert "le remitimos el caso número 0" in received.get_body(("plain",)).get_content()
    [attachment] = list(received.iter_attachments())
    assert attachment.get_filename() == "hoja_de_tramite_AC-2026-000001.pdf"
    assert attachment.get_content_type() == "application/pdf" and attachment.get_content() == pdf
    assert sent.sent_at == frozen_clock.now() and sent.attempts == 1


def test_a_message_waits_for_its_attachment_to_be_rendered_then_carries_it(store, frozen_clock, smtp, monkeypatch):
    [waiting] = write(store, frozen_clock, to_render=hoja())
    [plain] = write(store, frozen_clock)  # nothing attached: not held back by the other

    def broken(kind, taken):
        raise RuntimeError("WeasyPrint no pudo")

    monkeypatch.setattr(rendering, "render", broken)
    worker = sending.MailWorker(store, settings(smtp), frozen_clock)
    done = worker.run_once()
    assert (done.rendered, done.sent) == (0, 1)
    assert (row(store, waiting).state, row(store, waiting).attempts) == ("pendiente", 0)  # never claimed
    assert row(store, waiting).last_error == sending.UNRENDERED  # the outbox page says why it waits
    assert row(store, plain).last_error is None
    assert [m["Message-ID"] for m in smtp.inbox.messages()] == [row(store, plain).message_id]

    monkeypatch.undo()
    done = worker.run_once()
    assert (done.rendered, done.sent) == (1, 1) and states(store) == ["enviado", "enviado"]
    assert row(store, waiting).last_error is None
    [attachment] = list(smtp.inbox.messages()[1].iter_attachments())
    with store.read() as s:
        rendered = s.scalar(select(Document.content))
    assert attachment.get_content() == rendered
    assert "AC-2026-000042" in PdfReader(io.BytesIO(rendered)).pages[0].extract_text()


def test_the_worker_loop_renders_documents_no_message_waits_for(store, frozen_clock):
    with store.unit_of_work() as s:
        document_id = store_document(
            s,
            kind="hoja_de_tramite",
            filename="hoja_de_tramite_AC-2026-000042.pdf",
            content_type="application/pdf",
            snapshot=rendering.snapshot(hoja()),
            actor="sistema",
            now=frozen_clock.now(),
        ).id
    stop = threading.Event()
    loop = threading.Thread(
        target=sending.mail_worker, args=(sending.MailWorker(store, MailSettings(), frozen_clock), 0.05, stop)
    )
    loop.start()
    deadline = time.monotonic() + 60
    try:
        while sha256_of(store, document_id) is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join(timeout=60)
    with store.read() as s:
        assert s.get(Document, document_id).content.startswith(b"%PDF")


def sha256_of(store, document_id: int) -> str | None:
    with store.read() as s:
        return s.scalar(select(Document.sha256).where(Document.id == document_id))


def test_with_smtp_down_the_message_waits_and_goes_out_once_when_it_is_back(store, frozen_clock, smtp):
    [outbox_id] = write(store, frozen_clock)
    smtp.stop()
    worker = sending.MailWorker(store, settings(smtp), frozen_clock)

    assert worker.run_once().retried == 1
    waiting = row(store, outbox_id)
    assert waiting.state == "pendiente" and waiting.attempts == 1
    assert "No se pudo conectar" in waiting.last_error
    assert waiting.next_attempt_at == frozen_clock.now() + sending.FIRST_PAUSE

    frozen_clock.advance(seconds=30)
    assert worker.run_once().retried == 0  # not due yet: the pause is respected
    frozen_clock.advance(seconds=31)
    worker.run_once()
    assert row(store, outbox_id).next_attempt_at == frozen_clock.now() + 2 * sending.FIRST_PAUSE  # longer each time

    smtp.start()
    frozen_clock.advance(minutes=2)
    assert worker.run_once().sent == 1
    for _ in range(3):
        frozen_clock.advance(hours=1)
        worker.run_once()
    assert len(smtp.inbox.received) == 1 and states(store) == ["enviado"]


def test_two_workers_at_once_send_each_message_exactly_once(store, frozen_clock, smtp):
    ids = write(store, frozen_clock, n=40)
    workers = [sending.MailWorker(store, settings(smtp), frozen_clock, name=f"w{i}", batch=5) for i in range(2)]
    barrier = threading.Barrier(2)
    errors = []

    def run(worker):
        try:
            barrier.wait()
            while worker.run_once().sent:
                pass
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert states(store) == ["enviado"] * len(ids)
    counts = Counter(m["Message-ID"] for m in smtp.inbox.messages())
    assert len(counts) == len(ids) and set(counts.values()) == {1}


def test_a_worker_stopping_after_handing_over_leaves_it_uncertain_and_never_resends_it(
    store, frozen_clock, smtp, monkeypatch
):
    [outbox_id] = write(store, frozen_clock)
    finish = sending.MailWorker._finish

    def crash_when_sent(self, outbox_id, state, error, done):
        if state == "enviado":
            raise Crash("el proceso murió entre la aceptación del servidor y el registro")
        return finish(self, outbox_id, state, error, done)

    monkeypatch.setattr(sending.MailWorker, "_finish", crash_when_sent)
    with pytest.raises(Crash):
        sending.MailWorker(store, settings(smtp), frozen_clock).run_once()
    monkeypatch.undo()
    assert len(smtp.inbox.received) == 1 and states(store) == ["enviando"]

    survivor = sending.MailWorker(store, settings(smtp), frozen_clock)
    survivor.run_once()
    assert states(store) == ["enviando"]  # the claim is young: its worker may still be at it
    frozen_clock.advance(minutes=16)
    assert survivor.run_once().recovered == 1
    assert states(store) == ["incierto"] and "pudo haber llegado" in row(store, outbox_id).last_error
    for _ in range(3):
        frozen_clock.advance(hours=2)
        survivor.run_once()
    assert len(smtp.inbox.received) == 1  # never twice by itself

    mail.resend(store, outbox_id, "coordinador", frozen_clock.now())
    survivor.run_once()
    assert states(store) == ["enviado"]
    first, second = smtp.inbox.messages()
    assert first["Message-ID"] == second["Message-ID"]  # a person chose to resend: the same message
    with store.read() as s:
        assert s.scalar(select(AuditEvent.actor).where(AuditEvent.kind == "correo_reenviado")) == "coordinador"


def test_a_worker_stopping_before_handing_over_is_retried_and_sent_once(store, frozen_clock, smtp, monkeypatch):
    write(store, frozen_clock)

    def crash(self, outbox_id):
        raise Crash("el proceso murió antes de entregar el mensaje")

    monkeypatch.setattr(sending.MailWorker, "_hand_over", crash)
    with pytest.raises(Crash):
        sending.MailWorker(store, settings(smtp), frozen_clock).run_once()
    monkeypatch.undo()
    assert smtp.inbox.received == [] and states(store) == ["enviando"]

    frozen_clock.advance(minutes=16)
    worker = sending.MailWorker(store, settings(smtp), frozen_clock)
    done = worker.run_once()
    assert (done.recovered, done.sent) == (1, 1)
    frozen_clock.advance(hours=1)
    worker.run_once()
    assert len(smtp.inbox.received) == 1 and states(store) == ["enviado"]


def test_a_permanent_refusal_fails_a_temporary_one_retries_and_a_partial_one_is_noted(store, frozen_clock, smtp):
    gone, busy, partial = (
        write(store, frozen_clock, to=to)[0]
        for to in (
            ["rechazado@planificacion.example"],
            ["ocupado@planificacion.example"],
            ["elena@planificacion.example", "rechazado@planificacion.example"],
        )
    )
    sending.MailWorker(store, settings(smtp), frozen_clock).run_once()

    assert row(store, gone).state == "fallido" and "550" in row(store, gone).last_error
    assert row(store, busy).state == "pendiente" and "451" in row(store, busy).last_error
    assert row(store, partial).state == "enviado"
    assert "rechazado@planificacion.example" in row(store, partial).last_error
    [(_, recipients, _)] = smtp.inbox.received
    assert recipients == ["elena@planificacion.example"]


def test_without_recipients_or_without_a_server_nothing_is_lost(store, frozen_clock):
    [nobody] = write(store, frozen_clock, to=())
    [waiting] = write(store, frozen_clock)
    assert row(store, nobody).state == "fallido" and row(store, nobody).last_error.startswith("Sin destinatario")
    done = sending.MailWorker(store, MailSettings(), frozen_clock).run_once()  # the demo: no SMTP configured
    assert done.sent == 0 and row(store, waiting).state == "pendiente"
    assert "no hay servidor SMTP configurado" in row(store, waiting).last_error
    with pytest.raises(MailError):
        mail.resend(store, nobody, "coordinador", frozen_clock.now())  # nobody to send it to


def test_a_header_cannot_be_injected(store, frozen_clock):
    with store.unit_of_work() as s:
        refused = mail.enqueue(
            s,
            kind="x",
            to=["a@b.example\r\nBcc: todos@b.example"],
            subject="s",
            body="b",
            now=frozen_clock.now(),
            sender=SENDER,
        )
    assert refused.recipients == [] and refused.state == "fallido"
    assert "La dirección de correo no es válida" in refused.last_error
    with store.unit_of_work() as s:
        message = mail.enqueue(
            s,
            kind="x",
            to=["a@b.example"],
            subject="uno\r\nBcc: todos@b.example",
            body="b",
            now=frozen_clock.now(),
            sender=SENDER,
        )
    assert "\n" not in message.subject


def test_a_wrong_address_is_left_out_and_the_outbox_says_why(store, frozen_clock):
    [both] = write(store, frozen_clock, to=("elena@planificacion.example", "a@b.comBcc: x@evil.example"))
    [none] = write(store, frozen_clock, to=("a@b",))
    assert row(store, both).recipients == ["elena@planificacion.example"] and row(store, both).state == "pendiente"
    assert "«a@b.comBcc: x@evil.example»" in row(store, both).last_error
    assert row(store, none).recipients == [] and row(store, none).state == "fallido"
    assert row(store, none).last_error.startswith("Sin destinatario válido")
    assert "La dirección de correo no es válida" in row(store, none).last_error


def test_a_case_whose_stored_address_is_wrong_still_gets_its_final_answer(office, store):
    """Old data (kept before addresses were checked) must not block a step: the mail fails, the case goes on.

    The fixture's start form has no e-mail format, so the address is stored as it was typed.
    """
    case_id = office.start(ciudadano_email="maria@example.com\r\nBcc: x@evil.example")
    office.remit(case_id)
    office.do(case_id, "acuse", pw.ACUSE, pw.ENLACE)
    with store.read() as s:
        assert "\r\n" in s.get(Case, case_id).citizen_email

    office.do(case_id, "respuesta", {"respuesta_final": "Resuelto."}, pw.OPERADOR)

    assert office.task(case_id, "respuesta") is None  # the step was done
    answer = office.rows(OutboxMessage)[-1]
    assert answer.kind == "respuesta_ciudadano" and answer.state == "fallido" and answer.recipients == []
    assert "La dirección de correo no es válida" in answer.last_error
