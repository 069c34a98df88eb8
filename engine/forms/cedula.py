"""The cédula de identidad personal: its one rule, and the canonical form it is kept in.

People write a cédula with spaces, dots, en or em dashes (a word processor turns «-» into
«–»), in small letters or with the leading zeros of the printed card; the case keeps
``8-123-4567``, ``PE-12-345``, ``E-8-123456``, ``N-19-1234``, ``8AV-123-456``, so a search,
the status lookup and the per-citizen limits find the same person however it was typed.
A form field says ``"format": "cedula"`` (``engine.forms.schemas`` normalises and checks it);
this module is the only place the rule lives.
"""

from __future__ import annotations

import re

# Province 1–13 (with AV or PI for the old registries), E (foreigner), N (naturalised),
# PE (Panamanian born abroad); then tomo and asiento.
RULE = re.compile(r"^(?:(?:[1-9]|1[0-3])(?:AV|PI)?|E|N|PE)-[0-9]{1,4}-[0-9]{1,6}$")
ERROR = "Escriba la cédula como aparece en el documento, por ejemplo 8-123-4567, PE-12-345 o E-8-123456."
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212.]+")  # spaces, hyphens and dashes of every kind, dots
MAX_WRITTEN = 40  # longer is not a cédula, however spaced (and int() of a long run of digits is refused)
_PREFIX = re.compile(r"^([0-9]{1,2})(AV|PI)$")


def normalized(text: str) -> str:
    """The canonical form of a cédula as written; text that is not one comes back trimmed, to be refused."""
    if len(text) > MAX_WRITTEN:
        return text.strip()
    parts = [part for part in _SEPARATORS.split(text.strip().upper()) if part]
    if len(parts) == 4 and parts[0].isdecimal() and parts[1] in ("AV", "PI"):  # «8 AV 123 456»
        parts = [parts[0] + parts[1], *parts[2:]]
    if len(parts) != 3:
        return text.strip()
    prefix = _PREFIX.match(parts[0])
    if prefix:
        parts[0] = str(int(prefix[1])) + prefix[2]
    elif parts[0].isdecimal():
        parts[0] = str(int(parts[0]))
    candidate = "-".join([parts[0], *(str(int(p)) if p.isdecimal() else p for p in parts[1:])])
    return candidate if valid(candidate) else text.strip()


def valid(text: str) -> bool:
    """Whether ``text`` is a cédula in its canonical form."""
    return RULE.match(text) is not None
