"""What every view needs from the request's surroundings: the engine facade and the actor."""
from __future__ import annotations

from flask import current_app
from flask_login import current_user

from engine.accounts import Actor
from engine.services import Atiende


def atiende() -> Atiende:
    """The engine facade the app factory built for this application."""
    return current_app.extensions["atiende"]


def actor() -> Actor:
    """The signed-in person as the engine's Actor (views run only for signed-in people)."""
    return current_user.actor
