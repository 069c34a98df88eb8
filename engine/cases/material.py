"""What the citizen brought: their own words and the case's files, shown on every task of the case.

Every channel keeps the citizen's text under the same key, ``descripcion``: the start forms of the
desk (``forms/captura_*.json``: e-mail and web, phone, in person, Defensa del Usuario), the public
report (``engine.intake.web_report``), the mailbox (``engine.intake.items``: the message's body)
and Open311 (``description``). Whoever works a step reads them there, beside the form, instead of
opening the case in another page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from engine.cases import attachments

if TYPE_CHECKING:
    from engine.db.models import Attachment, Case

WORDS = "descripcion"  # the start forms' field holding the citizen's own text


@dataclass(frozen=True)
class CitizenMaterial:
    """The citizen's subject and text, as received, and the case's attachments, oldest first."""

    subject: str
    text: str
    files: list[Attachment] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.text or self.files)


def of_case(session: Session, case: Case) -> CitizenMaterial:
    """The material of a case; false when it has neither text nor files (an operativo, a meeting)."""
    text = case.data.get(WORDS)
    return CitizenMaterial(
        case.subject or "", text.strip() if isinstance(text, str) else "", attachments.of_case(session, case.id)
    )
