"""A raw e-mail as the intake needs it: who wrote, about what, the text, the files, its identity.

Parsing is lenient (the mailbox holds whatever the world sent) and bounded: the text is cut
to what a case can hold, and only so many attachments of so many bytes are kept.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from typing import cast

from engine.intake import html_text
from engine.mail import addresses

MAX_BODY = 20_000  # characters kept of a body; the case form takes the first 4,000
MAX_SUBJECT = 300
MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
TICKET = re.compile(r"\b([A-Z]{2,5}-\d{4}-\d{6})\b")
NO_SUBJECT = "(sin asunto)"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMail:
    """One message, reduced to what the intake keeps."""

    message_id: str  # the Message-ID header, or a stand-in made from the message's bytes
    sender_email: str
    sender_name: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()
    automatic: bool = False  # an auto-reply, a bounce, a list: never answered automatically
    skipped_attachments: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        """The unique key of the message: the hash of its normalised Message-ID."""
        return message_key(self.message_id)

    @property
    def ticket(self) -> str | None:
        """The first ticket number named in the subject, if any."""
        found = TICKET.search(self.subject.upper())
        return found.group(1) if found else None


def message_key(message_id: str) -> str:
    return hashlib.sha256(message_id.strip().strip("<>").lower().encode("utf-8", "replace")).hexdigest()


def parse(raw: bytes) -> ParsedMail:
    """Read a message's bytes; never raises on a malformed message."""
    message: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)
    message_id = _header(message, "Message-ID").strip()
    if not message_id:
        # Without a Message-ID the bytes themselves are the identity, so a re-read is still "the same"
        # (line endings aside: IMAP hands back CRLF whatever the sender wrote).
        digest = hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()
        message_id = f"<sin-message-id-{digest}@atiende>"
    name, email = _sender(message)
    attachments, skipped = _attachments(message)
    subject = " ".join(_header(message, "Subject").split())[:MAX_SUBJECT] or NO_SUBJECT
    return ParsedMail(
        message_id=message_id[:500],
        sender_email=email,
        sender_name=name,
        subject=subject,
        body=_body(message)[:MAX_BODY],
        attachments=tuple(attachments),
        automatic=_automatic(message, email),
        skipped_attachments=tuple(skipped),
    )


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
        return str(value) if value is not None else ""
    except (ValueError, IndexError, TypeError, LookupError):  # a header the policy cannot parse
        return ""


def _sender(message: EmailMessage) -> tuple[str, str]:
    """Who wrote (name, address to answer); an address that does not validate is no address to answer.

    It stays in the name, as the header said it, for the operator to read.
    """
    source = _header(message, "Reply-To") or _header(message, "From")
    for name, email in getaddresses([source]):
        if "@" in email:
            email = email.strip().lower()
            if addresses.problem(email) is None:
                return " ".join(name.split())[:200], email
    return " ".join(source.split())[:200], ""


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset or broken encoding
        payload = cast("bytes | None", part.get_payload(decode=True)) or b""  # decoded: bytes (None if multipart)
        content = payload.decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        return html_text.to_text(content)
    return content.replace("\r\n", "\n").strip()


def _attachments(message: EmailMessage) -> tuple[list[Attachment], list[str]]:
    kept: list[Attachment] = []
    skipped: list[str] = []
    for part in message.iter_attachments():
        filename = part.get_filename() or "adjunto"
        data = cast("bytes | None", part.get_payload(decode=True)) or b""  # decoded: bytes (None if multipart)
        if len(kept) >= MAX_ATTACHMENTS or len(data) > MAX_ATTACHMENT_BYTES:
            skipped.append(filename)
            continue
        kept.append(Attachment(filename[:200], part.get_content_type(), data))
    return kept, skipped


def _automatic(message: EmailMessage, sender: str) -> bool:
    """Auto-replies, bounces and list mail (RFC 3834): answering them would start a mail loop."""
    auto = _header(message, "Auto-Submitted").strip().lower()
    precedence = _header(message, "Precedence").strip().lower()
    local = sender.split("@", 1)[0]
    return (
        (bool(auto) and auto != "no")
        or precedence in {"bulk", "junk", "list", "auto_reply"}
        or bool(_header(message, "List-Id"))
        or local in {"mailer-daemon", "postmaster", "no-reply", "noreply"}
        or not sender
    )
