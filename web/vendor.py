"""The browser libraries installed from npm (``make install`` runs ``npm ci`` and ``npm run build`` in
web/assets).

Nothing third-party is committed: bpmn-js's prebuilt bundles and stylesheets are served
from ``web/assets/node_modules`` under /vendor/bpmn-js/, and the lint-as-you-edit bundle that
esbuild makes from bpmn-js-bpmnlint and Atiende's own rules (web/assets/src,
web/assets/bpmnlint-plugin-atiende) from ``web/assets/dist`` under /vendor/atiende/, like the
app's own static files (own origin, so the Content-Security-Policy stays ``'self'``).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

ASSETS = Path(__file__).parent / "assets"
BPMN_JS_DIST = ASSETS / "node_modules" / "bpmn-js" / "dist"
LINT_DIST = ASSETS / "dist"

bp = Blueprint("vendor", __name__, static_folder=str(BPMN_JS_DIST), static_url_path="/vendor/bpmn-js")
lint = Blueprint("lint", __name__, static_folder=str(LINT_DIST), static_url_path="/vendor/atiende")
bp.register_blueprint(lint)


def bpmn_js_installed() -> bool:
    """Whether the set-up installed bpmn-js (pages say so instead of showing a broken editor)."""
    return (BPMN_JS_DIST / "bpmn-modeler.production.min.js").is_file()


def lint_installed() -> bool:
    """Whether the set-up built the lint bundle (without it the editor still edits; «Validar» still checks)."""
    return (LINT_DIST / "atiende-lint.js").is_file()
