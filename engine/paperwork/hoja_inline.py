"""The hoja de trámite on a task page: the very page its PDF is laid out from, and the PDF.

Which tasks show it is the diagram's word, not this module's: a user task whose property
``muestra`` is ``hoja_de_tramite`` (``StepInfo.muestra``; in ``tramitacion_comun.bpmn`` the
coordinator's approval and the enlace's acuse). Which hoja it shows follows the case's last
decision on it (``engine.paperwork.devolucion``): once approved, the hoja stored then, as the
dirección received it (its snapshot, rendered again: the same facts, the same page); before
that, or after a return, the hoja an approval would remit now, made from the case as it stands
(``effects.hoja_preview``), unapproved. Read only: nothing here is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import trail as audit
from engine.bpm.parsing import HOJA_DE_TRAMITE
from engine.db.models import Case, Document
from engine.db.store import Store
from engine.forms.catalogs import CatalogCache
from engine.paperwork import devolucion, documents, effects, rendering
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.bpm.parsing import StepInfo

SHOWS_HOJA = HOJA_DE_TRAMITE  # the value of a user task's ``muestra`` property
KIND = "hoja_de_tramite"  # the stored document's kind (engine.paperwork.rendering.KINDS)


@dataclass(frozen=True)
class Hoja:
    """A case's hoja: its facts, and the stored document when it is the remitted one."""

    facts: documents.HojaDeTramite
    document_id: int | None  # None: not remitted yet, made from the case as it stands

    @property
    def filename(self) -> str:
        draft = "" if self.document_id is not None else "_sin_aprobar"
        return f"hoja_de_tramite_{self.facts.ticket}{draft}.pdf"


def shows_hoja(step: StepInfo | None) -> bool:
    """Whether a user task (an ``engine.bpm.parsing.StepInfo``, or None) shows the case's hoja."""
    return step is not None and step.muestra == SHOWS_HOJA


def of_case(session: Session, case: Case, now: datetime, catalog_cache: CatalogCache, settings: Settings) -> Hoja:
    """The hoja a reader of the case acts on now: the remitted one once approved, else the one to approve."""
    last = devolucion.latest(audit.case_history(session, case.id))
    if last is not None and devolucion.decision(last) == devolucion.APPROVED:
        stored = session.execute(
            select(Document.id, Document.snapshot)
            .where(Document.case_id == case.id, Document.kind == KIND)
            .order_by(Document.created_at.desc(), Document.id.desc())
            .limit(1)
        ).first()
        if stored is not None and stored.snapshot is not None:
            return Hoja(rendering.facts(KIND, stored.snapshot), stored.id)
    return Hoja(effects.hoja_preview(session, case, now, catalog_cache, settings), None)


def html(hoja: Hoja) -> str:
    """The hoja as a page of its own (its styles inline), the one its PDF is laid out from."""
    return documents.hoja_de_tramite_html(hoja.facts)


def pdf(store: Store, hoja: Hoja, now: Callable[[], datetime]) -> bytes:
    """The hoja's PDF: the remitted file itself (``NotRendered`` if it cannot be made yet), or one laid
    out now. WeasyPrint takes hundreds of milliseconds: call it with no transaction open."""
    if hoja.document_id is not None:
        [content] = rendering.contents(store, [hoja.document_id], now)
        return content
    return documents.hoja_de_tramite_pdf(hoja.facts)
