"""A posted schema form, read once for every page that has one (new case, task).

It tells which button was pressed (complete, save a draft, add or remove a row), gives the
values as ``engine.forms.schemas.clean`` expects them, and stores the files of attachment fields
first — in their own transaction, so a form sent back for correction keeps them (they join
the case only when the form is accepted; see ``engine.cases.attachments``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Request

from engine.access.accounts import Actor
from engine.cases import attachments
from engine.errors import FileRefused
from engine.facade import Atiende
from web.ui.forms_render import ACTION_FIELD, change_rows, submitted

COMPLETE, DRAFT = "completar", "borrador"


@dataclass
class Submission:
    action: str  # completar, borrador, or a row button (agregar:campo, quitar:campo:N)
    values: dict
    errors: dict[str, str] = field(default_factory=dict)  # files refused, by field

    @property
    def changes_rows(self) -> bool:
        return self.action.startswith(("agregar:", "quitar:"))


def has_files(request: Request) -> bool:
    """Whether the request carries an uploaded file (an empty file input sends a nameless part)."""
    return any(f.filename for f in request.files.values())


def read(request: Request, schema: dict | None, atiende: Atiende, actor: Actor) -> Submission:
    """The submission of ``request`` for the form ``schema``, new files stored.

    Without ``schema`` (a form posted with no files) every value is read from the posted names:
    repeated names and ``campo.N.sub`` rows become lists, and ``engine.forms.schemas.clean`` types them.
    """
    action = request.form.get(ACTION_FIELD) or COMPLETE
    is_row_button = action.startswith(("agregar:", "quitar:"))
    values = submitted(request.form, schema, keep_blank_rows=is_row_button)
    if is_row_button:
        values = change_rows(values, action)
    result = Submission(action if is_row_button or action == DRAFT else COMPLETE, values)
    for name in attachments.fields_of(schema):
        uploads = [(f.filename, f.read(attachments.MAX_BYTES + 1)) for f in request.files.getlist(name) if f.filename]
        if not uploads:
            continue
        try:
            stored = attachments.upload(atiende.store, uploads, actor.username, atiende.now())
        except FileRefused as refused:
            result.errors[name] = str(refused)
            continue
        kept = values.get(name) or []
        values[name] = (kept if isinstance(kept, list) else [kept]) + stored
    return result
