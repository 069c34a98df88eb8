"""The approved texts of the office's e-mails: data files an administrator edits, not code.

Each template is ``engine/mail/correo/<name>.txt``: a first line ``Asunto: ...``, a
blank line, then the body, with ``{{ ticket }}``-style fields. They are rendered in Jinja's
sandbox, because whoever edits them is not a programmer and need not be trusted with
Python. A template for the citizen must show the ticket number; that is checked when a
diagram naming it is deployed and again every time it is rendered.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import cast

from jinja2 import FileSystemLoader, TemplateError, TemplateNotFound, meta
from jinja2.sandbox import SandboxedEnvironment

from engine.errors import MailTemplateError

FOLDER = Path(__file__).parent / "correo"
SUBJECT_PREFIX = "Asunto:"

_env = SandboxedEnvironment(
    loader=FileSystemLoader(FOLDER), autoescape=False, keep_trailing_newline=True, auto_reload=True
)


def names() -> list[str]:
    """The templates there are, by name."""
    return sorted(p.stem for p in FOLDER.glob("*.txt"))


@functools.lru_cache(maxsize=64)
def _fields(source: str) -> frozenset[str]:
    """The fields a template's text uses; parsed once per text, not once per message."""
    return frozenset(meta.find_undeclared_variables(_env.parse(source)))


# (loader, name, needs_ticket) → (whether the file is unchanged since, the verdict): a check reads the file.
_verdicts: dict[tuple[FileSystemLoader, str, bool], tuple[Callable[[], bool], str | None]] = {}


def problem(name: str, needs_ticket: bool = False) -> str | None:
    """Why template ``name`` cannot be used (Spanish), or None; checked again when its file changes."""
    loader = cast(FileSystemLoader, _env.loader)  # the one above (a test swaps in another FileSystemLoader)
    key = (loader, name, needs_ticket)
    kept = _verdicts.get(key)
    if kept is not None and kept[0]():
        return kept[1]
    try:
        source, _path, uptodate = loader.get_source(_env, f"{name}.txt")
        fields = _fields(source)
    except TemplateNotFound:
        return f"no existe la plantilla de correo «{name}» (en engine/mail/correo/{name}.txt)"
    except TemplateError as exc:
        return f"la plantilla de correo «{name}» tiene un error: {exc}"
    verdict = _verdict(name, source, fields, needs_ticket)
    _verdicts[key] = (uptodate, verdict)
    return verdict


def _verdict(name: str, source: str, fields: frozenset[str], needs_ticket: bool) -> str | None:
    if not source.startswith(SUBJECT_PREFIX):
        return f"la plantilla de correo «{name}» debe empezar con «{SUBJECT_PREFIX} ...»"
    if needs_ticket and "ticket" not in fields:
        return f"la plantilla de correo «{name}» debe mostrar el número de ticket ({{{{ ticket }}}})"
    return None


def render(name: str, context: dict, needs_ticket: bool = False) -> tuple[str, str]:
    """(subject, body) of template ``name`` filled with ``context``."""
    reason = problem(name, needs_ticket)
    if reason:
        raise MailTemplateError(reason)
    text = _env.get_template(f"{name}.txt").render(**context)
    first, _, body = text.partition("\n")
    subject = first.removeprefix(SUBJECT_PREFIX).strip()
    if needs_ticket and context.get("ticket") and context["ticket"] not in subject + body:
        raise MailTemplateError(f"la plantilla de correo «{name}» no mostró el número de ticket")
    return subject, body.lstrip("\n")
