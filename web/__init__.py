"""The web application of Atiende: an app factory, one blueprint per area.

The factory owns everything with a lifetime (the database engine, the engine facade, the
extensions), so tests and the development server each build their own and nothing is
created at import time.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, Response, current_app, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import SecurityError

from engine.facade import Atiende
from engine.settings import Settings
from web import auth, bandeja, cases, errors, search, tasks, vendor
from web.backoffice import admin, auditoria, calendario, incidencias, procedimientos
from web.channels import (
    captura,
    duplicados,
    encuesta,
    entrada,
    open311,
    publico,
)
from web.indicators import encuestas, indicadores, mapa, transparencia
from web.paperwork import acuse, documentos
from web.ui import context, filters, guards, tokens

BLUEPRINTS = (
    auth,
    bandeja,
    tasks,
    cases,
    search,
    admin,
    entrada,
    publico,
    open311,
    duplicados,
    captura,
    procedimientos,
    incidencias,
    auditoria,
    vendor,
    documentos,
    acuse,
    calendario,
    encuesta,
    encuestas,
    indicadores,
    transparencia,
    mapa,
)

csrf = CSRFProtect()
HOST_REFUSED = (
    "Solicitud no válida: se dirigió a un nombre de servidor que esta aplicación no atiende. "
    "Use la dirección oficial de Atiende."
)
# The endpoints of files that are the same for everyone: cacheable.
ASSETS = ("static", "vendor.static", "vendor.lint.static")
HSTS = "max-age=31536000"  # a year: once a browser has seen HTTPS, it never asks over HTTP


def create_app(test_config: dict | None = None, settings: Settings | None = None) -> Flask:
    """Build the application: config, engine facade, extensions, blueprints.

    ``settings``: the process's configuration; by default read from the environment, here, once.
    The database must be migrated already (``atiende migrate``): raises ``SchemaOutdated`` if not.
    """
    settings = settings or Settings.from_environ()
    app = configured_app(test_config, settings)
    app.extensions["atiende"] = Atiende.open(app.config["DATABASE_URL"], app.config["ATIENDE_CLOCK"], settings=settings)

    guards.init_app(app)  # first: the bounded <int:...> before any route, the NUL check before CSRF's
    csrf.init_app(app)
    tokens.init_app(app)  # after CSRFProtect: its token signed once per session
    app.add_template_global(context.fixed_path, "ruta_fija")
    auth.init_app(app)
    filters.init_app(app)
    errors.init_app(app)
    for area in BLUEPRINTS:
        app.register_blueprint(area.bp)
    csrf.exempt(open311.bp)  # programs post with an api_key, not with a browser session
    # First of all before-request functions: the CSRF check would read the whole body before any view.
    app.before_request_funcs.setdefault(None, []).insert(0, publico.limit_upload)
    app.before_request_funcs[None].insert(0, _refuse_unknown_host)  # before anything reads the request
    app.after_request(_security_headers)
    return app


def configured_app(test_config: dict | None, settings: Settings) -> Flask:
    """The application with its configuration and nothing opened: where ``python -m web`` finds the
    database it migrates before ``create_app`` opens it."""
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url or f"sqlite:///{Path(app.instance_path) / 'atiende.sqlite3'}",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        # Flask refuses any other Host header (see _refuse_unknown_host); the links it would make
        # come from ATIENDE_BASE_URL anyway (web.ui.context.external_url).
        TRUSTED_HOSTS=list(settings.trusted_hosts),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        # A form may stay open for hours while an operator types a case; the token lives as long
        # as the session instead of expiring after an hour and losing the work.
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=60 * 1024 * 1024,  # a form with a few attachments of up to 10 MB each
        ATIENDE_CLOCK=None,  # tests pass a FrozenClock; None is the system clock
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.update(test_config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _persisted_secret_key(Path(app.instance_path) / "secret_key")
    return app


def _persisted_secret_key(path: Path) -> str:
    """A random key kept in the instance folder, so sessions survive a restart."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


def _refuse_unknown_host():
    """400 for a Host header not in ATIENDE_TRUSTED_HOSTS, before any other check reads the request.

    Flask found it (TRUSTED_HOSTS) and built no URL adapter for it, so the error page, which
    builds URLs, cannot be shown: a line of plain text, which does not repeat the host.
    """
    if isinstance(request.routing_exception, SecurityError):
        return Response(HOST_REFUSED, 400, content_type="text/plain; charset=utf-8")
    return None


def _security_headers(response):
    """Pages, files and answers carry citizens' personal data: no framing, no sniffing, own assets only,
    and nothing kept by a browser or a proxy (the audit CSV, a PDF, Open311's JSON as much as a page)
    but the static assets; HTTPS only, once seen, when the cookies are secure."""
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # A view may declare its answer public (/transparencia: aggregates, for someone not signed in).
    if request.endpoint not in ASSETS and not response.cache_control.public:
        response.headers["Cache-Control"] = "no-store"  # also over send_file's no-cache, which lets a copy be kept
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response
