"""The audit events' details, the documents' facts and the mail's bodies are stored packed
(``engine.db.packing``): they read back as written, take a fraction of their text, and migration
0029 converts what was stored before it and back."""

from __future__ import annotations

import json

import pytest
import zstandard
from sqlalchemy import select, text

from engine.audit import chain as audit_chain
from engine.db import packing
from engine.db.models import AuditEvent, Document, OutboxMessage
from engine.db.store import Store, json_text
from tests.conftest import START
from tests.integration.test_audit_chain import assert_append_only, tamper, verdict
from tests.integration.test_migrations import migrate_to

DETAIL = {
    "tarea": "Task_seguimiento_semanal",
    "nombre": "Informar seguimiento semanal",
    "datos": {"avance_semanal": "Inspección programada en Bella Vista.", "estado_gestion": "en_tramite"},
    "antes": {},
    "proceso": "tramitacion_comun",
    "creada": "2026-03-09T15:00:00+00:00",
}
BODY = (
    "Estimado(a) María Pérez:\n\nEn atención a su caso con número de ticket AC-2026-000004, presentado ante la "
    "Dirección de Atención al Ciudadano de la Alcaldía de Panamá, le informamos:\n\nSe restableció la "
    "recolección los lunes y jueves.\n\nCon esta respuesta su caso queda atendido. Si necesita escribirnos "
    "sobre él, responda a este mensaje conservando el número de ticket AC-2026-000004 en el asunto, o llame "
    "a la Línea 311.\n\nAtentamente,\nDirección de Atención al Ciudadano\nAlcaldía de Panamá · Línea 311\n"
)
SNAPSHOT = {"ticket": "AC-2026-000004", "asunto": "Recolección", "enlaces": [{"nombre": "Elena", "correo": ""}]}
RECORD = {
    "canal": "correo_electronico",
    "tipo_caso": "queja_reclamo",
    "ciudadano_nombre": "María Pérez",
    "ciudadano_cedula": "8-123-4567",
    "ciudadano_telefono": "6123-4567",
    "ciudadano_email": "maria.perez@example.com",
    "lugar_notificaciones": "maria.perez@example.com",
    "corregimiento": "bella_vista",
    "asunto": "Basura sin recoger",
    "descripcion": "Hace dos semanas no pasa el camión recolector por la calle 50.",
    "respuesta_inmediata_enviada": False,
    "ticket": "AC-2026-000004",
    "fecha_inicio": "2026-03-02T09:00:00-05:00",
    "fecha_limite": "2026-04-01T09:00:00-05:00",
    "direccion": "coordinacion_corregidores",
    "resumen": "Basura sin recoger en la calle 50.",
    "prioridad": "normal",
    "decision_hoja": "aprobar",
    "estado_caso": "en seguimiento",
}


def plain_frame(value: str) -> int:
    """What a Zstandard frame of ``value`` alone takes, at the same level, without a dictionary."""
    return len(zstandard.ZstdCompressor(level=packing.LEVEL).compress(value.encode()))


@pytest.mark.parametrize(
    ("column", "value", "as_json", "at_most"),
    [("audit_detail", DETAIL, True, 0.5), ("outbox_body", BODY, False, 0.4), ("case_data", RECORD, True, 0.5)],
)
def test_a_value_reads_back_equal_and_its_dictionary_saves_more_than_a_frame_alone(column, value, as_json, at_most):
    packed_type = packing.Packed(column, as_json=as_json)
    stored = packed_type.process_bind_param(value, None)
    assert stored[0] == packing.newest(column)
    assert packed_type.process_result_value(stored, None) == value
    plain = json_text(value) if as_json else value
    assert len(stored) <= at_most * len(plain.encode())
    assert len(stored) < plain_frame(plain)


def test_text_utf8_cannot_encode_and_an_empty_body_read_back():
    body = packing.Packed("outbox_body", as_json=False)
    for value in ("Queja \udce9", ""):
        assert body.process_result_value(body.process_bind_param(value, None), None) == value
    detail = packing.Packed("audit_detail")
    assert detail.process_result_value(detail.process_bind_param({"asunto": "Queja \udce9"}, None), None) == {
        "asunto": "Queja \udce9"
    }


def test_the_released_dictionaries_are_numbered_from_one_without_a_gap():
    """A value names its dictionary's version; every version in the folder is one a value can name."""
    for column in ("audit_detail", "document_snapshot", "outbox_body", "case_data"):
        versions = sorted(int(p.stem.rsplit(".", 1)[1]) for p in packing.FOLDER.glob(f"{column}.*.txt"))
        assert versions == list(range(1, len(versions) + 1)) and packing.newest(column) == versions[-1]


def test_the_engine_stores_them_packed_and_reads_them_whole(office, store):
    office.remit(office.start())
    with store.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == "tarea_completada")).first()
        document = s.scalars(select(Document).where(Document.snapshot.is_not(None))).first()
        message = s.scalars(select(OutboxMessage)).first()
        assert event is not None and document is not None and message is not None
        read = (event.detail, document.snapshot, message.body)
    with store.engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT (SELECT detail FROM audit_event WHERE id = :e), (SELECT snapshot FROM document WHERE id = :d), "
                "(SELECT body FROM outbox_message WHERE id = :m)"
            ),
            {"e": event.id, "d": document.id, "m": message.id},
        ).one()
    for value, raw, as_json in zip(read, stored, (True, True, False), strict=True):
        raw = bytes(raw)
        plain = json_text(value) if as_json else value
        assert raw[0] == 1 and len(raw) < len(plain.encode())
    assert read[0]["datos"] and "Dirección" in read[2]
    assert verdict(store).intact


