"""``python -m web``: the application served by Waitress, with the timer worker beside it.

A first look is one command: SQLite under instance/ unless DATABASE_URL says otherwise, its
schema migrated first (this is the only process of a first look; an installation runs
``atiende migrate`` before starting its processes), demo users and a desk of a few hundred cases
(``engine.demo.desk``) when the database is empty, timers swept every 30 seconds, the outbox sent
every 30 seconds when an SMTP server is
configured (without one, the documents steps ask for are still made, every 10 seconds).
Waitress is a production WSGI server: whole cases through it ran 1.7 times as fast as through
Werkzeug's development server (bench/http_cases.py). ATIENDE_THREADS sets its worker threads.
A larger installation runs the same ``web:create_app()`` under any WSGI server, with
``atiende timers`` as its own process.

``main`` caps glibc's memory arenas (``web.serving.arenas``) before any thread starts.
"""

from __future__ import annotations

import logging
import threading

import waitress

from engine.cli import timer_worker
from engine.demo import desk as demo_desk
from engine.demo import procedures as demo_procedures
from engine.demo import seed as demo
from engine.facade import migrate
from engine.intake import mailbox
from engine.mail import smtp
from engine.paperwork import rendering
from engine.settings import Settings
from web import configured_app, create_app
from web.serving import arenas

HOST = "127.0.0.1"
TIMER_INTERVAL = 30.0
MAILBOX_INTERVAL = 60.0
OUTBOX_INTERVAL = 30.0
DOCUMENTS_INTERVAL = 10.0


def main() -> None:
    arenas.cap()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("spiff").setLevel(logging.WARNING)  # one line per task state change otherwise
    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # one line per layout stage otherwise
    settings = Settings.from_environ()
    migrate(configured_app(None, settings).config["DATABASE_URL"])
    app = create_app(settings=settings)
    atiende = app.extensions["atiende"]
    if demo.seed(atiende):
        demo_procedures.seed(atiende)
        print("Cargando la oficina de demostración (unos segundos)…", flush=True)
        made = demo_desk.seed(atiende)  # a few hundred cases of the last weeks: a desk at work
        users = [u[0] for u in demo.DEMO_USERS + demo_desk.DESK_USERS]
        print(
            f"Datos de demostración cargados: {demo_desk.summary(made)}. Usuarios: {', '.join(users)}; "
            f"contraseña: {demo.DEMO_PASSWORD}"
        )
    stop = threading.Event()
    threading.Thread(
        target=timer_worker, args=(atiende, TIMER_INTERVAL, stop), name="atiende-temporizadores", daemon=True
    ).start()
    imap = settings.imap
    if imap is not None:  # the institutional mailbox, when ATIENDE_IMAP_HOST is set
        threading.Thread(
            target=mailbox.mailbox_worker,
            args=(atiende, imap, MAILBOX_INTERVAL, stop),
            name="atiende-buzon",
            daemon=True,
        ).start()
    if settings.smtp.configured:  # the outbox worker also renders the documents steps asked for
        threading.Thread(
            target=smtp.mail_worker,
            args=(smtp.MailWorker(atiende.store, settings.smtp), OUTBOX_INTERVAL, stop),
            name="atiende-correo",
            daemon=True,
        ).start()
    else:  # the demo: messages stay readable in the outbox page; documents are still made, in a child
        threading.Thread(
            target=rendering.rendering_worker,
            args=(atiende.store, rendering.BATCH, DOCUMENTS_INTERVAL, stop, rendering.render_pending_apart),
            name="atiende-documentos",
            daemon=True,
        ).start()
    try:
        print(f"Atiende en http://{HOST}:{settings.port}", flush=True)
        waitress.serve(app, host=HOST, port=settings.port, threads=settings.threads, ident="Atiende")
    finally:
        stop.set()
