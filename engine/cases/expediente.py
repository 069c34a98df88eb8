"""A case's file (expediente) as its pages show it: the case and what is recorded of it, read together.

The case page shows the case's summary and record, its open tasks, its history, its conversation
(the message it was made from, the messages out, the notes), its files, its open incident, the
reader's drafts, the cases linked to it, the documents made for it and the names of the people
all these name: twelve reads, none needing another's answer. One after the other they cost twelve
round trips on PostgreSQL, each a millisecond or more when the database is on another machine;
here they go in one (``statements.together``), and a task page's five reads of its case likewise.
The case page's are made before the reader's right to the case is checked, and nothing read is
given unless it passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine.access.accounts import Actor
from engine.audit import trail as audit
from engine.cases import attachments, conversation, incidents, queries
from engine.cases.finding import duplicates
from engine.db import case_rows
from engine.db.models import Case, HumanTask
from engine.db.statements import detached, together
from engine.facade import Atiende
from engine.forms import drafts as task_drafts
from engine.paperwork import archivo


@dataclass(frozen=True)
class Expediente:
    """What the case page shows of a case, besides its procedure and the reader's inline form."""

    case: Case  # detached
    open_tasks: list[Any]  # its READY human_task rows, oldest first
    events: list[Any]  # its audit_event rows, oldest first
    conversation: list[conversation.Entry]
    files: list[Any]  # its attachment rows, oldest first
    incident: Any | None  # its open incident's row (the newest), if any
    names: dict[str, str]  # username → full name of everyone the above names (``queries.named_by_case_read``)
    drafts: dict[str, Any]  # task id → the reader's own draft of it (``task_draft`` row)
    linked_ids: list[int]  # the cases linked to it as duplicates (``duplicates.linked_ids``)
    documents: list[Any]  # the documents made for it, oldest first (``archivo.of_case_read``), for who may see them


def read(atiende: Atiende, session: Session, case_id: int, actor: Actor) -> Expediente:
    """The case's file, if the actor may reach the case (``Atiende.reachable``: NotFound, Forbidden)."""
    found, open_tasks, events, files, incident, names, drafts, links, documents, *talk = together(
        session,
        case_rows.case_read(case_id),
        queries.open_tasks_read(case_id),
        audit.case_history_read(case_id),
        attachments.of_case_read(case_id),
        incidents.open_of_case_read(case_id),
        queries.named_by_case_read(case_id),
        task_drafts.of_case_read(case_id, actor.username),
        duplicates.links_read(case_id),
        archivo.of_case_read(case_id),
        *conversation.reads(case_id),
    )
    case = atiende.reachable(case_rows.case_of(found[0]) if found else None, actor)
    return Expediente(
        case,
        open_tasks,
        events,
        conversation.entries(session, case, events, talk, atiende.catalog_cache),
        files,
        incident[0] if incident else None,
        dict(names),
        {draft.task_id: draft for draft in drafts},
        duplicates.linked_ids(case.id, links),
        documents,
    )


def task_in_file(found: Expediente, row: Any) -> HumanTask:
    """One of the file's open tasks (a row of ``open_tasks``) with its case, as ``Atiende.task_for`` gives
    one: for the case page's form of the reader's task, without reading the task again."""
    return detached(HumanTask, {**row._asdict(), "case": found.case})


@dataclass(frozen=True)
class AtTask:
    """What a task's page shows of its case besides the task, read together as the case page's file is."""

    events: list[Any]  # the case's audit_event rows, oldest first
    names: dict[str, str]  # username → full name of everyone the case names
    citizen: conversation.CitizenMaterial
    draft: Any | None  # the reader's own draft of the task (``task_draft`` row)
    linked_ids: list[int]  # the cases linked to it as duplicates (``duplicates.linked_ids``)


def at_task(session: Session, case: Case, task_id: str, actor: Actor) -> AtTask:
    """For the page of a task of ``case`` the caller has already let the actor see."""
    events, names, files, drafts, links = together(
        session,
        audit.case_history_read(case.id),
        queries.named_by_case_read(case.id),
        attachments.of_case_read(case.id),
        task_drafts.of_case_read(case.id, actor.username),
        duplicates.links_read(case.id),
    )
    draft = next((d for d in drafts if d.task_id == task_id), None)
    return AtTask(events, dict(names), conversation.material(case, files), draft, duplicates.linked_ids(case.id, links))
