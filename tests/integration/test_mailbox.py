"""The institutional mailbox, read from a real Dovecot on loopback: each message taken exactly once."""

from __future__ import annotations

import imaplib
import threading
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine.audit import trail as audit
from engine.cases import attachments
from engine.db.models import Attachment, AuditEvent, Case, InboundMail, IntakeItem, OutboxMessage
from engine.errors import IntakeError, MailboxError
from engine.intake import emails, items, mailbox
from engine.settings import ImapSettings
from tests.fixtures import dovecot
from tests.fixtures.desk import OPERADOR

pytestmark = pytest.mark.skipif(not dovecot.available(), reason=dovecot.MISSING)


@pytest.fixture(scope="module")
def dovecot_server():
    server = dovecot.start()
    yield server
    server.stop()


@pytest.fixture
def imap_server(dovecot_server):
    """A fresh mailbox of the shared server for each test."""
    return dovecot_server.mailbox()


@pytest.fixture
def settings(imap_server):
    return ImapSettings(
        host="127.0.0.1", port=imap_server.port, tls="none", user=imap_server.user, password=imap_server.password
    )


def mail(
    subject="Basura sin recoger en Bella Vista",
    body="El camión no pasa desde hace dos semanas.",
    sender="Rosa Batista <rosa.batista@example.com>",
    message_id="<m1@example.com>",
    **headers,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "atencionciudadana@municipio-pma.gob.pa"
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return bytes(msg)


def count(store, model, *where) -> int:
    with store.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def outbox(store, kind=None) -> list[OutboxMessage]:
    with store.read() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        return list(s.scalars(query.where(OutboxMessage.kind == kind) if kind else query))


def file_bytes(store, attachment_id) -> bytes:
    with store.read() as s:
        return attachments.content(s, attachments.get(s, attachment_id))


def only_item(store) -> IntakeItem:
    with store.read() as s:
        [item] = s.scalars(select(IntakeItem))
        return item


def test_new_message_becomes_an_intake_item_acknowledged_and_flagged(atiende, imap_server, settings):
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = "Rosa Batista <rosa.batista@example.com>", "Acera rota", "<a1@x>"
    msg.set_content("<p>La acera frente a la escuela <b>está rota</b>.</p><script>alert(1)</script>", subtype="html")
    msg.add_attachment(b"\xff\xd8\xff\xe0 foto", maintype="image", subtype="jpeg", filename="acera.jpg")
    msg.add_attachment(b"MZ\x90\x00", maintype="application", subtype="octet-stream", filename="programa.exe")
    imap_server.append(bytes(msg))

    assert mailbox.poll(atiende, settings) == mailbox.PollResult(read=1, new_items=1)

    item = only_item(atiende.store)
    assert (item.sender_email, item.sender_name, item.subject, item.status) == (
        "rosa.batista@example.com",
        "Rosa Batista",
        "Acera rota",
        "pendiente",
    )
    assert item.body == "La acera frente a la escuela está rota."
    [stored, refused] = item.attachments
    assert (stored["nombre"], stored["tipo"]) == ("acera.jpg", "image/jpeg")
    assert file_bytes(atiende.store, stored["id"]) == b"\xff\xd8\xff\xe0 foto"
    assert refused["nombre"] == "programa.exe" and "no es un tipo de archivo aceptado" in refused["motivo"]
    [ack] = outbox(atiende.store, "acuse_recepcion")
    assert ack.recipients == ["rosa.batista@example.com"] and "Acera rota" in ack.body and ack.state == "pendiente"
    assert "$AtiendeRecibido" in imap_server.flags()[0]
    assert mailbox.poll(atiende, settings) == mailbox.PollResult()  # nothing new the second time


def test_a_crash_between_commit_and_flag_does_not_take_the_message_twice(atiende, imap_server, settings, monkeypatch):
    imap_server.append(mail())
    real_uid = imaplib.IMAP4.uid

    def crash_on_store(self, command, *args):
        if command == "STORE":
            raise KeyboardInterrupt("the worker was killed")
        return real_uid(self, command, *args)

    monkeypatch.setattr(imaplib.IMAP4, "uid", crash_on_store)
    with pytest.raises(KeyboardInterrupt):
        mailbox.poll(atiende, settings)
    assert "$AtiendeRecibido" not in imap_server.flags()[0]  # committed, not flagged
    monkeypatch.setattr(imaplib.IMAP4, "uid", real_uid)

    assert mailbox.poll(atiende, settings) == mailbox.PollResult(read=1, repeated=1)
    assert count(atiende.store, IntakeItem) == 1
    assert len(outbox(atiende.store, "acuse_recepcion")) == 1  # the citizen is not answered twice
    assert "$AtiendeRecibido" in imap_server.flags()[0]


def test_a_crash_before_commit_leaves_the_message_for_the_next_poll(atiende, imap_server, settings, monkeypatch):
    imap_server.append(mail())
    monkeypatch.setattr(items.notify, "queue", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("killed")))
    assert mailbox.poll(atiende, settings) == mailbox.PollResult(read=1, failed=1)
    assert count(atiende.store, InboundMail) == 0 and count(atiende.store, IntakeItem) == 0
    monkeypatch.undo()
    assert mailbox.poll(atiende, settings).new_items == 1


