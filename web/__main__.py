"""``python -m web``: the development server for the demo, with its data and the timer worker.

Not for production (use a WSGI server and ``atiende timers``); it makes a first look one
command: SQLite under instance/ unless DATABASE_URL says otherwise, demo users and cases
when the database is empty, timers swept every 30 seconds, the outbox sent every 30 seconds
when an SMTP server is configured.
"""
from __future__ import annotations

import logging
import os
import threading

from engine import demo, demo_procedures, mail
from engine.cli import timer_worker
from engine.intake import mailbox
from web import create_app

HOST = "127.0.0.1"
TIMER_INTERVAL = 30.0
MAILBOX_INTERVAL = 60.0
OUTBOX_INTERVAL = 30.0


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("spiff").setLevel(logging.WARNING)  # one line per task state change otherwise
    app = create_app()
    atiende = app.extensions["atiende"]
    if demo.seed(atiende):
        demo_procedures.seed(atiende)
        print(f"Datos de demostración cargados. Usuarios: {', '.join(u[0] for u in demo.DEMO_USERS)}; "
              f"contraseña: {demo.DEMO_PASSWORD}")
    stop = threading.Event()
    threading.Thread(target=timer_worker, args=(atiende, TIMER_INTERVAL, stop),
                     name="atiende-temporizadores", daemon=True).start()
    imap = mailbox.ImapSettings.from_env()
    if imap is not None:  # the institutional mailbox, when ATIENDE_IMAP_HOST is set
        threading.Thread(target=mailbox.mailbox_worker, args=(atiende, imap, MAILBOX_INTERVAL, stop),
                         name="atiende-buzon", daemon=True).start()
    smtp = mail.MailSettings.from_env()
    if smtp.configured:  # without ATIENDE_SMTP_HOST (the demo) messages stay readable in the outbox page
        threading.Thread(target=mail.mail_worker, args=(mail.MailWorker(atiende.store, smtp), OUTBOX_INTERVAL, stop),
                         name="atiende-correo", daemon=True).start()
    try:
        app.run(host=HOST, port=int(os.environ.get("PORT", "5000")), use_reloader=False)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
