"""Photos citizens upload with a Reporte Ciudadano: images only, few, and not too big.

The type is the attachment store's reading of the bytes (``engine.cases.attachments.kind_of``),
never the name or the browser's word; on top of its rules a public form takes only the
photo formats ``KINDS`` (JPG, PNG, WebP), at most ``MAX_PHOTOS`` of at most ``MAX_BYTES`` each.
The page's file input and its help text are made from ``KINDS`` too, so they say what the check does.
"""

from __future__ import annotations

from engine.cases import attachments
from engine.errors import FileRefused, PhotoError

MAX_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 5
_FORMATS = {"image/jpeg": "JPG", "image/png": "PNG", "image/webp": "WebP"}  # what a phone takes, by name
KINDS = tuple(kind for kind in attachments.ACCEPTED if kind.content_type in _FORMATS)
ACCEPT = ",".join(ext for kind in KINDS for ext in kind.extensions)  # for the file input; the server decides by content
NAMES = ", ".join(_FORMATS[k.content_type] for k in KINDS[:-1]) + f" o {_FORMATS[KINDS[-1].content_type]}"


def check(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The chosen files if every one is an acceptable photo; an empty file input is ignored."""
    chosen = [(name, data) for name, data in files if name or data]
    if len(chosen) > MAX_PHOTOS:
        raise PhotoError(f"Puede adjuntar hasta {MAX_PHOTOS} fotos.")
    for name, data in chosen:
        if len(data) > MAX_BYTES:
            raise PhotoError(f"La foto «{name}» supera el máximo de {MAX_BYTES // (1024 * 1024)} MB.")
        try:
            kind = attachments.kind_of(data, name)
        except FileRefused:
            kind = None
        if not data or kind not in KINDS:
            raise PhotoError(f"«{name}» no es una foto en formato {NAMES}.")
    return chosen
