"""The channels' blueprints (issue 6), registered together: the mailbox's inbox, the public
pages, the Open311 API, the quick captures and the duplicate links."""
from __future__ import annotations

from flask_wtf.csrf import CSRFProtect

from web import captura, duplicados, entrada, open311, publico


def init_app(app, csrf: CSRFProtect) -> None:
    """Register the blueprints; ``csrf`` is the app's protection, which a public API is exempt from."""
    for blueprint in (entrada.bp, publico.bp, open311.bp, duplicados.bp, captura.bp):
        app.register_blueprint(blueprint)
    csrf.exempt(open311.bp)  # programs post with an api_key, not with a browser session
    # First of all before-request functions: the CSRF check would read the whole body before any view.
    app.before_request_funcs.setdefault(None, []).insert(0, publico.limit_upload)
