"""What every view needs from the request's surroundings: the engine facade, the actor, a download,
the address of a page for a link that leaves the application."""

from __future__ import annotations

import io

from flask import current_app, request, send_file, url_for
from flask_login import current_user

from engine.access.accounts import Actor
from engine.facade import Atiende


def atiende() -> Atiende:
    """The engine facade the app factory built for this application."""
    return current_app.extensions["atiende"]


def external_url(endpoint: str, **values) -> str:
    """The address of a page for a link that leaves the application (an e-mail, Open311 discovery):
    ATIENDE_BASE_URL and the page's path in the application, never the request's Host header."""
    return atiende().settings.absolute_url(url_for(endpoint, **values).removeprefix(request.script_root))


def fixed_path(endpoint: str, **values) -> str:
    """The address of a page or file the same on every request (``values``: none of a request's), its
    part below the application's root made once per application: the header links a dozen of them on
    every page, each a ``url_for``. The root is the request's (``SCRIPT_NAME``, set by a proxy), never
    part of what is kept."""
    made = current_app.extensions.setdefault("fixed_paths", {})
    key = (endpoint, *sorted(values.items()))
    below = made.get(key)
    if below is None:
        below = made[key] = url_for(endpoint, **values).removeprefix(request.script_root)
    return request.script_root + below


def id_prefix(endpoint: str, **placeholder) -> str:
    """The address of ``endpoint`` up to the id its one argument ends it with (``placeholder``: a
    one-character value of that argument), for a page that links many rows: each row's address is
    the prefix and its id, not a ``url_for`` per row (a tenth of the bandeja page's time)."""
    return fixed_path(endpoint, **placeholder)[:-1]


def actor() -> Actor:
    """The signed-in person as the engine's Actor (views run only for signed-in people)."""
    return current_user.actor


def download(content: bytes, content_type: str, filename: str):
    """A file to save (not to show in the browser), never cached: what it is may change who may read it."""
    return send_file(io.BytesIO(content), mimetype=content_type, as_attachment=True, download_name=filename, max_age=0)
