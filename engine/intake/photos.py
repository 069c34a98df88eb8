"""Photos citizens upload with a Reporte Ciudadano: images only, few, and not too big.

The type is the attachment store's reading of the bytes (``engine.cases.attachments.kind_of``),
never the name or the browser's word; on top of its rules a public form takes only
images, at most ``MAX_PHOTOS`` of at most ``MAX_BYTES`` each.
"""

from __future__ import annotations

from engine.cases import attachments
from engine.errors import FileRefused, PhotoError

MAX_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 5
ACCEPT = ".jpg,.jpeg,.png,.webp"  # for the file input; the server decides by content


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
        if not data or kind is None or not kind.content_type.startswith("image/"):
            raise PhotoError(f"«{name}» no es una foto en formato JPG, PNG o WebP.")
    return chosen
