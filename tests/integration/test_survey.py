"""The citizen's verdict: the final answer's e-mail carries a one-use link to the survey; a link answered
once is refused after, an expired one too; the answers are kept without anything that leads back to the
case, and counted per dirección and case type for the indicators."""

from __future__ import annotations

import hashlib
import re
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from engine.db.models import Case, OutboxMessage, SurveyAnswer, SurveyInvitation, SurveyTally
from engine.errors import FormErrors, RateLimited
from engine.indicators import surveys as survey_figures
from engine.indicators.figures import Filters
from engine.intake import survey
from engine.mail import smtp as sending
from engine.settings import MailSettings
from tests.fixtures.desk import DAY, Desk
from tests.fixtures.smtp import Inbox, SmtpServer

LINK = re.compile(r"http://[^\s/]+/encuesta/([A-Za-z0-9_-]{20,})")
GOOD = {"satisfaccion": "4", "a_tiempo": "si", "comentario": "Recogieron la basura al día siguiente."}


@pytest.fixture
def smtp():
    server = SmtpServer(Inbox())
    server.start()
    yield server
    server.stop()


def answered_case(desk: Desk) -> int:
    """A case received by e-mail, taken to its final answer (which closes it)."""
    case_id = desk.start()
    desk.to_follow_up(case_id)
    desk.do(case_id, "Task_respuesta_final", respuesta_final="Se recogió la basura.", fecha_respuesta="2026-03-05")
    assert desk.case(case_id).status == "cerrado"
    return case_id


def token_in_outbox(store, case_id: int) -> str:
    with store.read() as s:
        body = s.scalar(
            select(OutboxMessage.body).where(
                OutboxMessage.case_id == case_id, OutboxMessage.kind == "respuesta_ciudadano"
            )
        )
    found = LINK.search(body or "")
    assert found, body
    return found.group(1)


def test_the_final_answers_email_carries_the_link_over_smtp_and_only_its_hash_is_kept(
    atiende, desk, store, smtp, frozen_clock
):
    case_id = answered_case(desk)
    worker = sending.MailWorker(
        store, MailSettings(host="127.0.0.1", port=smtp.port, security="none", timeout=5), frozen_clock
    )
    assert worker.run_once().sent >= 1
    [message] = [m for m in smtp.inbox.messages() if "Respuesta a su caso" in m["Subject"]]
    body = message.get_content()
    found = LINK.search(body)
    assert found and "vence en 60 días" in body, body
    token = found.group(1)
    assert survey.state(atiende, token) == survey.OPEN
    with store.read() as s:
        [invitation] = s.scalars(select(SurveyInvitation).where(SurveyInvitation.case_id == case_id))
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
        assert invitation.origin == survey.BY_MAIL and not invitation.used
        assert invitation.expires_at == frozen_clock.now() + 60 * DAY


def test_a_link_answered_once_is_refused_the_second_time_and_counted_once(atiende, desk, store):
    case_id = answered_case(desk)
    token = token_in_outbox(store, case_id)
    assert survey.answer(atiende, token, GOOD, "10.0.0.1") == survey.OPEN
    assert survey.state(atiende, token) == survey.ANSWERED
    assert survey.answer(atiende, token, {**GOOD, "satisfaccion": "1"}, "10.0.0.1") == survey.ANSWERED
    with store.read() as s:
        assert s.scalar(select(sa.func.count()).select_from(SurveyAnswer)) == 1
        assert s.scalar(select(SurveyTally.answers)) == 1


def test_answering_one_link_of_a_case_spends_the_others(atiende, desk, store):
    case_id = answered_case(desk)
    mailed = token_in_outbox(store, case_id)
    ticket = desk.case(case_id).ticket
    shown = survey.for_consulta(atiende, ticket)
    assert shown is not None
    assert survey.answer(atiende, shown.rsplit("/", 1)[1], GOOD, "10.0.0.1") == survey.OPEN
    assert survey.state(atiende, mailed) == survey.ANSWERED
    assert survey.for_consulta(atiende, ticket) is None  # judged: /consulta offers no link any more


