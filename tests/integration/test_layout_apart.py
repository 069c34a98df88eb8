"""The web server holds no layout library (engine/paperwork/documents.py, engine/paperwork/rendering.py).

WeasyPrint, ReportLab and openpyxl are imported by the first document laid out, and the documents
pass of ``python -m web`` lays them out in a child process: each check runs in a fresh
interpreter, as the test process itself has long imported them all.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.db.models import AuditEvent, Document
from engine.paperwork import rendering

ROOT = Path(__file__).resolve().parents[2]
LAYOUT = ("weasyprint", "openpyxl", "reportlab")
LOADED = f"sorted({{m.split('.')[0] for m in sys.modules}} & {set(LAYOUT)!r})"


def fresh_interpreter(code: str) -> str:
    """What ``code`` prints, run by a new Python in the repository."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_the_web_application_imports_no_layout_library(store):
    config = {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": store.url}
    printed = fresh_interpreter(f"import sys, web\nweb.create_app({config!r})\nprint({LOADED})")

    assert printed == "[]\n"


def test_a_pass_apart_renders_in_a_child_and_the_caller_lays_out_nothing(office, monkeypatch):
    case_id = office.start()
    office.remit(case_id)
    [hoja] = office.rows(Document, kind="hoja_de_tramite")

    printed = fresh_interpreter(
        "import sys\n"
        "from engine.db.store import Store\n"
        "from engine.paperwork import rendering\n"
        f"print(rendering.render_pending_apart(Store({office.store.url!r}), 10), {LOADED})"
    )

    assert printed == "1 []\n"
    with office.store.read() as s:
        assert s.get(Document, hoja.id).content.startswith(b"%PDF")
    assert len(office.rows(AuditEvent, kind="documento_renderizado")) == 1

    def no_child(*args, **kwargs):
        raise AssertionError("a child started with no document pending")

    monkeypatch.setattr(rendering.subprocess, "run", no_child)
    assert rendering.render_pending_apart(office.store, 10) == 0


def test_a_child_renders_batch_after_batch_while_they_come_full(office):
    for _ in range(3):
        office.remit(office.start())
    hojas = office.rows(Document, kind="hoja_de_tramite")
    assert len(hojas) == 3

    assert rendering.render_pending_apart(office.store, 2) == 3  # a full batch of 2, then the last one

    with office.store.read() as s:
        assert all(s.get(Document, hoja.id).content.startswith(b"%PDF") for hoja in hojas)