@pytest.mark.parametrize("written", ['{"nota": "otra"}', '\n  {"nota": "otra"}\n'], ids=["compact", "indented"])
def test_a_detail_an_intruder_writes_as_json_text_reads_and_the_chain_names_it(office, store, written):
    office.remit(office.start())
    with store.read() as s:
        victim = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()[1]
    tamper(store, "UPDATE audit_event SET detail = :d WHERE id = :id", d=written.encode(), id=victim.id)
    with store.read() as s:
        assert s.get(AuditEvent, victim.id).detail == {"nota": "otra"}
    result = verdict(store)
    assert result.broken_id == victim.id and "modificado" in result.reason


@pytest.mark.parametrize(
    "forged",
    [
        b"\x07" + b"sin diccionario",
        b"\x01" + b"no es un marco",
        # a frame whose header claims a terabyte: reading it must not try to make room for it
        b"\x01\xe0" + (2**40).to_bytes(8, "little") + ((1 << 3) | (1 << 1) | 1).to_bytes(3, "little") + b"a",
        b"\xff\xfe binario",
        b"no es JSON",
    ],
    ids=["unknown-dictionary", "damaged-frame", "claims-a-terabyte", "not-text", "not-json"],
)
def test_a_detail_an_intruder_forges_in_any_form_reads_and_the_chain_names_it(office, store, forged):
    office.remit(office.start())
    with store.read() as s:
        victim = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()[1]
    tamper(store, "UPDATE audit_event SET detail = :d WHERE id = :id", d=forged, id=victim.id)
    with store.read() as s:
        assert s.get(AuditEvent, victim.id).detail == {packing.UNREADABLE: forged.hex()}
    result = verdict(store)
    assert result.broken_id == victim.id and "modificado" in result.reason


def _stored(url: str) -> tuple:
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            return conn.execute(
                text(
                    "SELECT (SELECT detail FROM audit_event), (SELECT snapshot FROM document WHERE id = 1), "
                    "(SELECT body FROM outbox_message)"
                )
            ).one()
    finally:
        store.dispose()


def test_migration_0029_packs_what_was_stored_keeps_the_chain_and_its_downgrade_restores_it(bare_url):
    migrate_to(bare_url, "0028")
    store = Store(bare_url)
    postgresql = not store.is_sqlite
    at = START.replace(tzinfo=None)
    digest = audit_chain.digest(audit_chain.GENESIS, START, "ana", "tarea_completada", None, None, DETAIL)
    with store.engine.begin() as conn:
        json_value = "CAST(:v AS jsonb)" if postgresql else ":v"
        conn.execute(
            text(
                "INSERT INTO audit_event (at, actor, kind, detail, prev_hash, hash) "
                f"VALUES (:at, 'ana', 'tarea_completada', {json_value}, :p, :h)"
            ),
            {"at": at, "v": json.dumps(DETAIL), "p": bytes.fromhex(audit_chain.GENESIS), "h": bytes.fromhex(digest)},
        )
        conn.execute(
            text(
                "INSERT INTO document (kind, filename, content_type, created_at, created_by, snapshot) "
                f"VALUES ('hoja_de_tramite', 'hoja.pdf', 'application/pdf', :at, 'ana', {json_value})"
            ),
            {"at": at, "v": json.dumps(SNAPSHOT)},
        )
        conn.execute(
            text(
                "INSERT INTO outbox_message (message_id, kind, sender, recipients, subject, body, state, attempts, "
                f"created_at) VALUES ('<1@x>', 'respuesta_ciudadano', 'a@x', {json_value}, 'Asunto', :b, "
                "'pendiente', 0, :at)"
            ),
            {"at": at, "v": "[]", "b": BODY},
        )
    store.dispose()

    store = Store(bare_url)
    store.migrate()
    with store.read() as s:
        assert s.scalars(select(AuditEvent.detail)).one() == DETAIL
        assert s.scalars(select(Document.snapshot)).one() == SNAPSHOT
        assert s.scalars(select(OutboxMessage.body)).one() == BODY
    detail, snapshot, body = (bytes(v) for v in _stored(bare_url))
    assert detail[0] == snapshot[0] == body[0] == 1
    assert len(detail) < len(json_text(DETAIL)) / 2 and len(body) < len(BODY) / 2
    assert verdict(store).intact and verdict(store).head == digest
    assert_append_only(store)
    with store.unit_of_work() as s:  # text no column before 0029 could hold: a lone surrogate
        s.add(
            Document(
                kind="hoja_de_tramite",
                filename="otra.pdf",
                content_type="application/pdf",
                created_at=START,
                created_by="ana",
                snapshot={"asunto": "Queja \udce9"},
            )
        )
    store.dispose()

    migrate_to(bare_url, "0028", down=True)
    downgraded = Store(bare_url)
    with downgraded.engine.connect() as conn:
        forged = conn.execute(text("SELECT snapshot FROM document WHERE filename = 'otra.pdf'")).scalar()
    downgraded.dispose()
    assert (forged if postgresql else json.loads(forged)) == {"asunto": "Queja ?"}
    detail, snapshot, body = _stored(bare_url)
    as_json = (lambda v: v) if postgresql else json.loads  # jsonb comes parsed, SQLite's JSON as its text
    assert (as_json(detail), as_json(snapshot), body) == (DETAIL, SNAPSHOT, BODY)
