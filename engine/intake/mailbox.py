"""Reading the institutional mailbox over IMAP: each new message taken once, then flagged.

Order matters for "exactly once, even after a crash": a message is first *taken* (its
Message-ID committed with its intake item), and only then flagged on the server. A crash
between the two leaves the message unflagged; the next poll reads it again, finds its
Message-ID and only flags it. A crash before the commit leaves nothing behind at all.

The flag is a keyword of our own (``$AtiendeRecibido``) where the server allows keywords,
so a person reading the mailbox in a mail client (which marks messages \\Seen) hides
nothing from the intake; otherwise \\Seen.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
from dataclasses import dataclass

from engine.errors import MailboxError
from engine.facade import Atiende
from engine.intake import emails, items
from engine.settings import ImapSettings

log = logging.getLogger("atiende.correo")

KEYWORD = "$AtiendeRecibido"
TIMEOUT = 30.0


@dataclass(frozen=True)
class PollResult:
    read: int = 0
    new_items: int = 0
    joined: int = 0
    repeated: int = 0
    failed: int = 0


def connect(settings: ImapSettings) -> imaplib.IMAP4:
    """A logged-in connection, encrypted unless the settings say none."""
    imap: imaplib.IMAP4 | None = None
    try:
        if settings.tls == "ssl":
            imap = imaplib.IMAP4_SSL(
                settings.host, settings.port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT
            )
        else:
            imap = imaplib.IMAP4(settings.host, settings.port, timeout=TIMEOUT)
            if settings.tls == "starttls":
                imap.starttls(ssl.create_default_context())
        imap.login(settings.user, settings.password)
        return imap
    except (OSError, imaplib.IMAP4.error) as exc:
        if imap is not None:
            imap.shutdown()
        raise MailboxError(
            f"no se pudo entrar al buzón {settings.user}@{settings.host}:{settings.port}: {exc}"
        ) from exc


def poll(atiende: Atiende, settings: ImapSettings, limit: int = 200) -> PollResult:
    """Take every message not yet flagged (up to ``limit``), oldest first."""
    imap = connect(settings)
    try:
        typ, _ = imap.select(_quoted(settings.folder))
        if typ != "OK":
            raise MailboxError(f"no existe la carpeta «{settings.folder}» en el buzón")
        flag = _flag(imap)
        # imaplib leaves a None argument out (here: SEARCH without CHARSET); typeshed's uid() takes str only.
        if flag == KEYWORD:
            typ, data = imap.uid("SEARCH", None, "UNKEYWORD", flag)  # type: ignore[arg-type]
        else:
            typ, data = imap.uid("SEARCH", None, "UNSEEN")  # type: ignore[arg-type]
        uids = data[0].split()[:limit] if typ == "OK" and data and data[0] else []
        counts = {"entrada": 0, "unido": 0, "repetido": 0}
        failed = 0
        for uid in uids:
            try:
                raw = _fetch(imap, uid)
                taken = items.take_mail(atiende, emails.parse(raw))
            except Exception:  # one bad message must not stop the mailbox
                failed += 1
                log.exception("could not take message uid %s", uid.decode())
                continue
            counts[taken.outcome] += 1
            imap.uid("STORE", uid, "+FLAGS", f"({flag})")
        return PollResult(len(uids), counts["entrada"], counts["unido"], counts["repetido"], failed)
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            imap.logout()


def _flag(imap: imaplib.IMAP4) -> str:
    """Our keyword if the folder keeps new keywords (PERMANENTFLAGS has \\*), else \\Seen."""
    _, data = imap.response("PERMANENTFLAGS")
    allowed = b" ".join(d for d in data if isinstance(d, bytes))
    return KEYWORD if b"\\*" in allowed else "\\Seen"


def _fetch(imap: imaplib.IMAP4, uid: bytes) -> bytes:
    # BODY.PEEK leaves \Seen alone: a message is marked only after it has been taken.
    typ, data = imap.uid("FETCH", uid, "(BODY.PEEK[])")  # type: ignore[arg-type]  # imaplib takes bytes too
    for part in data or []:
        if isinstance(part, tuple) and len(part) == 2:
            return part[1]
    raise MailboxError(f"el servidor no devolvió el mensaje {uid.decode()} ({typ})")


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mailbox_worker(atiende: Atiende, settings: ImapSettings, interval: float, stop) -> None:
    """Poll the mailbox every ``interval`` seconds until ``stop`` (a threading.Event) is set."""
    while not stop.is_set():
        try:
            result = poll(atiende, settings)
            if result.read:
                log.info("correo: %s", result)
        except Exception:  # the worker must outlive a mailbox that is down
            log.exception("mailbox poll failed")
        stop.wait(interval)
