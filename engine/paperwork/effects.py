"""Carrying out, inside the engine step's transaction, what its service tasks asked for.

``engine.bpm.scripting.operators`` only describe what should happen (a ``Documento`` to make, a
``Correo`` to write); here the runtime gathers each document's facts as of the step and
stores them as the document's snapshot, writes the messages into the outbox and records
both in the audit trail, all in the session of the step. If the step fails, none of it
exists; if it commits, all of it does. The bytes are made after the commit
(``engine.paperwork.rendering``): laying out a PDF must not hold the database's write lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.audit import chain as audit_chain
from engine.audit import trail as audit
from engine.bpm.scripting.operators import HOJA_KEYS, Correo, Documento
from engine.cases import queries
from engine.db.models import AuditEvent, Case, CatalogItem, Document, User, UserRole
from engine.db.statements import NewRow, Statement
from engine.forms.catalogs import CatalogCache
from engine.intake import survey
from engine.mail import outbox as mail
from engine.mail import texts as mail_templates
from engine.paperwork import consolidado, documents, rendering
from engine.settings import Settings


def acuse_url(settings: Settings, ticket: str) -> str:
    """The page the hoja's QR code opens: the enlace confirms the acuse de recibo there."""
    return settings.absolute_url(f"/acuse/{ticket}")


_ENLACE_USERS = Statement(
    select(User.full_name, User.email)
    .join(UserRole)
    .where(UserRole.role == "enlace", User.direccion == bindparam("direccion"), User.active.is_(True))
    .order_by(User.full_name)
)
_DIRECCION_EXTRA = Statement(
    select(CatalogItem.extra).where(CatalogItem.catalog == "direcciones", CatalogItem.code == bindparam("direccion"))
)


def enlaces(session: Session, direccion: str | None) -> list[documents.Persona]:
    """The coordinadores de enlace of a dirección: its active enlace users, then its catalogue entry."""
    if not direccion:
        return []
    key = {"direccion": direccion}
    people = [documents.Persona(name, email) for name, email in _ENLACE_USERS.all(session, key)]
    extra = _DIRECCION_EXTRA.scalar(session, key) or {}
    email = extra.get("correo_enlace")
    if email and email not in {p.correo for p in people}:
        people.append(documents.Persona(extra.get("enlace") or "Coordinación de enlace", email))
    return people


# The catalogues whose labels papers and messages show, read together on a step's first label.
LABELLED = ("direcciones", "tipos_caso", "canales", "corregimientos")


class _Step:
    """One application of effects: the session, the case, and what it reads, read once."""

    def __init__(
        self, session: Session, case: Case, actor: str, now: datetime, catalog_cache: CatalogCache, settings: Settings
    ):
        self.session, self.case, self.actor, self.now = session, case, actor, now
        self.catalog_cache, self.settings = catalog_cache, settings
        self._labels: dict[str, dict[str, str]] | None = None
        self._enlaces: dict[str | None, list[documents.Persona]] = {}
        self.made: dict[str, Document] = {}
        self._consolidados: dict[tuple, documents.Consolidado] = {}

    def label(self, catalog: str, code: str | None) -> str:
        if not code:
            return ""
        if self._labels is None:
            self._labels = self.catalog_cache.labels(self.session, LABELLED)
        return self._labels.get(catalog, {}).get(code, code)

    def enlaces(self, direccion: str | None) -> list[documents.Persona]:
        if direccion not in self._enlaces:
            self._enlaces[direccion] = enlaces(self.session, direccion)
        return self._enlaces[direccion]

    def consolidado(self, direccion: str, periodo: str) -> documents.Consolidado:
        key = (direccion, periodo)
        if key not in self._consolidados:
            self._consolidados[key] = consolidado.build(self.session, direccion, self.now, periodo)
        return self._consolidados[key]


def apply(
    session: Session,
    case: Case,
    effects: list,
    actor: str,
    now: datetime,
    catalog_cache: CatalogCache,
    settings: Settings,
) -> None:
    """Make every requested document, then write every requested message (which may attach them)."""
    if not effects:
        return
    step = _Step(session, case, actor, now, catalog_cache, settings)
    for effect in effects:
        if isinstance(effect, Documento):
            step.made[effect.tipo] = _make(step, effect)
    for effect in effects:
        if isinstance(effect, Correo):
            _write(step, effect)