def test_the_same_message_id_twice_in_the_mailbox_is_taken_once(atiende, imap_server, settings):
    imap_server.append(mail(message_id="<same@example.com>"))
    imap_server.append(mail(message_id="<same@example.com>", subject="copia"))
    assert mailbox.poll(atiende, settings) == mailbox.PollResult(read=2, new_items=1, repeated=1)
    assert count(atiende.store, IntakeItem) == 1


def test_a_message_without_message_id_is_still_taken_once(atiende, imap_server, settings):
    raw = mail(message_id=None)
    imap_server.append(raw)
    assert mailbox.poll(atiende, settings).new_items == 1
    assert items.take_mail(atiende, emails.parse(raw)).outcome == "repetido"


def test_automatic_replies_are_taken_but_not_answered(atiende, imap_server, settings):
    imap_server.append(mail(Auto_Submitted="auto-replied", subject="Fuera de la oficina"))
    assert mailbox.poll(atiende, settings).new_items == 1
    assert outbox(atiende.store) == []
    assert items.start_form_values(only_item(atiende.store))["respuesta_inmediata_enviada"] is False


def _converted_case(atiende) -> Case:
    item = only_item(atiende.store)
    values = {
        **items.start_form_values(item),
        "tipo_caso": "queja_reclamo",
        "lugar_notificaciones": "rosa.batista@example.com",
        "corregimiento": "bella_vista",
    }
    started = items.convert(atiende, item.id, values, OPERADOR, status_url="https://atiende.example/consulta")
    with atiende.store.read() as s:
        return s.get(Case, started.case_id)


def test_the_operator_turns_an_item_into_a_case_and_the_citizen_gets_the_ticket(atiende, imap_server, settings):
    imap_server.append(mail())
    mailbox.poll(atiende, settings)
    case = _converted_case(atiende)

    assert (case.channel, case.citizen_email, case.subject, case.created_by) == (
        "correo_electronico",
        "rosa.batista@example.com",
        "Basura sin recoger en Bella Vista",
        "operador",
    )
    assert case.data["descripcion"] == "El camión no pasa desde hace dos semanas."
    item = only_item(atiende.store)
    assert (item.status, item.case_id, item.handled_by) == ("convertido", case.id, "operador")
    [ticket_mail] = outbox(atiende.store, "ticket_ciudadano")
    assert ticket_mail.recipients == ["rosa.batista@example.com"] and case.ticket in ticket_mail.subject
    assert "https://atiende.example/consulta" in ticket_mail.body
    with atiende.store.read() as s:
        assert [e.kind for e in audit.case_history(s, case.id)][-1] == "entrada_convertida"


def test_an_item_is_converted_once(atiende, imap_server, settings):
    imap_server.append(mail())
    mailbox.poll(atiende, settings)
    case = _converted_case(atiende)
    with pytest.raises(IntakeError, match="ya fue convertido en caso por operador"):
        _converted_case(atiende)
    assert count(atiende.store, Case) == 1
    with atiende.store.read() as s:
        assert s.scalar(select(func.max(Case.ticket))) == case.ticket  # the failed attempt used no number


