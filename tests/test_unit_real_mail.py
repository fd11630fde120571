"""Issue 14 in pure logic: robots by structure then signals, PDF verdicts that match the file, any flattened layout."""

from __future__ import annotations

import io
import re
from email.message import EmailMessage
from pathlib import Path

import pikepdf
import pytest
from drawn_forms import LAYOUTS, draw_form, drawn_values
from pdf_fixtures import fixture

from core.enums import MessageKind, ReadMethod
from demo.forms import fill_form, sample_values
from mail.bounces import bounced_message_ids
from mail.classify import classify_message, no_reply_reason, wants_no_auto_reply
from mail.mime import find_pdfs, parse_message
from parsers.errors import DamagedPdf, EncryptedPdf
from parsers.form import Bsf831Form
from parsers.read import parse_pdf
from processors.pipeline import unreadable_reason

pytestmark = pytest.mark.unit

CORPUS = Path(__file__).parent / "corpus"
SHAPES = CORPUS / "robots" / "shapes"


def message(
    sender: str = "Claire Roy <claire.roy@erable.example>", subject: str = "Question", headers: dict[str, str] | None = None
) -> bytes:
    out = EmailMessage()
    out["From"], out["To"], out["Subject"] = sender, "applications@cbsa-asfc.example", subject
    for name, value in (headers or {}).items():
        out[name] = value
    out.set_content("Hello, a question about the form.")
    return out.as_bytes()


def verdict(raw: bytes, has_pdf: bool = False) -> tuple[MessageKind, str]:
    found = classify_message(parse_message(raw), has_pdf=has_pdf)
    return found.kind, found.signal


# ---------------------------------------------------------------- robots: structure, headers, senders, subjects


@pytest.mark.parametrize(
    ("shape", "kind", "signal"),
    [
        ("ses_complaint_arf.eml", MessageKind.bounce, "multipart/report report-type=feedback-report"),
        ("arf_no_report_type.eml", MessageKind.bounce, "multipart/report report-type=(none)"),
        ("report_unknown_type.eml", MessageKind.bounce, "multipart/report report-type=x-vendor-report"),
        ("tlsrpt_report.eml", MessageKind.bounce, "multipart/report report-type=tlsrpt"),
        ("icloud_vacation_vendor_header.eml", MessageKind.auto_reply, "header X-Apple-Action: VACATION"),
        ("precedence_auto_reply.eml", MessageKind.auto_reply, "header Precedence: auto_reply"),
        ("list_subscribe_only.eml", MessageKind.list, "header List-Subscribe"),
        ("ezmlm.eml", MessageKind.list, "header Mailing-List"),
        ("post_master.eml", MessageKind.bounce, "sender post_master@"),
        ("ndr_sender.eml", MessageKind.bounce, "sender ndr@"),
        ("noreply_plain.eml", MessageKind.auto_reply, "sender noreply@"),
        ("do_not_reply.eml", MessageKind.auto_reply, "sender do-not-reply@"),
        ("donotreply.eml", MessageKind.auto_reply, "sender donotreply@"),
        ("linkedin_messages_noreply.eml", MessageKind.auto_reply, "sender messages-noreply@"),
        ("github_notifications.eml", MessageKind.auto_reply, "sender notifications@"),
        ("m365_quarantine.eml", MessageKind.auto_reply, "sender quarantine@"),
        ("outlook_oof_subject_only.eml", MessageKind.auto_reply, "subject 'Automatic reply:"),
        ("outlook_out_of_office_legacy.eml", MessageKind.auto_reply, "subject 'Out of Office:"),
        ("outlook_oof_fr.eml", MessageKind.auto_reply, "subject 'Réponse automatique"),
        ("absence_du_bureau.eml", MessageKind.auto_reply, "subject 'Absence du bureau"),
        ("autosvar_sv.eml", MessageKind.auto_reply, "subject 'Autosvar:"),
        ("auto_reply_colon.eml", MessageKind.auto_reply, "subject 'Auto reply:"),
        ("clamav_virus_alert.eml", MessageKind.auto_reply, "sender virusalert@"),
        ("symantec_banned.eml", MessageKind.auto_reply, "(scanner notice)"),
        ("hotmail_jmrp_complaint.eml", MessageKind.bounce, "subject 'complaint about message"),
    ],
)
def test_each_shape_is_a_robot_named_by_its_signal(shape: str, kind: MessageKind, signal: str) -> None:
    found_kind, found_signal = verdict((SHAPES / shape).read_bytes())
    assert found_kind == kind
    assert signal in found_signal


def test_x_auto_response_suppress_alone_is_not_a_robot_it_only_asks_for_no_answer() -> None:
    raw = message(headers={"X-Auto-Response-Suppress": "All"})
    assert verdict(raw)[0] == MessageKind.correspondence
    assert wants_no_auto_reply(parse_message(raw))
    assert "asked for no automatic reply" in (no_reply_reason(parse_message(raw)) or "")


def test_a_bounce_found_only_by_mailmans_detectors_names_them() -> None:
    # qmail's wording, from a sender and subject that say nothing
    raw = (
        b"From: relay@isp.example\r\nTo: cers-applications@cbsa-asfc.example\r\nSubject: your mail\r\n\r\n"
        b"Hi. This is the qmail-send program at isp.example.\r\n"
        b"I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        b"This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
        b"<gone@exporter.example>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n"
    )
    kind, signal = verdict(raw)
    assert kind == MessageKind.bounce and signal.startswith("flufl.bounce")


def test_people_are_not_robots() -> None:
    # Mailman's own negative case (a person's reply with a read-receipt request), and ordinary mail
    person = (CORPUS / "people" / "groupwise_03.txt").read_bytes()
    assert verdict(person) == (MessageKind.correspondence, "no PDF, no robot sign")
    for subject in ("Delivery of our goods to Rotterdam", "Question about item 8", "Re: We received your message"):
        assert verdict(message(subject=subject))[0] == MessageKind.correspondence
    assert not wants_no_auto_reply(parse_message(person))


