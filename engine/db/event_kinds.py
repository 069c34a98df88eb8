"""The kinds of audit event, each stored as one byte (``engine.db.models.EventKind``, migration 0034).

An event's kind is a word such as ``tarea_completada``, 16 bytes on average, held in its row and
again in the two indexes by kind (the auditor's filter, and a case's events of a kind): on a case's
15 or so events, about a twentieth of the database (bench/storage.py). Each kind the engine records
has a number here and is stored as that one byte. A kind with none (one added since) is stored as
``UNNUMBERED`` and its UTF-8 text, and reads back the same; give it the next number here.

A number once given is never changed nor given to another kind: stored events are read by it. A
new number comes with a migration (an empty one will do), so that a release that does not know it
refuses the database rather than read those events' kinds as «tipo_<number>», which their hashes
would not match.
"""

from __future__ import annotations

NUMBERS: dict[str, int] = {
    "caso_creado": 1,
    "tarea_completada": 2,
    "paso_automatico": 3,
    "estado_cambiado": 4,
    "plazo_fijado": 5,
    "temporizador_disparado": 6,
    "tarea_renovada": 7,
    "correo_en_cola": 8,
    "documento_generado": 9,
    "documento_renderizado": 10,
    "mensaje_recibido": 11,
    "acuse_en_papel": 12,
    "tarea_tomada": 13,
    "tarea_liberada": 14,
    "tarea_reasignada": 15,
    "borrador_guardado": 16,
    "nota_interna": 17,
    "caso_vinculado": 18,
    "caso_migrado": 19,
    "correo_recibido": 20,
    "correo_reenviado": 21,
    "correo_direccion_invalida": 22,
    "entrada_convertida": 23,
    "entrada_descartada": 24,
    "consentimiento_datos": 25,
    "incidencia_registrada": 26,
    "incidencia_reintentada": 27,
    "incidencia_resuelta": 28,
    "error_temporizador": 29,
    "error_programacion": 30,
    "programacion_ejecutada": 31,
    "procedimiento_desplegado": 32,
    "cadena_sellada": 33,
    "usuario_creado": 34,
    "usuario_modificado": 35,
    "usuario_activado": 36,
    "usuario_desactivado": 37,
    "contrasena_restablecida": 38,
    "catalogo_agregado": 39,
    "catalogo_renombrado": 40,
    "catalogo_activado": 41,
    "catalogo_desactivado": 42,
    "dia_libre_agregado": 43,
    "dia_libre_quitado": 44,
    "open311_clave_creada": 45,
    "open311_clave_revocada": 46,
}
KINDS = {number: kind for kind, number in NUMBERS.items()}
UNNUMBERED = 0xFF  # first byte of a kind stored as its text


def stored(kind: str) -> bytes:
    """A kind as its column holds it: its number's byte, or ``UNNUMBERED`` and its text."""
    number = NUMBERS.get(kind)
    return bytes((number,)) if number is not None else bytes((UNNUMBERED,)) + kind.encode(errors="surrogatepass")


def read(value: bytes) -> str:
    """The kind a stored value holds; a number this release does not know reads as «tipo_<number>»."""
    if len(value) == 1 and value[0] != UNNUMBERED:
        return KINDS.get(value[0], f"tipo_{value[0]}")
    return value[1:].decode(errors="replace")
