"""What every view needs from the request's surroundings: the engine facade, the actor, a download."""

from __future__ import annotations

import io

from flask import current_app, send_file
from flask_login import current_user

from engine.access.accounts import Actor
from engine.facade import Atiende


def atiende() -> Atiende:
    """The engine facade the app factory built for this application."""
    return current_app.extensions["atiende"]


def actor() -> Actor:
    """The signed-in person as the engine's Actor (views run only for signed-in people)."""
    return current_user.actor


def download(content: bytes, content_type: str, filename: str):
    """A file to save (not to show in the browser), never cached: what it is may change who may read it."""
    return send_file(io.BytesIO(content), mimetype=content_type, as_attachment=True, download_name=filename, max_age=0)
