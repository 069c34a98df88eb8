"""Input no view should see: a NUL character anywhere in a request, an id no database column holds.

Neither is ever legitimate, and both crash deep down instead of being refused: PostgreSQL's
text cannot hold NUL (the driver raises), and an id beyond PostgreSQL's INTEGER (every id
column's type) is refused by PostgreSQL, and beyond 64 bits by SQLite's driver too. So the app
refuses them once, here, before any view runs: a request carrying NUL gets a 400, an
``<int:...>`` segment beyond ``MAX_ID`` does not match its route (404), and ids and numbers read
from a query or a form go through ``number``.
"""

from __future__ import annotations

from flask import abort, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL's largest INTEGER, the type of every id column
NUL_REFUSED = "La solicitud contiene caracteres no permitidos (un carácter nulo). Revise lo que escribió."


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: a database id, so 0 to ``MAX_ID``; beyond it the route does not match."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app) -> None:
    """Make ``int`` the bounded converter (before any route is added) and refuse NUL on every request."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul)


def refuse_nul():
    """400 for a NUL in the path, a query or form name or value, or an uploaded file's name."""
    texts = [request.path]
    for values in (request.args, request.form):
        for name, value in values.items(multi=True):
            texts += (name, value)
    for name, upload in request.files.items(multi=True):
        texts += (name, upload.filename or "")
    if any("\x00" in text for text in texts):
        abort(400, NUL_REFUSED)


def number(text: str | None) -> int | None:
    """A whole number typed in a query or a form (an id, a page), or None if it is not one a database holds."""
    text = (text or "").strip()
    if not text.isdecimal() or len(text) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if value <= MAX_ID else None
