"""Where a request may send the browser next: the one check of every redirect target a request names.

Sign-in's ``next``, the bandeja's and the case page's ``volver``: a target that came with the
request goes through ``safe_next`` before it reaches ``redirect`` or a link, so no parameter turns
the office's address into a jump to another site (an open redirect, a phishing aid).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

# What browsers drop from a URL before reading it (WHATWG URL: tab, CR, LF anywhere).
_DROPPED = re.compile(r"[\t\r\n]")


def safe_next(target: str | None) -> str | None:
    """``target``'s path and query if it points into this site, else None.

    Decided on the target as a browser reads it: tab, CR and LF removed and a backslash taken
    for a slash (``/\\t/evil.example`` and ``/\\evil.example`` are ``//evil.example``, another host),
    and on its percent-decoded form too, in case something decodes it once more. Only a path that
    starts with one slash passes: no scheme (``javascript:``), no host, no ``//``.
    """
    if not target:
        return None
    read = _DROPPED.sub("", target).replace("\\", "/")
    for text in (read, _DROPPED.sub("", unquote(read)).replace("\\", "/")):
        parts = urlsplit(text)
        if parts.scheme or parts.netloc or not text.startswith("/") or text.startswith("//"):
            return None
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):  # other control characters: never in a path
            return None
    parts = urlsplit(read)
    return urlunsplit(("", "", parts.path, parts.query, ""))
