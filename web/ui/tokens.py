"""The CSRF token a session's forms carry, signed once per session in each process, not on every page.

Flask-WTF signs the session's secret anew for every page that shows a form (a serializer, an
HMAC, base64): about 0.15 ms a page, 2.6 % of the web processes' CPU under load. Its check
accepts any token signed from the session's secret while ``WTF_CSRF_TIME_LIMIT`` is None
(``web.configured_app``: a form may stay open for hours), so one signed token serves all of a
session's pages; with a time limit set, every page signs its own again, as Flask-WTF does.
"""

from __future__ import annotations

import functools

from flask import Flask, current_app, g, session
from flask_wtf.csrf import generate_csrf

SESSIONS_KEPT = 10_000  # sessions whose token a process keeps: about 2 MB


def init_app(app: Flask) -> None:
    """Templates call ``csrf_token()`` through this module (after ``CSRFProtect.init_app``, which set its own)."""
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})


def csrf_token() -> str:
    """The token for the forms of this request's session: what Flask-WTF's ``generate_csrf`` gives."""
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")  # where the session keeps its secret
    if config.get("WTF_CSRF_TIME_LIMIT") is not None:
        return generate_csrf()  # a token that expires is signed on each page
    if field not in session:
        generate_csrf()  # a session's first form sets its secret
    return _signed(config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, field, session[field])


@functools.lru_cache(maxsize=SESSIONS_KEPT)
def _signed(signing_key: str, field: str, secret: str) -> str:
    """Flask-WTF's token for the session holding ``secret``, signed with ``signing_key``: the token it
    keeps for the request (``g``) is dropped first, so it is signed from that secret, whatever came before."""
    g.pop(field, None)
    return generate_csrf()
