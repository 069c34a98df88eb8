"""Reading raw e-mail into what the intake keeps: sender, subject, safe text, files, identity."""

from email.message import EmailMessage

from engine.intake import emails, html_text


def _mail(body="Hola, la calle está llena de huecos.", subject="Huecos en la vía", **headers) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Rosa Batista <Rosa.Batista@Example.com>")
    msg["To"] = "atencionciudadana@municipio-pma.gob.pa"
    msg["Subject"] = subject
    msg["Message-ID"] = headers.pop("Message_ID", "<abc123@example.com>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def test_plain_message_gives_sender_subject_body_and_identity():
    mail = emails.parse(bytes(_mail()))
    assert mail.sender_email == "rosa.batista@example.com"
    assert mail.sender_name == "Rosa Batista"
    assert mail.subject == "Huecos en la vía"
    assert mail.body == "Hola, la calle está llena de huecos."
    assert mail.message_id == "<abc123@example.com>"
    assert not mail.automatic
    assert mail.key == emails.message_key("abc123@EXAMPLE.com")  # brackets and case do not matter


def test_html_only_body_becomes_text_without_scripts_or_markup():
    msg = _mail()
    msg.set_content(
        "<html><head><style>p{color:red}</style><script>alert('x')</script></head>"
        "<body><p>Primera l&iacute;nea</p><p>Segunda<br>tercera &lt;b&gt;</p>"
        "<a href='javascript:alert(1)'>enlace</a><ul><li>uno</li></ul></body></html>",
        subtype="html",
    )
    text = emails.parse(bytes(msg)).body
    assert "alert" not in text and "color" not in text and "<" not in text.replace("<b>", "")
    assert text.splitlines()[:3] == ["Primera línea", "", "Segunda"]
    assert "tercera <b>" in text  # an escaped tag stays words, shown escaped by the page
    assert "- uno" in text


def test_plain_part_is_preferred_to_html():
    msg = _mail(body="texto plano")
    msg.add_alternative("<p>texto html</p>", subtype="html")
    assert emails.parse(bytes(msg)).body == "texto plano"


def test_attachments_are_kept_with_name_type_and_bytes():
    msg = _mail()
    msg.add_attachment(b"\x89PNG\r\n\x1a\nfoto", maintype="image", subtype="png", filename="foto.png")
    mail = emails.parse(bytes(msg))
    assert [(a.filename, a.content_type, a.data) for a in mail.attachments] == [
        ("foto.png", "image/png", b"\x89PNG\r\n\x1a\nfoto")
    ]


def test_message_without_message_id_is_identified_by_its_bytes():
    msg = _mail()
    del msg["Message-ID"]
    raw = bytes(msg)
    assert emails.parse(raw).key == emails.parse(raw).key
    assert emails.parse(raw).key != emails.parse(raw + b"otro\n").key


def test_ticket_in_subject_is_found():
    assert (
        emails.parse(bytes(_mail(subject="RE: Su caso fue registrado con el ticket AC-2026-000123"))).ticket
        == "AC-2026-000123"
    )
    assert emails.parse(bytes(_mail(subject="Consulta general"))).ticket is None


def test_automatic_replies_and_lists_are_recognised():
    assert emails.parse(bytes(_mail(Auto_Submitted="auto-replied"))).automatic
    assert emails.parse(bytes(_mail(Precedence="bulk"))).automatic
    assert emails.parse(bytes(_mail(From="MAILER-DAEMON@example.com"))).automatic
    assert not emails.parse(bytes(_mail(Auto_Submitted="no"))).automatic


def test_broken_message_does_not_raise():
    mail = emails.parse(b"\xff\xfe garbage without headers")
    assert mail.sender_email == "" and mail.automatic
    assert mail.subject == emails.NO_SUBJECT


def test_html_to_text_collapses_whitespace():
    assert html_text.to_text("<div>  a \n\n b </div><div></div><div></div><div>c</div>") == "a b\n\nc"
