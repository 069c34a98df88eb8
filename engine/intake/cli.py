"""The channels' commands of ``atiende``: read the mailbox, manage Open311 API keys."""

from __future__ import annotations

import sys
import threading

from engine.errors import MailboxError
from engine.facade import Atiende
from engine.intake import mailbox, open311

COMMANDS = ("correo", "open311-clave")


def add_commands(sub) -> None:
    """Add the subcommands to the ``atiende`` parser."""
    mail = sub.add_parser("correo", help="leer el buzón institucional por IMAP (ATIENDE_IMAP_*)")
    mail.add_argument("--interval", type=float, default=60.0)
    mail.add_argument("--once", action="store_true")
    keys = sub.add_parser("open311-clave", help="claves de la API Open311").add_subparsers(
        dest="key_command", required=True
    )
    create = keys.add_parser("crear", help="crear una clave (se muestra una sola vez)")
    create.add_argument("nombre", help="quién la usará, p. ej. «App 311 móvil»")
    create.add_argument("--by", default="cli")
    revoke = keys.add_parser("revocar", help="revocar una clave")
    revoke.add_argument("id", type=int)
    revoke.add_argument("--by", default="cli")
    keys.add_parser("listar", help="listar las claves")


def run(args, atiende: Atiende) -> int:
    if args.command == "correo":
        return _mail(args, atiende)
    now = atiende.now()
    if args.key_command == "crear":
        print(open311.create_key(atiende.store, args.nombre, args.by, now))
    elif args.key_command == "revocar":
        try:
            open311.revoke_key(atiende.store, args.id, args.by, now)
        except LookupError as missing:
            print(missing, file=sys.stderr)
            return 1
    else:
        with atiende.store.read() as s:
            for key in open311.keys(s):
                state = f"revocada {key.revoked_at:%d/%m/%Y}" if key.revoked_at else "activa"
                print(f"{key.id}\t{key.name}\t{state}")
    return 0


def _mail(args, atiende: Atiende) -> int:
    settings = atiende.settings.imap
    if settings is None:
        print(
            "Configure el buzón: ATIENDE_IMAP_HOST, ATIENDE_IMAP_USER, ATIENDE_IMAP_PASSWORD "
            "(y ATIENDE_IMAP_PORT, ATIENDE_IMAP_TLS, ATIENDE_IMAP_FOLDER si hace falta).",
            file=sys.stderr,
        )
        return 1
    if args.once:
        try:
            print(mailbox.poll(atiende, settings))
        except MailboxError as down:
            print(down, file=sys.stderr)
            return 1
        return 0
    stop = threading.Event()
    try:
        mailbox.mailbox_worker(atiende, settings, args.interval, stop)
    except KeyboardInterrupt:
        stop.set()
    return 0