# -- documents --------------------------------------------------------------------------------
def _hoja(step: _Step, effect: Documento) -> tuple[str, documents.HojaDeTramite]:
    datos, case = effect.datos, step.case
    approval = _approval(step.session, case.id)
    hoja = documents.HojaDeTramite(
        ticket=case.ticket,
        fecha=step.now,
        direccion=step.label("direcciones", effect.direccion),
        enlaces=step.enlaces(effect.direccion),
        tipo_caso=step.label("tipos_caso", datos.get("tipo_caso") or case.case_type),
        canal=step.label("canales", datos.get("canal") or case.channel),
        asunto=datos.get("asunto") or case.subject or "",
        resumen=datos.get("resumen", ""),
        datos_ciudadano_y_lugar=datos.get("informacion_ciudadano_relevante", ""),
        prioridad=str(datos.get("prioridad", "normal")).capitalize(),
        corregimiento=step.label("corregimientos", datos.get("corregimiento") or case.corregimiento),
        lugar_notificaciones=datos.get("lugar_notificaciones", ""),
        fecha_limite=case.due_at,
        aprobada_por=approval[0] if approval else None,
        aprobada_el=approval[1] if approval else None,
        comentarios_aprobacion=approval[2] if approval else "",
        acuse_url=acuse_url(step.settings, case.ticket),
    )
    return f"hoja_de_tramite_{case.ticket}.pdf", hoja


def hoja_preview(
    session: Session, case: Case, now: datetime, catalog_cache: CatalogCache, settings: Settings
) -> documents.HojaDeTramite:
    """The hoja an approval would remit now, made from the case as it stands, as the remission's
    operator (``remitir_hoja_de_tramite``) would make it: what the coordinator reads before approving."""
    datos = {key: case.data[key] for key in HOJA_KEYS if case.data.get(key) not in (None, "")}
    step = _Step(session, case, audit.SYSTEM, now, catalog_cache, settings)
    return _hoja(step, Documento("hoja_de_tramite", datos.get("direccion"), datos))[1]


_EVENTS = AuditEvent.__table__
_COMPLETIONS = Statement(
    select(_EVENTS.c.actor, _EVENTS.c.at, _EVENTS.c.detail)
    .where(_EVENTS.c.case_id == bindparam("case_id"), _EVENTS.c.kind == "tarea_completada")
    .order_by(_EVENTS.c.id.desc())
)


def _approval(session: Session, case_id: int) -> tuple[str, datetime, str] | None:
    """Who approved the case's hoja last, when, and their comment (a return's comment is not the approval's)."""
    for actor, at, detail in _completions(session, case_id):
        data = detail.get("datos", {})
        if data.get("decision_hoja") == "aprobar":
            name = queries.full_name(session, actor) or actor
            return name, at, data.get("comentarios_aprobacion", "")
    return None


def _completions(session: Session, case_id: int):
    """(actor, at, detail) of the case's task completions, newest first.

    This transaction's own come first, from the events waiting to be written: the approval is
    usually made in this very step. The stored ones are read only if it was not.
    """
    for event in reversed(audit_chain.pending(session)):
        if event["case_id"] == case_id and event["kind"] == "tarea_completada":
            yield event["actor"], event["at"], event["detail"]
    yield from _COMPLETIONS.all(session, {"case_id": case_id})


def _consolidado(extension: str) -> Callable[[_Step, Documento], tuple[str, documents.Consolidado]]:
    def make(step: _Step, effect: Documento) -> tuple[str, documents.Consolidado]:
        assert effect.direccion is not None  # a consolidado always names its dirección (operators._direccion)
        day = documents.fecha(step.now).replace("/", "-")
        return (
            f"consolidado_{effect.direccion}_{day}.{extension}",
            step.consolidado(effect.direccion, effect.datos["periodo"]),
        )

    return make


FACTS = {  # kind of document → its file name and facts, as of the step
    "hoja_de_tramite": _hoja,
    "consolidado_xlsx": _consolidado("xlsx"),
    "consolidado_pdf": _consolidado("pdf"),
}


def _make(step: _Step, effect: Documento) -> Document:
    filename, facts = FACTS[effect.tipo](step, effect)
    document = store_document(
        step.session,
        kind=effect.tipo,
        filename=filename,
        content_type=rendering.content_type(effect.tipo),
        snapshot=rendering.snapshot(facts),
        actor=step.actor,
        now=step.now,
        case_id=step.case.id,
        direccion=effect.direccion,
    )
    audit.record(
        step.session,
        step.now,
        step.actor,
        "documento_generado",
        case_id=step.case.id,
        detail={"tipo": effect.tipo, "archivo": filename, "direccion": effect.direccion, "documento": document.id},
    )
    return document


