"""Finding PDFs by their bytes, whatever the MIME says, and classifying robots."""

from __future__ import annotations

import base64
import io
import os
import random
import tracemalloc
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

import mail.mime
from core.enums import MessageKind
from demo.samples import application_email, plain_email
from mail.classify import classify
from mail.mime import decoded_payload, find_pdfs, header_section, parse_message

pytestmark = pytest.mark.unit

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def pdfs_in(raw: bytes) -> list[tuple[str | None, bytes]]:
    return [(p.filename, p.data) for p in find_pdfs(parse_message(raw).message)]


def test_pdf_as_octet_stream_without_disposition() -> None:
    outer = MIMEMultipart()
    outer.attach(MIMEText("form attached"))
    part = MIMEBase("application", "octet-stream")
    part.set_payload(base64.b64encode(PDF).decode())
    part["Content-Transfer-Encoding"] = "base64"
    outer.attach(part)
    assert pdfs_in(outer.as_bytes()) == [(None, PDF)]


def test_rfc2231_filename_with_accents() -> None:
    raw = application_email(PDF, sender="a@b.example", filename="Demande été.pdf", content_type="application/octet-stream")
    assert "filename*=" in raw.decode()
    assert pdfs_in(raw) == [("Demande été.pdf", PDF)]


def test_rfc2047_filename_and_upper_case_extension() -> None:
    outer = MIMEMultipart()
    part = MIMEApplication(PDF, "pdf")
    part.add_header("Content-Disposition", "attachment", filename="=?iso-8859-1?q?R=E9sum=E9_BSF831.PDF?=")
    outer.attach(part)
    assert pdfs_in(outer.as_bytes()) == [("Résumé BSF831.PDF", PDF)]


def test_pdf_inside_a_forwarded_message() -> None:
    inner = EmailMessage()
    inner["Subject"] = "original"
    inner.set_content("see attached")
    inner.add_attachment(PDF, maintype="application", subtype="pdf", filename="BSF831.pdf")
    outer = MIMEMultipart()
    outer.attach(MIMEText("forwarding"))
    outer.attach(MIMEMessage(inner))
    assert pdfs_in(outer.as_bytes()) == [("BSF831.pdf", PDF)]


def test_several_pdfs_and_a_non_pdf_named_pdf() -> None:
    message = EmailMessage()
    message.set_content("two forms")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="one.pdf")
    message.add_attachment(PDF + b"2", maintype="application", subtype="pdf", filename="two.pdf")
    message.add_attachment(b"not a pdf at all", maintype="application", subtype="pdf", filename="fake.pdf")
    assert [name for name, _ in pdfs_in(message.as_bytes())] == ["one.pdf", "two.pdf"]


def test_a_large_base64_pdf_is_decoded_without_copies_of_its_text() -> None:
    pdf = PDF + os.urandom(4_000_000)
    message = parse_message(application_email(pdf, sender="a@b.example")).message
    tracemalloc.start()
    try:
        found = find_pdfs(message)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [p.data for p in found] == [pdf]
    assert peak < 1.5 * len(pdf)  # the decoded bytes alone: get_payload(decode=True) held about five times the PDF


def hostile_base64(rnd: random.Random) -> bytes:
    """Base64 text, cut, padded wrong, with line breaks, spaces, stray characters or non-ASCII bytes."""
    body = bytearray(base64.encodebytes(rnd.randbytes(rnd.randrange(0, 120))))
    for _ in range(rnd.randrange(0, 4)):
        at = rnd.randrange(0, len(body) + 1)
        if body and rnd.random() < 0.4:
            del body[at : at + rnd.randrange(1, 4)]
        else:
            body[at:at] = rnd.choice([b"=", b"==", b"\r\n", b"\n", b"\r", b" ", b"*", b"\x80", b"%PDF-", b"=\r\n=", b"A"])
    return bytes(body)


def test_base64_is_decoded_as_the_standard_library_decodes_it() -> None:
    rnd = random.Random(831)
    for _ in range(3000):
        charset = rnd.choice(["", '; charset="cp037"'])  # cp037 reads non-ASCII bytes as ASCII letters
        encoding = rnd.choice(["base64", "BASE64", "quoted-printable"])
        raw = f"Content-Type: application/pdf{charset}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n".encode() + hostile_base64(rnd)
        assert decoded_payload(parse_message(raw).message) == parse_message(raw).message.get_payload(decode=True), raw


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n\r\nmore",
        b"From: a@b.example\nSubject: x\n\nbody",
        b"From: a@b.example\r\nSubject: x\r\n\nbody",
        b"From: a@b.example\r\nSubject: no empty line\r\n",
        b"",
    ],
)
def test_the_header_section_of_a_file_is_read_only_up_to_its_empty_line(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    for size in (1, 2, 3, 5, 7):  # each way an empty line can be split between two reads
        monkeypatch.setattr(mail.mime, "HEADER_CHUNK_BYTES", size)
        stream = io.BytesIO(raw + b"x" * 100)
        assert header_section(stream) == header_section(raw + b"x" * 100)
        if b"\n\n" in raw or b"\n\r\n" in raw:
            assert stream.tell() < len(raw) + 100


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({}, MessageKind.correspondence),
        ({"Auto-Submitted": "auto-replied"}, MessageKind.auto_reply),
        ({"Auto-Submitted": "no"}, MessageKind.correspondence),
        ({"X-Autoreply": "yes"}, MessageKind.auto_reply),
        ({"Precedence": "bulk"}, MessageKind.list),
        ({"List-Id": "<exporters.lists.example>"}, MessageKind.list),
        ({"Return-Path": "<>"}, MessageKind.auto_reply),
    ],
)
def test_classify_headers(headers: dict[str, str], kind: MessageKind) -> None:
    raw = plain_email(sender="someone@example.ca", subject="hi", body="text", extra_headers=headers)
    assert classify(parse_message(raw), has_pdf=False) == kind


def test_delivery_status_report_is_a_bounce() -> None:
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.ca>"
    report.attach(MIMEText("could not deliver"))
    assert classify(parse_message(report.as_bytes()), has_pdf=False) == MessageKind.bounce


def test_form_mail_is_a_form() -> None:
    raw = application_email(PDF, sender="a@b.example")
    assert classify(parse_message(raw), has_pdf=True) == MessageKind.form
