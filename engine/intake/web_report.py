"""Reporte Ciudadano: a citizen files a case from the public page, without signing in.

The case starts in the e-mail/web procedure (canal ``pagina_web``) as the actor
«ciudadano (web)»; the consent to the processing of personal data (Ley 81 de 2019) is
recorded with the case, the photos are stored with it and the ticket number is queued by
e-mail, all in one transaction.

A valid report is counted against its limits (``engine.access.ratelimit``) before any of
that work, in one statement with their check, so parallel posts cannot slip past them; if
filing then fails, its hits are given back. The limits, and why:

- per address, a burst of 10 in 10 minutes: a person takes minutes to write a report, so a
  kiosk or an office behind one address files fewer, while a script posting as fast as it can
  is stopped at 10;
- per address, 60 an hour: a kiosk in use all day or an office of several people stays under
  it; a script pacing itself under the burst still gets no more from one address;
- per citizen, 5 an hour for one e-mail and for one cédula, from any address: one person
  rarely has more to report, and the ticket is e-mailed to the address given, so no one can
  bury someone else's mailbox in acknowledgements;
- all reports together, 300 an hour: far above what the page brings in a busy hour; a flood
  from many addresses stops there instead of filling the queue and the outbox (the citizen is
  told to call the Línea 311).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import cast

from sqlalchemy.orm import Session

from engine.access import ratelimit
from engine.access.accounts import Actor
from engine.access.ratelimit import Limit
from engine.audit import trail as audit
from engine.db.models import Case
from engine.errors import FormErrors, TooManyReports
from engine.facade import Atiende, Started
from engine.forms import cedula as cedula_rule
from engine.intake import capture, notify

PROCESS = "atencion_correo_web"
ACTOR = Actor("ciudadano (web)", frozenset(), system=True)  # a public channel: the office starts the case
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
NOT_FILED = (
    "No pudimos registrar su reporte por una falla interna, que quedó informada a la oficina (incidencia {}). "
    "Sus datos siguen en el formulario: intente de nuevo más tarde."
)  # a citizen is not shown the procedure's inner names (StepFailed's message is for staff)
REQUIRED = ("ciudadano_email", "corregimiento")  # the ticket goes by e-mail; the place finds duplicates
PHOTOS_FIELD = "adjuntos"  # the start form's attachments field
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
PER_ADDRESS = (
    Limit("reporte_direccion_rafaga", hits=10, window=timedelta(minutes=10)),
    Limit("reporte_direccion", hits=60, window=timedelta(hours=1)),
)
PER_CITIZEN = Limit("reporte_persona", hits=5, window=timedelta(hours=1))  # by e-mail and by cédula
ALL = Limit("reporte_todos", hits=300, window=timedelta(hours=1))
TOO_MANY = "Se recibieron demasiados reportes en poco tiempo. Intente más tarde o llame a la Línea 311."


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
    errors = problems(atiende, values, consent)
    if errors:
        raise FormErrors(errors)
    counted = _counted(values, client)
    taken_at = atiende.now()
    until = ratelimit.take(atiende.store, taken_at, counted)
    if until is not None:
        raise TooManyReports(TOO_MANY, ratelimit.seconds_until(until, taken_at))
    try:
        return _file(atiende, values, photos, status_url)
    except Exception:
        ratelimit.give_back(atiende.store, taken_at, counted)  # nothing was filed
        raise


def _counted(values: dict, client: str) -> list[tuple[Limit, str]]:
    """The limits a report counts against, each with its key (see the module's docstring)."""
    counted = [(limit, client) for limit in PER_ADDRESS] + [(ALL, "todos")]
    email = str(values.get("ciudadano_email") or "").strip().lower()
    cedula = re.sub(r"\s+", "", cedula_rule.normalized(str(values.get("ciudadano_cedula") or ""))).upper()
    counted += [(PER_CITIZEN, f"{kind}:{value}") for kind, value in (("correo", email), ("cedula", cedula)) if value]
    return counted


def _file(atiende: Atiende, values: dict, photos: list[tuple[str, bytes]], status_url: str | None) -> Started:
    """Start the case with its photos, its consent and its acknowledgement, in one transaction."""

    def record(session: Session, case: Case) -> None:
        now = atiende.now()
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

    submitted = {**values, **FIXED, PHOTOS_FIELD: []}  # only the photos sent now, never an id typed in
    return atiende.start_case(PROCESS, submitted, ACTOR, then=record, uploads={PHOTOS_FIELD: photos})


def problems(atiende: Atiende, values: dict, consent: bool) -> dict[str, str]:
    """What is wrong with a report, by field (empty when it may be filed)."""
    with atiende.store.read() as s:
        procedure = atiende.latest_procedure(s, PROCESS)
        try:
            capture.validate(s, schema(procedure.forms[cast(str, procedure.start_form)]), values)  # it has one
            errors = {}
        except FormErrors as invalid:
            errors = dict(invalid.errors)
    if not consent:
        errors["consentimiento"] = CONSENT_MISSING
    return errors
