"""Who may do what beyond working a task (``engine.facade.may_work`` decides that).

One place for the role rules that pages and engine functions share, so a page's menu,
its route check and the engine's refusal never disagree.
"""

from __future__ import annotations

from engine.access.accounts import Actor
from engine.access.roles import ROLES

# Everyone who works or inspects cases may read them (an enlace only their dirección's);
# the analyst edits diagrams and the administrator manages people: neither reads citizens' data.
CASE_READERS = frozenset(ROLES) - {"analista", "admin"}
# Internal notes are written by the people who work cases; the auditor reads and changes nothing.
NOTE_WRITERS = CASE_READERS - {"auditor"}
# A coordinator watches the whole desk: sees every open task and hands tasks to people.
COORDINATORS = frozenset({"coordinador"})
ADMINISTRATORS = frozenset({"admin"})


def may_read_cases(actor: Actor) -> bool:
    return bool(actor.roles & CASE_READERS)


def may_write_notes(actor: Actor) -> bool:
    return bool(actor.roles & NOTE_WRITERS)


def may_coordinate(actor: Actor) -> bool:
    return bool(actor.roles & COORDINATORS)


def may_administer(actor: Actor) -> bool:
    return bool(actor.roles & ADMINISTRATORS)


def direccion_scope(actor: Actor) -> str | None:
    """The only dirección whose cases the actor may read, or None when not limited to one.

    An enlace reads only their own dirección's cases (the same rule as ``Atiende.case_for``);
    an enlace without a dirección reads none, which the empty string expresses.
    """
    if actor.roles and actor.roles <= {"enlace"}:
        return actor.direccion or ""
    return None


# Procedures and audit (issue 7). The analyst edits, tests and deploys diagrams and moves
# waiting cases to a new version; the auditor reads every version and the whole audit trail
# and changes nothing. The administrator does neither: whoever manages the accounts is not
# also the one who changes the procedures or inspects the trail of what people did.
PROCEDURE_EDITORS = frozenset({"analista"})
PROCEDURE_READERS = PROCEDURE_EDITORS | {"auditor"}
AUDITORS = frozenset({"auditor"})


def may_edit_procedures(actor: Actor) -> bool:
    return bool(actor.roles & PROCEDURE_EDITORS)


def may_read_procedures(actor: Actor) -> bool:
    return bool(actor.roles & PROCEDURE_READERS)


def may_audit(actor: Actor) -> bool:
    return bool(actor.roles & AUDITORS)
