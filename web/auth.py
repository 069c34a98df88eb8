"""Signing in and out, and the rule that every page but the sign-in form needs a signed-in person.

Login is required by default (a before-request check) rather than per view, so a view
added later cannot be left open by forgetting a decorator; a public page says so with
``@public``. Each view then checks the role (``role_required``) or asks the engine, which
refuses (``Forbidden``) what the person may not do. Failed sign-ins are counted per (username,
address) and per address in the database (``engine.access.signin``). A session names the person's
session generation (``Person.get_id``): sign-out, a password reset and a deactivation move it
on and so end every session of that person, in every browser.

Each process keeps the people it has read (``SignedIn``), so a request asks one integer, not
the person and their roles: see ``SignedIn`` for why that stays correct.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from engine.access import signin
from engine.access.accounts import Actor, access_version, actor_of, sign_out
from engine.access.roles import ROLES
from engine.cases import queries
from engine.errors import Throttled
from web.ui.context import atiende
from web.ui.redirects import safe_next

if TYPE_CHECKING:
    from engine.db.models import User

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
PUBLIC_ENDPOINTS = frozenset({"auth.ingresar", "static"})
BAD_CREDENTIALS = "Usuario o contraseña incorrectos."
THROTTLED = (
    "Demasiados intentos fallidos de ingreso. Por seguridad, espere {} minuto(s) e intente de nuevo; "
    "si olvidó su contraseña, pídale al administrador que la restablezca."
)


@dataclass(frozen=True, eq=False)
class Person(UserMixin):
    """The signed-in user as plain values, so no ORM object outlives its database session.

    ``kept`` holds what is worked out from the person and the procedures in force (what they may
    start): it lasts as long as this object, which ``SignedIn`` drops at any access change.
    """

    id: int
    username: str
    full_name: str
    actor: Actor
    session_generation: int
    kept: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, user: User) -> Person:
        return cls(user.id, user.username, user.full_name, actor_of(user), user.session_generation)

    def get_id(self) -> str:
        """What the session (and any remember-me cookie) keeps: the id and the user's session generation,
        so sign-out, a password reset or a deactivation, which move the generation on, end it."""
        return f"{self.id}:{self.session_generation}"

    @property
    def role_names(self) -> list[str]:
        return sorted(ROLES.get(role, role) for role in self.actor.roles)


class SignedIn:
    """The signed-in people this process has read, by (user id, session generation), valid while
    ``access_version`` stays at the number they were read at.

    Every change to a person — roles, dirección, name, deactivation, the end of their sessions
    (sign-out, a password reset) — and every deploy counts that row up in the change's own transaction
    (``engine.access.accounts.access_changed``), whichever process makes it: this one, another web
    worker, the ``atiende`` command. Each request asks the number (``access_version``: on SQLite a
    read by key, a tenth of the join of the person and their roles; on PostgreSQL kept by the
    process and read again when a change is notified, ``engine.db.listening``); when it moved,
    every kept person is dropped and read again. So a change takes effect at the next request in
    every process, and a person is read once between changes. A time-to-live instead would read
    nothing, but would let a deactivated person or a removed role act for as long elsewhere. The
    version is asked before the person is read, so a person read while a change commits is kept
    under the older number and read again at the next request. At most one entry per active
    person: any change drops them all.
    """

    def __init__(self):
        self._people: dict[tuple[int, int], Person] = {}
        self._version = 0
        self._lock = threading.Lock()

    def person(self, user_id: int, generation: int) -> Person | None:
        """The active person whose session is at ``generation``, or None: their session has ended."""
        store = atiende().store
        version = access_version(store)
        with self._lock:
            if version != self._version:
                self._people, self._version = {}, version
            kept = self._people.get((user_id, generation))
        if kept is not None:
            return kept
        with store.read() as s:
            found = queries.active_actor(s, user_id, generation)
        if found is None:
            return None
        person = Person(user_id, *found, generation)
        with self._lock:
            if version == self._version:
                self._people[(user_id, generation)] = person
        return person


def init_app(app) -> None:
    """Wire Flask-Login, the people this process keeps and the login-required-by-default check into the app."""
    app.extensions["signed_in"] = SignedIn()
    login_manager.init_app(app)
    login_manager.login_view = "auth.ingresar"
    login_manager.login_message = "Inicie sesión para continuar."
    login_manager.login_message_category = "info"
    app.before_request(_require_login)


@login_manager.user_loader
def _load_user(session_id: str) -> Person | None:
    """The person a session names (``Person.get_id``), while that session has not been ended."""
    try:
        key, generation = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    return current_app.extensions["signed_in"].person(key, generation)


def public(view):
    """Mark a view as open to anyone (a public page): the sign-in check lets it through."""
    view.atiende_public = True
    return view


def _require_login():
    if current_user.is_authenticated or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.endpoint is not None and getattr(
        current_app.view_functions.get(request.endpoint), "atiende_public", False
    ):
        return None
    return login_manager.unauthorized()


@bp.app_template_global("tiene_rol")
def has_role(roles: Iterable[str]) -> bool:
    """Whether the signed-in person holds any of ``roles``: what the header's menu asks of each entry."""
    return bool(current_user.actor.roles.intersection(roles))


def role_required(roles: str | Iterable[str], message: str):
    """Refuse the view with 403 (and ``message``) to people with none of ``roles``."""
    allowed = frozenset({roles} if isinstance(roles, str) else roles)

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.actor.roles & allowed:
                abort(403, message)
            return view(*args, **kwargs)

        return wrapped

    return decorator


@bp.route("/ingresar", methods=("GET", "POST"))
def ingresar():
    """The sign-in form; the same error whether the user is unknown or the password wrong."""
    if current_user.is_authenticated:
        return redirect(url_for("bandeja.index"))
    error = None
    username = ""
    if request.method == "POST":
        username = request.form.get("usuario", "").strip()
        try:
            user = signin.authenticate(
                atiende(), username, request.form.get("contrasena", ""), request.remote_addr or ""
            )
        except Throttled as throttled:
            error = THROTTLED.format(throttled.minutes)
            page = render_template("auth/ingresar.html", error=error, username=username)
            return page, 429, {"Retry-After": str(throttled.seconds)}
        person = Person.of(user) if user is not None else None
        if person is not None:
            session.clear()  # a fresh session for the signed-in person
            login_user(person)
            flash(f"Bienvenido(a), {person.full_name}.", "info")
            return redirect(safe_next(request.args.get("next")) or url_for("bandeja.index"))
        error = BAD_CREDENTIALS
    return render_template("auth/ingresar.html", error=error, username=username)


@bp.post("/salir")
def salir():
    """Sign out everywhere (POST only, with the CSRF token, so no link can sign someone out)."""
    sign_out(atiende(), current_user.id)
    logout_user()
    session.clear()
    flash("Sesión cerrada.", "info")
    return redirect(url_for("auth.ingresar"))