def test_a_message_with_a_pdf_and_a_robot_sign_still_names_the_sign() -> None:
    raw = message(headers={"Precedence": "bulk"})
    kind, signal = verdict(raw, has_pdf=True)
    assert kind == MessageKind.list and signal == "header Precedence: bulk"
    assert "automated (header Precedence: bulk)" in (no_reply_reason(parse_message(raw)) or "")
    assert verdict(message(), has_pdf=True) == (MessageKind.form, "a PDF attached, no robot sign")


@pytest.mark.parametrize("shape", ["gmail_dsn_delay.eml", "delivery_delay_warning.eml", "mdn_read_receipt.eml", "yahoo_arf.eml"])
def test_delays_receipts_and_complaints_mark_no_notice_undeliverable(shape: str) -> None:
    assert bounced_message_ids(parse_message((SHAPES / shape).read_bytes()).message) == []


def test_a_failed_delivery_report_returns_the_notice_id() -> None:
    assert bounced_message_ids(parse_message((SHAPES / "postfix_dsn.eml").read_bytes()).message) == ["<notice-1@cbsa-asfc.example>"]


# ---------------------------------------------------------------- PDF verdicts


@pytest.mark.parametrize(("content_type", "filename"), [("application/pdf", "BSF831.pdf"), ("application/octet-stream", "form.PDF")])
def test_an_empty_part_declared_as_a_pdf_is_an_unreadable_pdf_attachment(content_type: str, filename: str) -> None:
    mail = EmailMessage()
    mail["From"] = "a@b.example"
    mail.set_content("form attached")
    maintype, _, subtype = content_type.partition("/")
    mail.add_attachment(b"", maintype=maintype, subtype=subtype, filename=filename)
    mail.add_attachment(b"", maintype="text", subtype="plain", filename="notes.txt")
    (found,) = find_pdfs(parse_message(mail.as_bytes()).message)
    assert (found.filename, found.data) == (filename, b"")


def test_empty_and_truncated_files_are_unreadable() -> None:
    with pytest.raises(DamagedPdf, match="empty"):
        parse_pdf(b"")
    form = fill_form(sample_values("valid"))
    with pytest.raises(DamagedPdf, match="truncated"):
        parse_pdf(form[: len(form) // 2])


def test_unreadable_reasons_are_plain_sentences_in_each_language() -> None:
    form = fill_form(sample_values("valid"))
    for data in (b"", form[:500], form.replace(b"obj", b"ob")):
        for reason in unreadable_reason(data):
            assert reason.endswith(".") and not re.search(r"[A-Z][a-z]+[A-Z]\w*(Error|Exception)", reason)
    assert unreadable_reason(b"") == ("the file is empty (0 bytes).", "le fichier est vide (0 octet).")


def _plain(pdf: bytes) -> bytes:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        out = io.BytesIO()
        document.save(out, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable)
        return out.getvalue()


@pytest.mark.parametrize("damage", ["stream-lengths-wrong", "no-xref-no-trailer"])
def test_a_pdf_pypdf_cannot_open_is_read_after_qpdf_repairs_it(damage: str) -> None:
    plain = _plain(fill_form(sample_values("valid")))
    if damage == "stream-lengths-wrong":
        broken = re.sub(rb"/Length \d+", b"/Length 99999999", plain)
    else:
        broken = plain[: plain.rfind(b"xref")] + b"%%EOF\n"
    result = parse_pdf(broken)
    assert isinstance(result, Bsf831Form) and result.method == ReadMethod.acroform
    assert result.get("exporter.business_number") == "123456782RM0001"


def test_an_encrypted_pdf_without_an_id_is_encrypted_not_a_scan() -> None:
    # pypdf's own test file (tests/corpus/pdfs/SOURCES.md): RC4, empty user password, no /ID in the trailer
    with pytest.raises(EncryptedPdf):
        parse_pdf((CORPUS / "pdfs" / "encrypted_doc_no_id.pdf").read_bytes())


def test_a_scan_that_opens_with_the_empty_password_is_still_a_scan_only_when_not_encrypted() -> None:
    scan = fixture("image_only")
    result = parse_pdf(scan)
    assert isinstance(result, Bsf831Form) and result.method == ReadMethod.none
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(scan)) as document:
        document.save(out, encryption=pikepdf.Encryption(user="", owner="owner-secret", R=6))
    with pytest.raises(EncryptedPdf):
        parse_pdf(out.getvalue())


# ---------------------------------------------------------------- flattened forms, any layout


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(("profile_id", "language"), [("bsf831-en", "en"), ("bsf831-fr", "fr"), ("bsf831-en", "fr")])
def test_a_form_drawn_as_text_is_read_in_each_layout_and_language(layout: str, profile_id: str, language: str) -> None:
    result = parse_pdf(draw_form(layout, profile_id, language))
    assert isinstance(result, Bsf831Form) and result.method == ReadMethod.text_layer
    expected = drawn_values(profile_id)
    assert {key: result.get(key) for key in expected} == expected
    where = {"left": "right of", "above": "below", "cell": "in the cell of"}[layout]
    assert where in result.provenance["exporter.legal_name"]


def test_a_flattened_grid_form_keeps_each_value_in_its_own_cell() -> None:
    # side by side cells: the neighbour's value is right of the label, but outside its cell
    result = parse_pdf(draw_form("cell"))
    assert isinstance(result, Bsf831Form)
    assert result.get("contact.name") == "Marie Tremblay" and result.get("contact.title") == "Export Manager"
