"""Atiende's configuration: the environment, read once when a process starts, typed and checked.

Every variable Atiende reads is read here and nowhere else (the README's table lists them).
A process reads them with ``Settings.from_environ()`` at start (``web.create_app``, the
``atiende`` command) and hands the result to the engine facade; a wrong value stops the start
with a Spanish message naming the variable, instead of failing later inside a request.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from engine.errors import SettingsError
from engine.mail import addresses

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
DEVELOPMENT_HOSTS = ("127.0.0.1", "localhost")  # trusted when ATIENDE_BASE_URL is unset: `make run` on this machine
DEFAULT_SENDER = "atencionciudadana@municipio-pma.gob.pa"
SMTP_SECURITY = ("starttls", "tls", "none")
IMAP_TLS = ("ssl", "starttls", "none")
_N = TypeVar("_N", int, float)


@dataclass(frozen=True)
class MailSettings:
    """How to reach the SMTP server (``ATIENDE_SMTP_*``, ``ATIENDE_MAIL_FROM``); no host: mail waits in the outbox."""

    host: str | None = None
    port: int = 587
    security: str = "starttls"  # starttls, tls (implicit, usually port 465) or none
    user: str | None = None
    password: str | None = None
    sender: str = DEFAULT_SENDER
    timeout: float = 30.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> MailSettings:
        env = os.environ if environ is None else environ
        security = env.get("ATIENDE_SMTP_SECURITY", "starttls").lower()
        if security not in SMTP_SECURITY:
            raise SettingsError(f"ATIENDE_SMTP_SECURITY debe ser starttls, tls o none, no {security!r}")
        return cls(
            host=env.get("ATIENDE_SMTP_HOST") or None,
            port=_integer(env, "ATIENDE_SMTP_PORT", 465 if security == "tls" else 587),
            security=security,
            user=env.get("ATIENDE_SMTP_USER") or None,
            password=env.get("ATIENDE_SMTP_PASSWORD") or None,
            sender=_address(env, "ATIENDE_MAIL_FROM", DEFAULT_SENDER),
            timeout=_number(env, "ATIENDE_SMTP_TIMEOUT", 30.0),
        )

    @property
    def configured(self) -> bool:
        return self.host is not None


@dataclass(frozen=True)
class ImapSettings:
    """The institutional mailbox (``ATIENDE_IMAP_*``); None when no host is set."""

    host: str
    user: str
    password: str
    port: int = 993
    tls: str = "ssl"  # ssl (IMAPS), starttls, or none (only for a server on this machine)
    folder: str = "INBOX"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ImapSettings | None:
        env = os.environ if environ is None else environ
        host = env.get("ATIENDE_IMAP_HOST", "").strip()
        if not host:
            return None
        tls = env.get("ATIENDE_IMAP_TLS", "ssl").strip().lower()
        if tls not in IMAP_TLS:
            raise SettingsError(f"ATIENDE_IMAP_TLS debe ser uno de {', '.join(IMAP_TLS)}, no «{tls}»")
        return cls(
            host=host,
            user=env.get("ATIENDE_IMAP_USER", ""),
            password=env.get("ATIENDE_IMAP_PASSWORD", ""),
            port=_integer(env, "ATIENDE_IMAP_PORT", 993 if tls == "ssl" else 143),
            tls=tls,
            folder=env.get("ATIENDE_IMAP_FOLDER", "INBOX") or "INBOX",
        )


@dataclass(frozen=True)
class Settings:
    """Everything a process of Atiende is configured with."""

    database_url: str | None = None  # DATABASE_URL; None: the SQLite file under instance/
    port: int = 5000  # PORT, of `python -m web`
    threads: int = 8  # ATIENDE_THREADS: a web process's threads (gunicorn sets it), and its pool's connections
    secret_key: str | None = None  # ATIENDE_SECRET_KEY; None: a random key kept in instance/
    secure_cookies: bool = False  # ATIENDE_SECURE_COOKIES=1, behind HTTPS
    base_url: str = DEFAULT_BASE_URL  # ATIENDE_BASE_URL: where the QR code and the e-mails link to
    # ATIENDE_TRUSTED_HOSTS: the Host headers the web application answers; the base URL's host always.
    trusted_hosts: tuple[str, ...] = DEVELOPMENT_HOSTS
    smtp: MailSettings = field(default_factory=MailSettings)
    imap: ImapSettings | None = None
    # ATIENDE_AUDIT_KEY: the PEM file of the Ed25519 key that signs the audit seals (engine.audit.seals);
    # ATIENDE_AUDIT_PUBLIC_KEY: its public half, for checking them where the private key is not kept.
    audit_key: Path | None = None
    audit_public_key: Path | None = None
    survey_days: int = 60  # ATIENDE_SURVEY_DAYS: how long the link to the citizen's survey is valid
    # ATIENDE_LIVE_WORKFLOWS_MB: the stored state of the case workflows a process keeps in memory
    # (engine.bpm.runtime.Runtime); 4 MB is about 250 cases midway, some 18 MB as objects.
    live_workflows_mb: int = 4

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every variable; raises ``SettingsError`` naming the first wrong one."""
        env = os.environ if environ is None else environ
        port = _integer(env, "PORT", 5000)
        base_url = _base_url(env, port)
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            port=port,
            threads=_integer(env, "ATIENDE_THREADS", 8),
            secret_key=env.get("ATIENDE_SECRET_KEY") or None,
            secure_cookies=env.get("ATIENDE_SECURE_COOKIES") == "1",
            base_url=base_url,
            trusted_hosts=_trusted_hosts(env, base_url),
            smtp=MailSettings.from_environ(env),
            imap=ImapSettings.from_environ(env),
            audit_key=_path(env, "ATIENDE_AUDIT_KEY"),
            audit_public_key=_path(env, "ATIENDE_AUDIT_PUBLIC_KEY"),
            survey_days=_integer(env, "ATIENDE_SURVEY_DAYS", 60),
            live_workflows_mb=_integer(env, "ATIENDE_LIVE_WORKFLOWS_MB", 4),
        )

    def absolute_url(self, path: str) -> str:
        """The address of ``path`` (from the application's root, starting with /) for a link that leaves
        the application: an e-mail, the QR code, Open311 discovery. Never built from a request's Host
        header, which the client chooses."""
        return self.base_url + path