def store_document(
    session: Session,
    *,
    kind: str,
    filename: str,
    content_type: str,
    actor: str,
    now: datetime,
    case_id: int | None = None,
    direccion: str | None = None,
    content: bytes | None = None,
    snapshot: dict | None = None,
) -> Document:
    """Keep a document, inserted now, so its id can be referred to; returned detached, as loaded.

    Either its ``content``, received whole (kept with its size and hash), or the ``snapshot``
    of the facts a step gathered, from which ``engine.paperwork.rendering`` makes the bytes after commit.
    """
    if (content is None) == (snapshot is None):
        raise ValueError("a document is stored with its bytes or with the snapshot to render them from")
    values = {
        "kind": kind,
        "case_id": case_id,
        "direccion": direccion,
        "filename": filename,
        "content_type": content_type,
        "size": None if content is None else len(content),
        "sha256": None if content is None else hashlib.sha256(content).hexdigest(),
        "content": content,
        "snapshot": snapshot,
        "created_at": now,
        "created_by": actor,
    }
    return _NEW_DOCUMENT.detached(session, values)


_NEW_DOCUMENT = NewRow(Document)


# -- mail ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Draft:
    """A message as a step would write it: to whom, and its text."""

    to: list[str]
    subject: str
    body: str
    no_recipient_reason: str | None
    attachments: list[Document]


def drafts(
    session: Session, case: Case, effects: list, now: datetime, catalog_cache: CatalogCache, settings: Settings
) -> list[Draft]:
    """The messages ``effects`` would write, written by the same code as a step's, but nowhere: a preview
    of what a task's completion will send (``engine.cases.conversation.preview``). Makes no document."""
    step = _Step(session, case, audit.SYSTEM, now, catalog_cache, settings)
    preview_link = settings.absolute_url(SURVEY_LINK_PREVIEW)  # the real one is made when the step writes it
    return [
        _compose(step, effect, preview_link if effect.datos.get("encuesta") else None)
        for effect in effects
        if isinstance(effect, Correo)
    ]


SURVEY_LINK_PREVIEW = "/encuesta/(enlace de un solo uso)"


def _write(step: _Step, effect: Correo) -> None:
    survey_link = None
    if effect.datos.get("encuesta"):  # a new one-use link, stored (hashed) with the message it goes in
        survey_link = survey.invite(step.session, step.case.id, step.now, step.settings)
    draft = _compose(step, effect, survey_link)
    message = mail.enqueue(
        step.session,
        kind=effect.tipo,
        to=draft.to,
        subject=draft.subject,
        body=draft.body,
        now=step.now,
        sender=step.settings.smtp.sender,
        case_id=step.case.id,
        direccion=effect.direccion,
        attachments=draft.attachments,
        no_recipient_reason=draft.no_recipient_reason,
    )
    audit.record(
        step.session,
        step.now,
        step.actor,
        "correo_en_cola",
        case_id=step.case.id,
        detail={
            "tipo": effect.tipo,
            "para": message.recipients,
            "asunto": draft.subject,
            "message_id": message.message_id,
            "adjuntos": [d.filename for d in draft.attachments],
            "estado": message.state,
        },
    )


def _compose(step: _Step, effect: Correo, survey_link: str | None = None) -> Draft:
    case, datos = step.case, effect.datos
    found = (step.made.get(kind) or _latest(step.session, case.id, kind) for kind in effect.adjuntos)
    attachments = [document for document in found if document is not None]
    hoja = next((d for d in attachments if d.kind == "hoja_de_tramite"), None)
    context = {
        "ticket": datos.get("ticket") or case.ticket,
        "asunto": datos.get("asunto") or case.subject or "",
        "ciudadano_nombre": datos.get("ciudadano_nombre") or case.citizen_name or "",
        "tipo_caso": step.label("tipos_caso", datos.get("tipo_caso") or case.case_type),
        "direccion": step.label("direcciones", effect.direccion),
        "fecha": documents.fecha(step.now),
        "fecha_limite": documents.fecha(case.due_at),
        "acuse_url": acuse_url(step.settings, case.ticket),
        "texto": datos.get("texto", ""),
        "encuesta_url": survey_link or "",
        "encuesta_dias": step.settings.survey_days,
        "periodo": datos.get("periodo", ""),
        "fecha_remision": documents.fecha(hoja.created_at) if hoja is not None else "",
        # Only a consolidado's message has a periodo, and it always names its dirección (operators._direccion).
        "casos": len(step.consolidado(cast(str, effect.direccion), datos["periodo"]).filas)
        if "periodo" in datos
        else None,
    }
    subject, body = mail_templates.render(effect.plantilla, context, needs_ticket=effect.para == "ciudadano")
    if effect.para == "ciudadano":
        to, why = [datos["correo"]], None
    else:
        people = step.enlaces(effect.direccion)
        to = [p.correo for p in people if p.correo]
        why = f"la {context['direccion'] or 'dirección'} no tiene coordinador de enlace con correo registrado"
    return Draft(to, subject, body, why, attachments)


def _latest(session: Session, case_id: int, kind: str) -> Document | None:
    return session.scalar(
        select(Document)
        .where(Document.case_id == case_id, Document.kind == kind)
        .order_by(Document.created_at.desc(), Document.id.desc())
        .limit(1)
    )
