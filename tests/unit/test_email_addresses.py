"""E-mail addresses are checked by one rule (email-validator, no network) wherever they enter:
task forms, the public report and Open311 (through the form schemas), the mailbox, the admin's
people; a wrong one is said in Spanish beside its field."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from engine.access import administration
from engine.errors import FormErrors
from engine.forms import schemas
from engine.intake import emails
from engine.mail import addresses

BAD = ["a@b", "a@b.comBcc: x@evil.example", "a@b.com\r\nBcc: x@evil.example", "sin-arroba", "a b@c.pa", "@c.pa"]
GOOD = ["rosa.batista@example.com", "Ana@Correo.gob.pa", "josé@municipio.pa"]
FORM = {
    "type": "object",
    "properties": {"ciudadano_email": {"type": "string", "title": "Correo", "format": "email", "maxLength": 254}},
}


@pytest.mark.parametrize("address", BAD)
def test_a_wrong_address_is_named_in_spanish(address):
    said = addresses.problem(address)
    assert said is not None and said.startswith("La dirección de correo no es válida: ")
    assert "\n" not in said and "\r" not in said


@pytest.mark.parametrize("address", GOOD)
def test_a_right_address_passes(address):
    assert addresses.problem(address) is None


@pytest.mark.parametrize("address", BAD)
def test_a_form_refuses_a_wrong_address_beside_its_field(address):
    with pytest.raises(FormErrors) as refused:
        schemas.clean(FORM, {"ciudadano_email": address})
    assert refused.value.errors["ciudadano_email"] == addresses.problem(address.strip())


def test_a_form_keeps_a_right_address():
    assert schemas.clean(FORM, {"ciudadano_email": " rosa@example.com "}) == {"ciudadano_email": "rosa@example.com"}


@pytest.mark.parametrize("address", ["a@b", "a@b.comBcc: x@evil.example"])
def test_the_admin_cannot_give_a_person_a_wrong_address(address):
    _, errors = administration._profile(None, {"nombre": "Ana Pérez", "correo": address, "roles": ["operador"]})
    assert errors["correo"] == addresses.problem(address)


def test_a_mail_whose_sender_does_not_validate_is_kept_but_never_answered():
    msg = EmailMessage()
    msg["From"] = "Rosa Batista <rosa@localhost>"
    msg["Subject"] = "Huecos"
    msg["Message-ID"] = "<x1@example.com>"
    msg.set_content("La calle está llena de huecos.")
    mail = emails.parse(bytes(msg))
    assert mail.sender_email == ""  # never a reply address, nor the case's
    assert "rosa@localhost" in mail.sender_name and "Rosa Batista" in mail.sender_name  # the operator still reads it
    assert mail.automatic  # nobody to answer
