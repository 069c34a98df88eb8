"""E-mail addresses: one rule, checked where an address enters and again before a message is written.

The rule is email-validator's syntax check (RFC 5321/5322 as mail servers apply it), without
asking the DNS: forms, the public report, Open311, the mailbox and the admin's people all use
``problem``, and the outbox leaves out what it refuses, so an address typed before the rule
existed fails its message, never the step that sends it.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

INVALID = "La dirección de correo no es válida: "
# email-validator explains in English; the office reads Spanish. Its reasons, by what they mention.
_REASONS = (
    ("must have an @-sign", "falta la arroba (@)."),
    ("something before the @-sign", "falta el nombre antes de la @."),
    ("something after the @-sign", "falta el dominio después de la @."),
    ("should have a period", "el dominio después de la @ debe llevar un punto, como en correo.pa."),
    ("special-use or reserved", "el dominio después de la @ está reservado y no recibe correo."),
    ("too long", "es demasiado larga."),
    ("character", "tiene espacios, saltos de línea u otros caracteres que no van en una dirección."),
)
_OTHERWISE = "revise cómo está escrita (nombre@dominio.pa)."


def problem(address: str) -> str | None:
    """Why ``address`` cannot receive mail, in Spanish; None when it can."""
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as refused:
        reason = str(refused)
        return INVALID + next((spanish for clue, spanish in _REASONS if clue in reason), _OTHERWISE)
    return None
