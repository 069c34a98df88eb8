"""The citizen's verdict in the indicators: the survey's answers per dirección and case type.

Read from ``survey_tally`` (kept with each answer by ``engine.intake.survey``), never from the
answers themselves: one row per month, dirección and case type. An answer is counted in the month
its case was answered in, so a period's verdict is that of the answers the office gave in it. The
answers hold no channel, corregimiento or procedure (nothing that is not needed, to keep them from
pointing back at a case): those filters do not narrow this figure.

``comments`` lists what citizens wrote, newest month first, with the dirección, the case type and the
month only: for coordinators to read in aggregate, never beside a case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.db.models import SurveyAnswer, SurveyTally
from engine.indicators.figures import SIN_DIRECCION, SIN_DIRECCION_CODE, Filters, SurveyRow

SIN_TIPO = "Sin tipo"


def _months(f: Filters):
    return f.desde.replace(day=1), f.hasta


def _direccion(f: Filters, scope: str | None) -> str | None:
    """The one dirección asked for ("" for the cases without one), None for all; raises LookupError when
    nothing can match: an enlace without a dirección, or a filter outside the enlace's (as the figures do)."""
    wanted = {"" if d == SIN_DIRECCION_CODE else d for d in (f.direccion, scope) if d is not None}
    if scope == "" or len(wanted) > 1:
        raise LookupError
    return wanted.pop() if wanted else None


def surveys(s: Session, f: Filters, scope: str | None) -> list[SurveyRow]:
    """Per dirección and case type: answers, mean satisfaction (1–5, two decimals), % who said «sí, a tiempo»."""
    first, last = _months(f)
    query = (
        select(
            SurveyTally.direccion,
            SurveyTally.case_type,
            func.sum(SurveyTally.answers),
            func.sum(SurveyTally.satisfaction_sum),
            func.sum(SurveyTally.on_time),
        )
        .where(SurveyTally.month >= first, SurveyTally.month <= last)
        .group_by(SurveyTally.direccion, SurveyTally.case_type)
        .order_by(SurveyTally.direccion, SurveyTally.case_type)
    )
    try:
        direccion = _direccion(f, scope)
    except LookupError:
        return []
    if direccion is not None:
        query = query.where(SurveyTally.direccion == direccion)
    if f.tipo_caso:
        query = query.where(SurveyTally.case_type == f.tipo_caso)
    rows = []
    for code, case_type, answers, total, on_time in s.execute(query):
        answers = int(answers or 0)
        rows.append(
            SurveyRow(
                direccion=code or SIN_DIRECCION,
                tipo_caso=case_type or SIN_TIPO,
                answers=answers,
                mean_score=round(int(total) / answers, 2) if answers else None,
                pct_on_time=round(100 * int(on_time) / answers, 1) if answers else None,
            )
        )
    return rows


@dataclass(frozen=True)
class Comment:
    month: date
    direccion: str
    tipo_caso: str
    satisfaction: int
    text: str


def comments(s: Session, f: Filters, scope: str | None, limit: int = 200) -> list[Comment]:
    """What citizens wrote in the period, newest month first (at most ``limit``), with nothing of their case."""
    first, last = _months(f)
    query = (
        select(
            SurveyAnswer.month,
            SurveyAnswer.direccion,
            SurveyAnswer.case_type,
            SurveyAnswer.satisfaction,
            SurveyAnswer.comment,
        )
        .where(SurveyAnswer.month >= first, SurveyAnswer.month <= last, SurveyAnswer.comment.is_not(None))
        .order_by(SurveyAnswer.month.desc(), SurveyAnswer.direccion)
        .limit(limit)
    )
    try:
        direccion = _direccion(f, scope)
    except LookupError:
        return []
    if direccion == "":
        query = query.where(SurveyAnswer.direccion.is_(None))
    elif direccion is not None:
        query = query.where(SurveyAnswer.direccion == direccion)
    if f.tipo_caso:
        query = query.where(SurveyAnswer.case_type == f.tipo_caso)
    return [
        Comment(month, code or SIN_DIRECCION, case_type or SIN_TIPO, satisfaction, text or "")
        for month, code, case_type, satisfaction, text in s.execute(query)
    ]