def test_a_reply_with_the_ticket_joins_its_case(atiende, imap_server, settings):
    imap_server.append(mail())
    mailbox.poll(atiende, settings)
    case = _converted_case(atiende)

    reply = EmailMessage()
    reply["From"], reply["Message-ID"] = "rosa.batista@example.com", "<reply1@example.com>"
    reply["Subject"] = f"RE: Su caso fue registrado con el ticket {case.ticket}"
    reply.set_content("Adjunto una foto del lugar.")
    reply.add_attachment(b"\x89PNG\r\n\x1a\nfoto", maintype="image", subtype="png", filename="lugar.png")
    imap_server.append(bytes(reply))

    assert mailbox.poll(atiende, settings) == mailbox.PollResult(read=1, joined=1)
    assert count(atiende.store, IntakeItem) == 1  # no new intake item
    with atiende.store.read() as s:
        [joined] = [e for e in audit.case_history(s, case.id) if e.kind == "correo_recibido"]
    assert joined.detail["cuerpo"] == "Adjunto una foto del lugar."
    [photo] = joined.detail["adjuntos"]
    assert file_bytes(atiende.store, photo["id"]) == b"\x89PNG\r\n\x1a\nfoto"
    with atiende.store.read() as s:
        assert list(s.scalars(select(Attachment.id).where(Attachment.case_id == case.id))) == [photo["id"]]
    [ack] = outbox(atiende.store, "acuse_respuesta")
    assert case.ticket in ack.subject and ack.case_id == case.id


def test_a_ticket_from_another_address_does_not_join_the_case(atiende, imap_server, settings):
    imap_server.append(mail())
    mailbox.poll(atiende, settings)
    case = _converted_case(atiende)
    imap_server.append(
        mail(
            sender="otro@example.com",
            message_id="<x2@example.com>",
            subject=f"Sobre {case.ticket}: quiero cerrar este caso",
        )
    )
    assert mailbox.poll(atiende, settings).new_items == 1
    with atiende.store.read() as s:
        newest = s.scalars(select(IntakeItem).order_by(IntakeItem.id.desc())).first()
        assert not [e for e in audit.case_history(s, case.id) if e.kind == "correo_recibido"]
    assert (newest.status, newest.ticket_mentioned) == ("pendiente", case.ticket)


def test_discarding_needs_a_reason_and_is_audited(atiende, imap_server, settings):
    imap_server.append(mail(subject="Oferta de préstamos"))
    mailbox.poll(atiende, settings)
    item = only_item(atiende.store)
    with pytest.raises(IntakeError, match="motivo"):
        items.discard(atiende.store, item.id, "  ", OPERADOR, atiende.now())
    items.discard(atiende.store, item.id, "Correo no deseado", OPERADOR, atiende.now())
    item = only_item(atiende.store)
    assert (item.status, item.discard_reason) == ("descartado", "Correo no deseado")
    with atiende.store.read() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.kind == "entrada_descartada")) == 1
    with pytest.raises(IntakeError, match="ya fue descartado"):
        items.discard(atiende.store, item.id, "otra vez", OPERADOR, atiende.now())


def test_wrong_password_is_a_clear_error(atiende, imap_server):
    bad = ImapSettings(host="127.0.0.1", port=imap_server.port, tls="none", user=imap_server.user, password="mala")
    with pytest.raises(MailboxError, match="no se pudo entrar al buzón"):
        mailbox.poll(atiende, bad)


def test_two_workers_taking_the_same_message_at_once_make_one_item(atiende):
    parsed = emails.parse(mail(message_id="<race@example.com>"))
    barrier = threading.Barrier(4)

    def take():
        barrier.wait(timeout=10)
        return items.take_mail(atiende, parsed).outcome

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(lambda _: take(), range(4)))
    assert outcomes == ["entrada", "repetido", "repetido", "repetido"]
    assert count(atiende.store, IntakeItem) == 1 and len(outbox(atiende.store, "acuse_recepcion")) == 1


def test_a_worker_that_loses_the_race_at_insert_reports_repeated_and_a_real_fault_still_raises(atiende, monkeypatch):
    parsed = emails.parse(mail(message_id="<late@example.com>"))
    assert items.take_mail(atiende, parsed).outcome == "entrada"
    real_taken, checks = items._taken, []

    def checked_before_the_other_worker_committed(session, key):
        checks.append(key)
        return False if len(checks) == 1 else real_taken(session, key)

    monkeypatch.setattr(items, "_taken", checked_before_the_other_worker_committed)
    assert items.take_mail(atiende, parsed).outcome == "repetido"  # the insert met the key
    assert len(checks) == 2
    other = emails.parse(mail(message_id="<fault@example.com>"))
    monkeypatch.setattr(items, "_taken", real_taken)
    monkeypatch.setattr(
        items,
        "_new_item",
        lambda *a: (_ for _ in ()).throw(IntegrityError("INSERT", {}, Exception("another constraint"))),
    )
    with pytest.raises(IntegrityError):
        items.take_mail(atiende, other)  # not mistaken for a repeat, so never flagged
