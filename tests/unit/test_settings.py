"""The configuration: every variable read in one place, typed, and refused with a Spanish message."""

from __future__ import annotations

import pytest

from engine.errors import SettingsError
from engine.settings import DEFAULT_BASE_URL, DEFAULT_SENDER, ImapSettings, MailSettings, Settings


def test_nothing_set_gives_the_embedded_defaults():
    settings = Settings.from_environ({})
    assert settings.database_url is None  # the SQLite file under instance/
    assert (settings.port, settings.threads, settings.secure_cookies) == (5000, 8, False)
    assert settings.base_url == DEFAULT_BASE_URL and settings.secret_key is None
    assert settings.smtp == MailSettings() and not settings.smtp.configured and settings.smtp.sender == DEFAULT_SENDER
    assert settings.imap is None


def test_every_variable_is_read():
    settings = Settings.from_environ(
        {
            "DATABASE_URL": "postgresql://root@127.0.0.1:5432/atiende",
            "PORT": "8080",
            "ATIENDE_THREADS": "16",
            "ATIENDE_SECRET_KEY": "k" * 32,
            "ATIENDE_SECURE_COOKIES": "1",
            "ATIENDE_BASE_URL": "https://atiende.municipio-pma.gob.pa/",
            "ATIENDE_SMTP_HOST": "smtp.municipio-pma.gob.pa",
            "ATIENDE_MAIL_FROM": "311@municipio-pma.gob.pa",
            "ATIENDE_IMAP_HOST": "imap.municipio-pma.gob.pa",
            "ATIENDE_IMAP_USER": "atencion",
        }
    )
    assert settings.database_url == "postgresql://root@127.0.0.1:5432/atiende"
    assert (settings.port, settings.threads, settings.secure_cookies) == (8080, 16, True)
    assert settings.base_url == "https://atiende.municipio-pma.gob.pa"  # no trailing slash: links add their own
    assert settings.smtp.configured and settings.smtp.sender == "311@municipio-pma.gob.pa"
    assert settings.imap is not None and (settings.imap.host, settings.imap.port) == ("imap.municipio-pma.gob.pa", 993)


def test_smtp_settings():
    cfg = MailSettings.from_environ(
        {
            "ATIENDE_SMTP_HOST": "smtp.municipio-pma.gob.pa",
            "ATIENDE_SMTP_SECURITY": "tls",
            "ATIENDE_SMTP_USER": "atiende",
            "ATIENDE_SMTP_PASSWORD": "secreto",
        }
    )
    assert (cfg.host, cfg.port, cfg.security, cfg.user, cfg.password) == (
        "smtp.municipio-pma.gob.pa",
        465,
        "tls",
        "atiende",
        "secreto",
    )
    assert MailSettings.from_environ({}).configured is False
    assert MailSettings.from_environ({"ATIENDE_SMTP_HOST": "h"}).port == 587


def test_imap_settings():
    assert ImapSettings.from_environ({}) is None
    settings = ImapSettings.from_environ(
        {
            "ATIENDE_IMAP_HOST": "imap.example",
            "ATIENDE_IMAP_USER": "u",
            "ATIENDE_IMAP_PASSWORD": "p",
            "ATIENDE_IMAP_TLS": "starttls",
        }
    )
    assert settings is not None
    assert (settings.host, settings.port, settings.tls, settings.folder) == ("imap.example", 143, "starttls", "INBOX")


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"PORT": "cinco mil"}, "PORT debe ser un número entero"),
        ({"PORT": "0"}, "PORT debe ser mayor que cero"),
        ({"ATIENDE_THREADS": "-2"}, "ATIENDE_THREADS debe ser mayor que cero"),
        ({"ATIENDE_SMTP_SECURITY": "ssl3"}, "ATIENDE_SMTP_SECURITY debe ser starttls, tls o none"),
        ({"ATIENDE_SMTP_HOST": "h", "ATIENDE_SMTP_PORT": "x"}, "ATIENDE_SMTP_PORT debe ser un número entero"),
        ({"ATIENDE_SMTP_TIMEOUT": "pronto"}, "ATIENDE_SMTP_TIMEOUT debe ser un número"),
        ({"ATIENDE_IMAP_HOST": "h", "ATIENDE_IMAP_TLS": "ninguno"}, "ATIENDE_IMAP_TLS debe ser uno de"),
        ({"ATIENDE_MAIL_FROM": "311@pma.gob.pa\r\nBcc: x@evil.example"}, "ATIENDE_MAIL_FROM: La dirección de correo"),
        ({"ATIENDE_MAIL_FROM": "atencion@municipio"}, "ATIENDE_MAIL_FROM: La dirección de correo no es válida"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_variable(environ, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_environ(environ)


def test_in_development_links_follow_the_port():
    """Without ATIENDE_BASE_URL the QR code and the e-mails point where `python -m web` serves."""
    assert Settings.from_environ({"PORT": "8080"}).base_url == "http://127.0.0.1:8080"
    assert Settings().base_url == DEFAULT_BASE_URL == "http://127.0.0.1:5000"


def test_trusted_hosts_default_to_the_base_url_and_in_development_this_machine():
    assert set(Settings.from_environ({}).trusted_hosts) == {"127.0.0.1", "localhost"}
    production = Settings.from_environ({"ATIENDE_BASE_URL": "https://atiende.municipio-pma.gob.pa"})
    assert production.trusted_hosts == ("atiende.municipio-pma.gob.pa",)


def test_trusted_hosts_listed_keep_the_base_urls_host():
    settings = Settings.from_environ(
        {
            "ATIENDE_BASE_URL": "https://atiende.municipio-pma.gob.pa/",
            "ATIENDE_TRUSTED_HOSTS": " Atiende.Interno , 10.0.0.5,,",
        }
    )
    assert settings.trusted_hosts == ("atiende.municipio-pma.gob.pa", "atiende.interno", "10.0.0.5")


def test_an_absolute_url_is_the_base_url_and_the_path():
    settings = Settings.from_environ({"ATIENDE_BASE_URL": "https://pma.example/atiende/"})
    assert settings.absolute_url("/consulta") == "https://pma.example/atiende/consulta"


@pytest.mark.parametrize(
    "wrong", ["atiende.municipio-pma.gob.pa", "ftp://pma.example", "https://", "https://pma.example/?a=1"]
)
def test_a_base_url_that_is_not_a_web_address_is_refused(wrong):
    with pytest.raises(SettingsError, match="ATIENDE_BASE_URL debe ser"):
        Settings.from_environ({"ATIENDE_BASE_URL": wrong})
