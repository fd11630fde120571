"""Reading the reference template's AcroForm through the profiles."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter
from reportlab.pdfgen import canvas

from core.errors import FormError
from demo.forms import draw_template, fill_form, sample_values
from parsers.form import Bsf831Form, NotAForm
from parsers.read import parse_pdf

pytestmark = pytest.mark.unit


def test_part_a_and_part_b_legal_names_are_told_apart() -> None:
    values = {**sample_values("provider"), "exporter.legal_name": "Érable Exports Ltée", "provider.legal_name": "Border Brokers Inc."}
    form = parse_pdf(fill_form(values))
    assert isinstance(form, Bsf831Form)
    assert form.get("exporter.legal_name") == "Érable Exports Ltée"
    assert form.get("provider.legal_name") == "Border Brokers Inc."
    assert form.provenance["provider.legal_name"] == "acroform:BSF831[0].Page1[0].PartB[0].LegalName[0]"


@pytest.mark.parametrize(("profile", "language"), [("bsf831-en", "en"), ("bsf831-fr", "fr")])
def test_revision_detected_and_choices_canonical(profile: str, language: str) -> None:
    form = parse_pdf(fill_form(sample_values("valid", profile), profile))
    assert isinstance(form, Bsf831Form)
    assert (form.revision, form.method, form.language) == (profile, "acroform", language)
    assert form.get("exporter.provides_customs_services") == "no"
    assert form.get("certification.signed") == "yes"
    assert form.get("request_type") == ("cers" if profile == "bsf831-fr" else None)


def test_blank_template_is_not_a_filled_form() -> None:
    result = parse_pdf(draw_template())
    assert isinstance(result, NotAForm)
    assert (result.kind, result.revision) == ("blank_form", "bsf831-en")


def test_odd_whitespace_is_normalised() -> None:
    form = parse_pdf(fill_form({**sample_values("valid"), "exporter.legal_name": "  Érable \t Exports\nLtée  "}))
    assert isinstance(form, Bsf831Form)
    assert form.get("exporter.legal_name") == "Érable Exports Ltée"


def test_pdf_without_fields_is_not_a_form() -> None:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "INVOICE 1234")
    page.save()
    result = parse_pdf(buffer.getvalue())
    assert isinstance(result, NotAForm)
    assert "no fillable form fields" in result.reason


def test_other_form_is_not_a_bsf831() -> None:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 740, "BSF947")
    page.acroForm.textfield(name="InvoiceNumber", x=72, y=700)
    page.showPage()
    page.save()
    result = parse_pdf(buffer.getvalue())
    assert isinstance(result, NotAForm)
    assert "not those of a BSF831" in result.reason


def test_garbage_and_password_protected_pdfs_raise_form_error() -> None:
    with pytest.raises(FormError, match="cannot be read as a PDF"):
        parse_pdf(b"%PDF-1.7\n garbage")
    writer = PdfWriter(clone_from=io.BytesIO(fill_form(sample_values("valid"))))
    writer.encrypt(user_password="secret", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(FormError, match="password"):
        parse_pdf(buffer.getvalue())


def test_encrypted_with_empty_user_password_is_read() -> None:
    writer = PdfWriter(clone_from=io.BytesIO(fill_form(sample_values("valid"))))
    writer.encrypt(user_password="", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    form = parse_pdf(buffer.getvalue())
    assert isinstance(form, Bsf831Form)
    assert form.exporter_business_number == "123456782RM0001"
