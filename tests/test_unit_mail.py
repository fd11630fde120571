"""Unit tests for mail/: the MIME walk to PDFs, robot classification and bounce parsing (no server)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from tnef import winmail_dat

from core.enums import MessageKind
from mail.bounces import bounced_message_ids, diagnostic
from mail.classify import classify, wants_no_auto_reply
from mail.mime import find_pdfs, is_pdf, parse_message

pytestmark = pytest.mark.unit

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
OTHER_PDF = b"%PDF-1.7\n% another form\n%%EOF\n"


def message(
    *,
    sender: str = "Claire Roy <claire.roy@erable.example>",
    subject: str = "BSF831",
    body: str = "Hello",
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    out = EmailMessage()
    out["From"] = sender
    out["To"] = "applications@cbsa-asfc.example"
    out["Subject"] = subject
    out["Message-ID"] = "<m1@erable.example>"
    for name, value in (headers or {}).items():
        out[name] = value
    out.set_content(body)
    return out


def pdfs(raw: bytes) -> list[tuple[str | None, bytes]]:
    return [(found.filename, found.data) for found in find_pdfs(parse_message(raw).message)]


def kind_of(raw: bytes, has_pdf: bool = False) -> MessageKind:
    return classify(parse_message(raw), has_pdf=has_pdf)


# ---------------------------------------------------------------- parse_message


def test_parse_message_keeps_the_threading_headers_and_the_bare_sender_address() -> None:
    mail = message(
        headers={"In-Reply-To": "<a@x.example>", "References": "<r@x.example> <a@x.example>", "Date": "Mon, 02 Mar 2026 10:00:00 -0500"}
    )
    parsed = parse_message(mail.as_bytes())
    assert parsed.message_id == "<m1@erable.example>"
    assert parsed.in_reply_to == "<a@x.example>"
    assert parsed.references == "<r@x.example> <a@x.example>"
    assert parsed.sender == "claire.roy@erable.example"
    assert parsed.subject == "BSF831"
    assert parsed.date == "Mon, 02 Mar 2026 10:00:00 -0500"
    assert parsed.reply_to is None


def test_automatic_answers_go_to_from_whatever_reply_to_says() -> None:
    with_reply_to = parse_message(message(headers={"Reply-To": "Exports <exports@erable.example>"}).as_bytes())
    assert with_reply_to.reply_address == "claire.roy@erable.example"
    without = parse_message(message().as_bytes())
    assert without.reply_address == "claire.roy@erable.example"


def test_encoded_subject_is_decoded_and_whitespace_folded() -> None:
    mail = message(subject="Demande d'accès   été")
    raw = mail.as_bytes()
    assert b"=?utf-8?" in raw.lower()  # really RFC 2047 on the wire
    assert parse_message(raw).subject == "Demande d'accès été"


def test_missing_headers_are_none_and_a_from_without_an_address_is_no_sender() -> None:
    raw = b"From: undisclosed\r\nSubject: x\r\n\r\nbody\r\n"
    parsed = parse_message(raw)
    assert (parsed.sender, parsed.message_id, parsed.in_reply_to, parsed.date) == (None, None, None, None)


def test_headers_only_leaves_the_body_out() -> None:
    mail = message()
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="BSF831.pdf")
    parsed = parse_message(mail.as_bytes(), headers_only=True)
    assert parsed.subject == "BSF831" and parsed.sender == "claire.roy@erable.example"
    assert find_pdfs(parsed.message) == []
    assert pdfs(mail.as_bytes()) == [("BSF831.pdf", PDF)]


# ---------------------------------------------------------------- find_pdfs


def test_pdf_sent_as_application_pdf() -> None:
    mail = message()
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="BSF831.pdf")
    assert pdfs(mail.as_bytes()) == [("BSF831.pdf", PDF)]


def test_pdf_sent_as_octet_stream_with_a_pdf_name() -> None:
    mail = message()
    mail.add_attachment(PDF, maintype="application", subtype="octet-stream", filename="Demande.pdf")
    assert pdfs(mail.as_bytes()) == [("Demande.pdf", PDF)]


def test_pdf_found_by_its_bytes_whatever_its_name_and_type() -> None:
    mail = message()
    mail.add_attachment(PDF, maintype="image", subtype="jpeg", filename="scan.jpg")
    assert pdfs(mail.as_bytes()) == [("scan.jpg", PDF)]


def test_pdf_header_after_leading_junk_within_1024_bytes_is_a_pdf() -> None:
    assert is_pdf(b"\x00" * 100 + PDF)
    assert not is_pdf(b"\x00" * 1024 + PDF)
    assert not is_pdf(b"")


def test_pdf_inside_a_forwarded_message_rfc822() -> None:
    inner = message(sender="exports@erable.example", subject="original")
    inner.add_attachment(PDF, maintype="application", subtype="pdf", filename="BSF831.pdf")
    outer = message(subject="Fwd: original", body="see below")
    outer.add_attachment(inner)  # message/rfc822
    raw = outer.as_bytes()
    assert b"message/rfc822" in raw
    assert pdfs(raw) == [("BSF831.pdf", PDF)]


def test_pdfs_in_a_forward_and_at_the_top_are_all_found_in_order() -> None:
    inner = message(subject="original")
    inner.add_attachment(OTHER_PDF, maintype="application", subtype="pdf", filename="inner.pdf")
    outer = message()
    outer.add_attachment(PDF, maintype="application", subtype="pdf", filename="outer.pdf")
    outer.add_attachment(inner)
    assert pdfs(outer.as_bytes()) == [("outer.pdf", PDF), ("inner.pdf", OTHER_PDF)]


def test_pdf_inside_outlook_winmail_dat() -> None:
    mail = message()
    mail.add_attachment(
        winmail_dat([("BSF831.pdf", PDF), ("notes.txt", b"plain notes")]), maintype="application", subtype="ms-tnef", filename="winmail.dat"
    )
    assert pdfs(mail.as_bytes()) == [("BSF831.pdf", PDF)]


def test_damaged_winmail_dat_yields_no_pdf_and_does_not_raise() -> None:
    mail = message()
    mail.add_attachment(b"\x78\x9f\x3e\x22" + b"\xff" * 40, maintype="application", subtype="ms-tnef", filename="winmail.dat")
    assert pdfs(mail.as_bytes()) == []


def test_message_without_a_pdf_has_none() -> None:
    mail = message(body="Where do I send the form?")
    mail.add_attachment(b"GIF89a not a pdf", maintype="image", subtype="gif", filename="logo.gif")
    mail.add_attachment(b"just text named like a pdf", maintype="application", subtype="pdf", filename="fake.pdf")
    assert pdfs(mail.as_bytes()) == []


def test_broken_base64_part_is_skipped_not_raised() -> None:
    raw = (
        b"From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64***\r\n"
        b"--XX--\r\n"
    )
    assert pdfs(raw) == []


# ---------------------------------------------------------------- classify


STATUS = (
    "Reporting-MTA: dns; mx.example.ca\r\n\r\n"
    "Final-Recipient: rfc822; gone@erable.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
)


def dsn(
    report_type: str = "delivery-status",
    sender: str = "Mail Delivery System <MAILER-DAEMON@mx.example.ca>",
    returned: bytes | None = None,
    returned_type: str = "message/rfc822",
    text: str = "Your message could not be delivered.",
) -> bytes:
    """A multipart/report as an MTA writes it (RFC 3464), with the returned message or its headers."""
    parts = [
        f"Content-Type: text/plain; charset=us-ascii\r\n\r\n{text}\r\n",
        f"Content-Type: message/delivery-status\r\n\r\n{STATUS}",
    ]
    if returned is not None:
        parts.append(f"Content-Type: {returned_type}\r\n\r\n" + returned.decode())
    body = "".join(f"--BOUNDARY\r\n{part}\r\n" for part in parts) + "--BOUNDARY--\r\n"
    head = (
        f"From: {sender}\r\nTo: cers-applications@cbsa-asfc.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type="{report_type}"; boundary="BOUNDARY"\r\n\r\n'
    )
    return (head + body).encode()


def test_a_delivery_status_report_is_a_bounce_even_from_a_person_address() -> None:
    assert kind_of(dsn(sender="someone@example.ca")) == MessageKind.bounce


def test_a_read_receipt_report_is_a_bounce_kind_robot() -> None:
    assert kind_of(dsn(report_type="disposition-notification", sender="a@b.example")) == MessageKind.bounce


@pytest.mark.parametrize("report_type", ["feedback-report", "tlsrpt", "x-vendor", ""])
def test_every_report_type_is_a_robot_even_from_a_person(report_type: str) -> None:
    # issue 14: RFC 6522 reports of any report-type (or none), ARF included, are never answered
    assert kind_of(dsn(report_type=report_type, sender="a@b.example")) == MessageKind.bounce


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example.ca", "postmaster@erable.example"])
def test_mail_from_mailer_daemon_or_postmaster_is_a_bounce(sender: str) -> None:
    assert kind_of(message(sender=sender).as_bytes()) == MessageKind.bounce


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"Auto-Submitted": "auto-generated"}, MessageKind.auto_reply),
        ({"Auto-Submitted": "auto-replied; owner-email=x@y.example"}, MessageKind.auto_reply),
        ({"Auto-Submitted": "No"}, MessageKind.correspondence),
        ({"X-Autoreply": "yes"}, MessageKind.auto_reply),
        ({"X-Autorespond": "Out of office"}, MessageKind.auto_reply),
        ({"Return-Path": "<>"}, MessageKind.auto_reply),
        ({"Return-Path": "<claire.roy@erable.example>"}, MessageKind.correspondence),
        ({"List-Id": "Exporters <exporters.lists.example>"}, MessageKind.list),
        ({"List-Unsubscribe": "<mailto:leave@lists.example>"}, MessageKind.list),
        ({"Precedence": "bulk"}, MessageKind.list),
        ({"Precedence": "JUNK"}, MessageKind.list),
        ({"Precedence": "first-class"}, MessageKind.correspondence),
    ],
)
def test_robot_headers(headers: dict[str, str], kind: MessageKind) -> None:
    assert kind_of(message(headers=headers).as_bytes()) == kind


def test_a_persons_message_without_pdf_is_correspondence_and_with_pdf_is_a_form() -> None:
    raw = message(body="Question about item 8").as_bytes()
    assert kind_of(raw, has_pdf=False) == MessageKind.correspondence
    assert kind_of(raw, has_pdf=True) == MessageKind.form


def test_a_robot_carrying_a_pdf_is_still_a_robot() -> None:
    mail = message(headers={"Auto-Submitted": "auto-generated"})
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="BSF831.pdf")
    assert kind_of(mail.as_bytes(), has_pdf=True) == MessageKind.auto_reply


def test_bounce_wins_over_auto_reply_and_auto_reply_over_list() -> None:
    assert kind_of(message(sender="postmaster@x.example", headers={"Auto-Submitted": "auto-replied"}).as_bytes()) == MessageKind.bounce
    assert kind_of(message(headers={"Auto-Submitted": "auto-replied", "List-Id": "<l.example>"}).as_bytes()) == MessageKind.auto_reply


@pytest.mark.parametrize(("value", "suppress"), [("All", True), ("OOF, AutoReply", True), ("DR, RN", False), (None, False)])
def test_x_auto_response_suppress(value: str | None, suppress: bool) -> None:
    headers = {"X-Auto-Response-Suppress": value} if value else {}
    assert wants_no_auto_reply(parse_message(message(headers=headers).as_bytes())) is suppress


# ---------------------------------------------------------------- bounces


def returned_notice(message_id: str = "<cers.1.2@cbsa-asfc.example>") -> EmailMessage:
    original = EmailMessage()
    original["From"] = "cers-applications@cbsa-asfc.example"
    original["To"] = "gone@erable.example"
    original["Subject"] = "Acknowledgment"
    original["Message-ID"] = message_id
    original.set_content("We received your form.")
    return original


def bounce_of(raw: bytes) -> list[str]:
    return bounced_message_ids(parse_message(raw).message)


def test_dsn_with_the_returned_message_gives_its_message_id() -> None:
    assert bounce_of(dsn(returned=returned_notice().as_bytes())) == ["<cers.1.2@cbsa-asfc.example>"]


def test_dsn_with_text_rfc822_headers_gives_the_message_id() -> None:
    headers = b"From: cers-applications@cbsa-asfc.example\r\nMessage-ID: <cers.9@cbsa-asfc.example>\r\nSubject: x\r\n"
    assert bounce_of(dsn(returned=headers, returned_type="text/rfc822-headers")) == ["<cers.9@cbsa-asfc.example>"]


def test_attached_headers_win_over_ids_quoted_in_the_text() -> None:
    report = dsn(returned=returned_notice().as_bytes(), text="In reply to <other@elsewhere.example>, it failed.")
    assert bounce_of(report) == ["<cers.1.2@cbsa-asfc.example>"]


def test_bounce_without_attached_headers_falls_back_to_ids_in_the_text_once_each() -> None:
    mail = message(
        sender="MAILER-DAEMON@mx.example.ca",
        body="Message <cers.5@cbsa-asfc.example> failed.\nRetry of <cers.5@cbsa-asfc.example> and <cers.6@cbsa-asfc.example> failed.",
    )
    assert bounce_of(mail.as_bytes()) == ["<cers.5@cbsa-asfc.example>", "<cers.6@cbsa-asfc.example>"]


def test_bounce_naming_no_message_id_gives_none() -> None:
    assert bounce_of(message(sender="MAILER-DAEMON@mx.example.ca", body="Something failed.").as_bytes()) == []


def test_diagnostic_gives_status_and_diagnostic_code_else_the_subject() -> None:
    assert diagnostic(parse_message(dsn()).message) == "5.1.1 smtp; 550 5.1.1 User unknown"
    plain = message(sender="MAILER-DAEMON@mx.example.ca", subject="Delivery failure")
    assert diagnostic(parse_message(plain.as_bytes()).message) == "Delivery failure"
