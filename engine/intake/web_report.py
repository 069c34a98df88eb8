"""Reporte Ciudadano: a citizen files a case from the public page, without signing in.

The case starts in the e-mail/web procedure (canal ``pagina_web``) as the actor
«ciudadano (web)»; the consent to the processing of personal data (Ley 81 de 2019) is
recorded with the case, the photos are stored with it, the ticket number is queued by
e-mail, and the submission counts against its address's limit — all in one transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from sqlalchemy.orm import Session

from engine.access.accounts import Actor
from engine.access.ratelimit import Limit
from engine.audit import trail as audit
from engine.cases import attachments
from engine.db.models import Case
from engine.errors import FormErrors, TooManyReports
from engine.facade import Atiende, Started
from engine.intake import capture, notify

PROCESS = "atencion_correo_web"
ACTOR = Actor("ciudadano (web)", frozenset())
CHANNEL = "pagina_web"
FIELDS = [
    "tipo_caso",
    "ciudadano_nombre",
    "ciudadano_cedula",
    "ciudadano_telefono",
    "ciudadano_email",
    "lugar_notificaciones",
    "corregimiento",
    "domicilio",
    "asunto",
    "descripcion",
]
WORDING = {  # the start form's help speaks to the operator; here it speaks to the citizen
    "tipo_caso": {"description": "Elija lo que desea presentar."},
    "ciudadano_nombre": {"title": "Nombre completo"},
    "ciudadano_email": {"description": "Le enviaremos aquí su número de ticket y las respuestas sobre su caso."},
    "lugar_notificaciones": {
        "description": "Dirección, correo electrónico o teléfono donde desea recibir las "
        "notificaciones sobre su caso (Ley 36 de 1998, art. 2)."
    },
    "corregimiento": {"description": "Corregimiento del Distrito de Panamá donde ocurre lo que presenta."},
    "descripcion": {"description": "Cuéntenos qué ocurre, dónde y desde cuándo."},
}
REQUIRED = ("ciudadano_email", "corregimiento")  # the ticket goes by e-mail; the place finds duplicates
FIXED = {"canal": CHANNEL, "respuesta_inmediata_enviada": True}  # the acknowledgement is sent at once
TITLE = "Reporte Ciudadano"
DESCRIPTION = (
    "Presente su queja o reclamo, solicitud de información, sugerencia o reporte a la "
    "Alcaldía de Panamá. Recibirá un número de ticket para dar seguimiento a su caso."
)
CONSENT_TEXT = (
    "Autorizo a la Alcaldía de Panamá a tratar los datos personales que suministro en este formulario "
    "con la única finalidad de atender y dar seguimiento a mi caso, conforme a la Ley 81 de 2019 sobre "
    "protección de datos personales. Puedo ejercer mis derechos de acceso, rectificación, cancelación "
    "y oposición ante la Dirección de Atención al Ciudadano."
)
CONSENT_MISSING = "Debe autorizar el tratamiento de sus datos personales para presentar el reporte."
SUBMISSIONS = Limit("reporte_ciudadano", hits=5, window=timedelta(hours=1))
TOO_MANY = (
    "Se recibieron demasiados reportes desde su conexión en la última hora. Intente más tarde o llame a la Línea 311."
)


def schema(start_form: dict) -> dict:
    """The public form: the start form's citizen-facing fields, e-mail and corregimiento required."""
    return capture.subset(start_form, FIELDS, REQUIRED, title=TITLE, description=DESCRIPTION, wording=WORDING)


def submit(
    atiende: Atiende,
    values: dict,
    consent: bool,
    photos: list[tuple[str, bytes]],
    client: str,
    status_url: str | None = None,
) -> Started:
    """File the report; raises FormErrors (Spanish, by field) or TooManyReports."""
    errors = problems(atiende, values, consent, client)
    if errors:
        raise FormErrors(errors)

    # The photos are stored first, in their own transaction; the case takes them when it starts.
    ids = attachments.upload(atiende.store, photos, ACTOR.username, atiende.now()) if photos else []

    def record(session: Session, case: Case) -> None:
        now = atiende.now()
        SUBMISSIONS.record(session, client, now)
        audit.record(
            session,
            now,
            ACTOR.username,
            "consentimiento_datos",
            case_id=case.id,
            detail={"texto": CONSENT_TEXT, "ley": "Ley 81 de 2019"},
        )
        notify.queue(
            session,
            # The e-mail is required (REQUIRED): problems() refused the report without it.
            notify.registered(
                case.citizen_name, cast(str, case.citizen_email), case.ticket, case.subject or "", status_url
            ),
            now,
            atiende.settings.smtp.sender,
            case_id=case.id,
        )

    submitted = {**values, **FIXED, "adjuntos": ids}
    return atiende.start_case(PROCESS, submitted, ACTOR, then=record)


def problems(atiende: Atiende, values: dict, consent: bool, client: str) -> dict[str, str]:
    """What is wrong with a report, by field (empty when it may be filed); raises TooManyReports."""
    with atiende.store.read() as s:
        if SUBMISSIONS.exceeded(s, client, atiende.now()):
            raise TooManyReports(TOO_MANY)
        procedure = atiende.latest_procedure(s, PROCESS)
        try:
            capture.validate(s, schema(procedure.forms[cast(str, procedure.start_form)]), values)  # it has one
            errors = {}
        except FormErrors as invalid:
            errors = dict(invalid.errors)
    if not consent:
        errors["consentimiento"] = CONSENT_MISSING
    return errors