def _path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name, "").strip()
    return Path(value).expanduser() if value else None


def _base_url(env: Mapping[str, str], port: int) -> str:
    """ATIENDE_BASE_URL without its trailing slash; unset, where `python -m web` serves on this machine."""
    value = env.get("ATIENDE_BASE_URL", "").strip()
    if not value:
        return f"http://127.0.0.1:{port}"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(
            f"ATIENDE_BASE_URL debe ser una dirección completa como https://atiende.municipio-pma.gob.pa, no «{value}»"
        )
    return value.rstrip("/")


def _trusted_hosts(env: Mapping[str, str], base_url: str) -> tuple[str, ...]:
    """The base URL's host, then ATIENDE_TRUSTED_HOSTS (comma-separated); unset, this machine's names in
    development (no ATIENDE_BASE_URL) and none else in production."""
    listed = [host.strip().lower() for host in env.get("ATIENDE_TRUSTED_HOSTS", "").split(",") if host.strip()]
    if not listed and not env.get("ATIENDE_BASE_URL", "").strip():
        listed = list(DEVELOPMENT_HOSTS)
    hosts = [urlsplit(base_url).hostname or "", *listed]
    return tuple(dict.fromkeys(hosts))  # in order, once each


def _address(env: Mapping[str, str], name: str, default: str) -> str:
    """An e-mail address every message carries: a wrong one would fail each step that writes mail."""
    value = env.get(name, "").strip() or default
    wrong = addresses.problem(value)
    if wrong:
        raise SettingsError(f"{name}: {wrong}")
    return value


def _integer(env: Mapping[str, str], name: str, default: int) -> int:
    return _positive(env, name, default, int, "un número entero")


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    return _positive(env, name, default, float, "un número")


def _positive(env: Mapping[str, str], name: str, default: _N, read: Callable[[str], _N], what: str) -> _N:
    """The variable read as a number greater than zero; ``default`` when unset or empty."""
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        number = read(value)
    except ValueError:
        raise SettingsError(f"{name} debe ser {what}, no «{value}»") from None
    if number <= 0:
        raise SettingsError(f"{name} debe ser mayor que cero, no {number}")
    return number
