"""The citizen's verdict: a short survey behind a one-use link, and its answers kept without personal data.

The final answer's e-mail carries the link (``engine.paperwork.effects`` asks ``invite`` for it in the
step that writes the message, when the diagram's «responder_ciudadano» says ``encuesta``), and so does
``/consulta`` once the case is closed and not judged yet (``for_consulta``). A link is a random token
(``secrets``); only its SHA-256 is stored, bound to the case, with its expiry (``ATIENDE_SURVEY_DAYS``).
A case is judged once: answering spends every link of the case.

The answer keeps no way back to the case: the row holds the dirección, the case type, the month the
case was answered in and the three answers — no ticket, no name, no address, no time finer than the
month, no audit event naming the case. The invitation keeps only that it was used, not when. The
comment is shown to coordinators in lists of comments per dirección and month, never beside a case.

The public form is limited per address (``engine.access.ratelimit``), as the Reporte Ciudadano is.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine import clock
from engine.access import ratelimit
from engine.access.ratelimit import Limit
from engine.db.models import Case, SurveyAnswer, SurveyInvitation, SurveyTally
from engine.errors import FormErrors, RateLimited

if TYPE_CHECKING:
    from engine.facade import Atiende
    from engine.settings import Settings

BY_MAIL, BY_CONSULTA = "correo", "consulta"
OPEN, ANSWERED, EXPIRED, UNKNOWN = "abierta", "respondida", "vencida", "desconocida"
PER_ADDRESS = Limit("encuesta", hits=20, window=timedelta(minutes=10))
TOO_MANY = "Demasiados envíos desde su conexión. Espere unos minutos antes de volver a intentar."
MAX_COMMENT = 1000
MAX_TOKEN = 100  # a token is 43 characters; anything much longer is not one
SATISFACTION = {
    1: "Muy insatisfecho",
    2: "Insatisfecho",
    3: "Ni satisfecho ni insatisfecho",
    4: "Satisfecho",
    5: "Muy satisfecho",
}
CLOSED = "cerrado"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link(settings: Settings, token: str) -> str:
    return settings.absolute_url(f"/encuesta/{token}")


def invite(session: Session, case_id: int, now: datetime, settings: Settings, origin: str = BY_MAIL) -> str:
    """A new link to the survey of the case, valid ``settings.survey_days``; its address."""
    token = secrets.token_urlsafe(32)
    session.add(
        SurveyInvitation(
            token_hash=_hash(token),
            case_id=case_id,
            origin=origin,
            created_at=now,
            expires_at=now + timedelta(days=settings.survey_days),
            used=False,
        )
    )
    session.flush()
    return link(settings, token)


def judged(session: Session, case_id: int) -> bool:
    """Whether the citizen answered the survey of the case (through any of its links)."""
    found = select(SurveyInvitation.id).where(SurveyInvitation.case_id == case_id, SurveyInvitation.used.is_(True))
    return session.scalar(found.limit(1)) is not None


def for_consulta(atiende: Atiende, ticket: str) -> str | None:
    """The link /consulta shows: for a closed case not judged yet, a fresh one, replacing the one it showed
    before (the e-mail's stays valid); None otherwise. Called once the citizen proved who they are."""
    with atiende.unit_of_work() as s:
        found = s.execute(select(Case.id, Case.status).where(Case.ticket == ticket)).first()
        if found is None or found.status != CLOSED or judged(s, found.id):
            return None
        s.execute(
            delete(SurveyInvitation).where(
                SurveyInvitation.case_id == found.id,
                SurveyInvitation.origin == BY_CONSULTA,
                SurveyInvitation.used.is_(False),
            )
        )
        return invite(s, found.id, atiende.now(), atiende.settings, BY_CONSULTA)


def _state(session: Session, token: str, now: datetime, lock: bool = False) -> tuple[str, SurveyInvitation | None]:
    if not token or len(token) > MAX_TOKEN:
        return UNKNOWN, None
    query = select(SurveyInvitation).where(SurveyInvitation.token_hash == _hash(token))
    invitation = session.scalar(query.with_for_update() if lock else query)
    if invitation is None:
        return UNKNOWN, None
    if invitation.used or judged(session, invitation.case_id):
        return ANSWERED, invitation
    if invitation.expires_at <= now:
        return EXPIRED, invitation
    return OPEN, invitation


def state(atiende: Atiende, token: str) -> str:
    """What the link is now: ``OPEN``, ``ANSWERED``, ``EXPIRED`` or ``UNKNOWN``."""
    with atiende.store.read() as s:
        return _state(s, token, atiende.now())[0]


@dataclass(frozen=True)
class Answers:
    satisfaction: int
    on_time: bool
    comment: str | None


def check(values: Mapping[str, str]) -> Answers:
    """The form's answers, or FormErrors with a Spanish message per field."""
    errors = {}
    satisfaction = (values.get("satisfaccion") or "").strip()
    if satisfaction not in {str(n) for n in SATISFACTION}:
        errors["satisfaccion"] = "Elija su satisfacción, de 1 (muy insatisfecho) a 5 (muy satisfecho)."
    on_time = (values.get("a_tiempo") or "").strip()
    if on_time not in ("si", "no"):
        errors["a_tiempo"] = "Responda sí o no."
    comment = (values.get("comentario") or "").strip()
    if len(comment) > MAX_COMMENT:
        errors["comentario"] = f"El comentario admite hasta {MAX_COMMENT} caracteres; tiene {len(comment)}."
    if errors:
        raise FormErrors(errors)
    return Answers(int(satisfaction), on_time == "si", comment or None)


def answer(atiende: Atiende, token: str, values: Mapping[str, str], client: str) -> str:
    """Keep the citizen's answers, if the link is open: returns the link's state before (``OPEN`` when
    kept). Raises FormErrors for answers that cannot be kept (nothing written), RateLimited past the limit."""
    now = atiende.now()
    counted = [(PER_ADDRESS, client)]
    until = ratelimit.take(atiende.store, now, counted)
    if until is not None:
        raise RateLimited(TOO_MANY, ratelimit.seconds_until(until, now))
    with atiende.unit_of_work() as s:
        found, invitation = _state(s, token, now, lock=True)
        if found != OPEN or invitation is None:
            return found
        answers = check(values)
        # Every link of the case is spent, in the order of their ids (two answers at once queue, one wins).
        spent = s.execute(
            update(SurveyInvitation)
            .where(SurveyInvitation.case_id == invitation.case_id, SurveyInvitation.used.is_(False))
            .values(used=True)
        )
        if spent.rowcount == 0:  # type: ignore[attr-defined]
            return ANSWERED
        case = s.execute(
            select(Case.direccion, Case.case_type, Case.closed_at).where(Case.id == invitation.case_id)
        ).one()
        _keep(s, _month(case.closed_at or now), case.direccion, case.case_type, answers)
    return OPEN


def _month(moment: datetime) -> date:
    return moment.astimezone(clock.PANAMA).date().replace(day=1)


def _keep(session: Session, month: date, direccion: str | None, case_type: str | None, answers: Answers) -> None:
    """The answer row, and its count in the tally (one statement, row-locked), in the same transaction."""
    session.add(
        SurveyAnswer(
            month=month,
            direccion=direccion,
            case_type=case_type,
            satisfaction=answers.satisfaction,
            on_time=answers.on_time,
            comment=answers.comment,
        )
    )
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    yes = 1 if answers.on_time else 0
    session.execute(
        insert(SurveyTally)
        .values(
            month=month,
            direccion=direccion or "",
            case_type=case_type or "",
            answers=1,
            satisfaction_sum=answers.satisfaction,
            on_time=yes,
        )
        .on_conflict_do_update(
            index_elements=["month", "direccion", "case_type"],
            set_={
                "answers": SurveyTally.answers + 1,
                "satisfaction_sum": SurveyTally.satisfaction_sum + answers.satisfaction,
                "on_time": SurveyTally.on_time + yes,
            },
        )
    )