def test_an_expired_link_is_refused_and_writes_nothing(atiende, desk, store, frozen_clock):
    token = token_in_outbox(store, answered_case(desk))
    frozen_clock.advance(days=60)
    assert survey.state(atiende, token) == survey.EXPIRED
    assert survey.answer(atiende, token, GOOD, "10.0.0.1") == survey.EXPIRED
    with store.read() as s:
        assert s.scalar(select(sa.func.count()).select_from(SurveyAnswer)) == 0


def test_an_unknown_or_absurd_token_is_unknown(atiende):
    for token in ("", "x", "A" * 43, "A" * 5000):
        assert survey.state(atiende, token) == survey.UNKNOWN
        assert survey.answer(atiende, token, GOOD, "10.0.0.1") == survey.UNKNOWN


def test_bad_answers_are_refused_in_spanish_and_the_link_stays_open(atiende, desk, store):
    token = token_in_outbox(store, answered_case(desk))
    for values, field in (
        ({**GOOD, "satisfaccion": "6"}, "satisfaccion"),
        ({**GOOD, "satisfaccion": ""}, "satisfaccion"),
        ({**GOOD, "a_tiempo": "quizas"}, "a_tiempo"),
        ({**GOOD, "comentario": "x" * (survey.MAX_COMMENT + 1)}, "comentario"),
    ):
        with pytest.raises(FormErrors) as refused:
            survey.answer(atiende, token, values, "10.0.0.1")
        assert field in refused.value.errors
    assert survey.state(atiende, token) == survey.OPEN
    with store.read() as s:
        assert s.scalar(select(sa.func.count()).select_from(SurveyAnswer)) == 0


def test_answers_are_limited_per_address(atiende):
    for _ in range(survey.PER_ADDRESS.hits):
        survey.answer(atiende, "no-es-un-enlace", GOOD, "10.9.9.9")
    with pytest.raises(RateLimited):
        survey.answer(atiende, "no-es-un-enlace", GOOD, "10.9.9.9")
    assert survey.answer(atiende, "no-es-un-enlace", GOOD, "10.9.9.8") == survey.UNKNOWN  # another address


def test_the_results_hold_no_personal_data_and_feed_the_indicators(atiende, desk, store):
    first, second = answered_case(desk), answered_case(desk)
    survey.answer(atiende, token_in_outbox(store, first), GOOD, "10.0.0.1")
    survey.answer(atiende, token_in_outbox(store, second), {"satisfaccion": "1", "a_tiempo": "no"}, "10.0.0.1")
    with store.read() as s:
        cases = list(s.scalars(select(Case).where(Case.id.in_([first, second]))))
        personal = {
            v
            for c in cases
            for v in (c.ticket, c.citizen_name, c.citizen_email, c.citizen_cedula, c.citizen_phone)
            if v
        }
        for table in (SurveyAnswer.__table__, SurveyTally.__table__):
            assert not {"case_id", "ticket", "citizen_name", "citizen_email"} & set(table.c.keys())
            for row in s.execute(select(table)):
                for value in row:
                    assert not any(p == str(value) or (len(p) > 3 and p in str(value)) for p in personal), value
        rows = {(r.month, r.direccion, r.case_type, r.satisfaction, r.on_time) for r in s.scalars(select(SurveyAnswer))}
        direccion, case_type = cases[0].direccion, cases[0].case_type
        assert rows == {
            (date(2026, 3, 1), direccion, case_type, 4, True),
            (date(2026, 3, 1), direccion, case_type, 1, False),
        }
        period = Filters(desde=date(2026, 3, 1), hasta=date(2026, 3, 31))
        [row] = survey_figures.surveys(s, period, None)
        assert (row.direccion, row.tipo_caso, row.answers, row.mean_score, row.pct_on_time) == (
            direccion,
            case_type,
            2,
            2.5,
            50.0,
        )
        assert survey_figures.surveys(s, period, "otra_direccion") == []
        assert survey_figures.surveys(s, period, "") == []  # an enlace without a dirección reaches nothing
        assert [r.answers for r in survey_figures.surveys(s, period, direccion)] == [2]
        assert survey_figures.comments(s, period, "") == []
        assert survey_figures.surveys(s, Filters(desde=date(2026, 4, 1), hasta=date(2026, 4, 30)), None) == []
        [comment] = survey_figures.comments(s, period, None)
        assert comment.text == GOOD["comentario"] and not hasattr(comment, "ticket")
