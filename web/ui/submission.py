"""A posted schema form, read once for every page that has one (new case, task).

It tells which button was pressed (complete, save a draft, add or remove a row), gives the
values as ``engine.forms.schemas.clean`` expects them, and reads the new files of attachment
fields, checked but not stored: the engine stores them in the unit of work that accepts the
form (``engine.cases.attachments.with_uploads``), so a refused form leaves no file behind and
its page asks for the files again. A draft keeps its files, as it keeps the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Request

from engine.cases import attachments
from engine.errors import FileRefused
from web.ui.forms_render import ACTION_FIELD, change_rows, submitted

COMPLETE, DRAFT = "completar", "borrador"
CHOOSE_AGAIN = (
    "Vuelva a elegir los archivos: se guardan solo cuando el formulario se registra (o al guardar un borrador)."
)


@dataclass
class Submission:
    action: str  # completar, borrador, or a row button (agregar:campo, quitar:campo:N)
    values: dict
    errors: dict[str, str] = field(default_factory=dict)  # files refused, by field
    uploads: attachments.Uploads = field(default_factory=dict)  # new files, by field, for the engine to store

    @property
    def changes_rows(self) -> bool:
        return self.action.startswith(("agregar:", "quitar:"))

    def shown(self, errors: dict[str, str] | None = None) -> dict[str, str]:
        """The errors of a page that shows the form again: the files sent were not kept, so say so beside them."""
        shown = dict(errors if errors is not None else self.errors)
        for name in self.uploads:
            shown.setdefault(name, CHOOSE_AGAIN)
        return shown


def has_files(request: Request) -> bool:
    """Whether the request carries an uploaded file (an empty file input sends a nameless part)."""
    return any(f.filename for f in request.files.values())


def read(request: Request, schema: dict | None) -> Submission:
    """The submission of ``request`` for the form ``schema``, its new files checked.

    Without ``schema`` (a form posted with no files) every value is read from the posted names:
    repeated names and ``campo.N.sub`` rows become lists, and ``engine.forms.schemas.clean`` types them.
    """
    action = request.form.get(ACTION_FIELD) or COMPLETE
    is_row_button = action.startswith(("agregar:", "quitar:"))
    values = submitted(request.form, schema, keep_blank_rows=is_row_button)
    if is_row_button:
        values = change_rows(values, action)
    result = Submission(action if is_row_button or action == DRAFT else COMPLETE, values)
    sent = {name: [f for f in request.files.getlist(name) if f.filename] for name in attachments.fields_of(schema)}
    if sum(len(files) for files in sent.values()) > attachments.MAX_FILES:  # refused before a byte is read
        result.errors.update({name: attachments.TOO_MANY_FILES for name, files in sent.items() if files})
        return result
    for name, files in sent.items():
        uploads = [(f.filename or "", f.read(attachments.MAX_BYTES + 1)) for f in files]
        try:
            for filename, data in uploads:
                attachments.check(data, filename)
        except FileRefused as refused:
            result.errors[name] = str(refused)
            continue
        if uploads:
            result.uploads[name] = uploads
    return result
