"""What engine.cases.attachments accepts: the bytes decide the type, the name must agree; 10 MB at most."""

import zipfile
from datetime import UTC, datetime
from io import BytesIO

import pytest

from engine.cases import attachments
from engine.errors import FileRefused


def zipped(*members: str) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in members:
            archive.writestr(member, "x")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name,data,content_type",
    [
        ("informe.PDF", b"%PDF-1.7 ...", "application/pdf"),
        ("foto.jpeg", b"\xff\xd8\xff\xe0 JFIF", "image/jpeg"),
        ("foto.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (
            "carta.docx",
            zipped("[Content_Types].xml", "word/document.xml"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "cuadro.xlsx",
            zipped("[Content_Types].xml", "xl/workbook.xml"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("acta.odt", zipped("mimetype", "content.xml"), "application/vnd.oasis.opendocument.text"),
        ("viejo.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 8, "application/msword"),
        ("nota.txt", "Señor alcalde: ¿cuándo?".encode(), "text/plain"),
    ],
)
def test_accepted_kinds_are_recognised_by_their_bytes(name, data, content_type):
    assert attachments.kind_of(data, name).content_type == content_type


@pytest.mark.parametrize(
    "name,data",
    [
        ("cuadro.xlsx", zipped("word/document.xml")),  # a Word document named as a spreadsheet
        ("programa.docx", zipped("payload.exe")),  # any ZIP is not a Word document
        ("foto.png", b"%PDF-1.4"),
        ("script.html", b"<script>alert(1)</script>"),
        ("nota.txt", b"MZ\x00\x00 binary"),
        ("sin_extension", b"%PDF-1.4"),
    ],
)
def test_other_or_disguised_files_are_refused(name, data):
    with pytest.raises(FileRefused, match="no es un tipo de archivo aceptado"):
        attachments.kind_of(data, name)


def test_a_file_over_ten_megabytes_is_refused_before_anything_is_stored():
    too_big = b"%PDF-" + b"0" * attachments.MAX_BYTES
    with pytest.raises(FileRefused, match="el máximo es 10 MB"):
        attachments.store(None, too_big, "grande.pdf", "operador", datetime.now(UTC))


def test_a_files_name_loses_its_folders_and_dangerous_characters():
    assert attachments._clean_name('C:\\Users\\ana\\acta "final".pdf') == "acta final.pdf"
    assert attachments._clean_name("../../etc/passwd") == "passwd"
