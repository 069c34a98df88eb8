"""The browser libraries installed from npm (``make install`` runs ``npm ci`` in web/assets).

Nothing third-party is committed: bpmn-js's prebuilt bundles and stylesheets are served
from ``web/assets/node_modules`` under /vendor/bpmn-js/, like the app's own static files
(own origin, so the Content-Security-Policy stays ``'self'``).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

BPMN_JS_DIST = Path(__file__).parent / "assets" / "node_modules" / "bpmn-js" / "dist"

bp = Blueprint("vendor", __name__, static_folder=str(BPMN_JS_DIST), static_url_path="/vendor/bpmn-js")


def bpmn_js_installed() -> bool:
    """Whether the set-up installed bpmn-js (pages say so instead of showing a broken editor)."""
    return (BPMN_JS_DIST / "bpmn-modeler.production.min.js").is_file()
