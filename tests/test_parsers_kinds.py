"""Every way an applicant's PDF stores a BSF831, read into the right values, method and provenance."""

from __future__ import annotations

import pytest
from pdf_fixtures import READ_KINDS, XFA_LEGAL_NAME, expected, fixture

from parsers.errors import DamagedPdf, EncryptedPdf, LimitExceeded
from parsers.form import BLANK_FORM, NO_FORM, OTHER_FORM, Bsf831Form, NotAForm
from parsers.read import parse_pdf

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("kind", sorted(READ_KINDS))
def test_each_kind_reads_the_sample_values(kind: str) -> None:
    form = parse_pdf(fixture(kind))
    assert isinstance(form, Bsf831Form)
    assert form.method == READ_KINDS[kind]
    assert dict(form.values) == expected(kind)
    assert form.revision == ("bsf831-fr" if kind.startswith("french") else "bsf831-en")
    assert form.producer
    assert set(form.provenance) == set(form.profile.keys)
    prefix = {"acroform": "acroform:", "xfa": "xfa:", "text_layer": "text_layer:page "}[form.method]
    assert all(source.startswith(prefix) for source in form.provenance.values())


def test_xfa_only_provenance_names_data_paths() -> None:
    form = parse_pdf(fixture("xfa_only"))
    assert isinstance(form, Bsf831Form)
    assert form.provenance["provider.legal_name"] == "xfa:BSF831.Page1.PartB.LegalName"
    assert form.provenance["exporter.legal_name"] == "xfa:BSF831.Page1.PartA.LegalName"


def test_acroform_and_xfa_disagreeing_keeps_acroform_and_records_the_conflict() -> None:
    form = parse_pdf(fixture("xfa_disagrees"))
    assert isinstance(form, Bsf831Form)
    assert form.method == "acroform"
    assert form.get("exporter.legal_name") == expected("acroform")["exporter.legal_name"]
    ((conflict),) = form.conflicts
    assert (conflict.key, conflict.xfa) == ("exporter.legal_name", XFA_LEGAL_NAME)
    assert "differs from xfa:BSF831.Page1.PartA.LegalName" in form.provenance["exporter.legal_name"]
    agreeing = parse_pdf(fixture("static_xfa"))
    assert isinstance(agreeing, Bsf831Form) and agreeing.conflicts == ()


def test_flattened_form_is_lower_confidence() -> None:
    form = parse_pdf(fixture("flattened"))
    assert isinstance(form, Bsf831Form)
    assert form.lower_confidence and not parse_pdf(fixture("acroform")).lower_confidence  # type: ignore[union-attr]


def test_image_only_is_recognised_and_nothing_is_guessed() -> None:
    form = parse_pdf(fixture("image_only"))
    assert isinstance(form, Bsf831Form)
    assert form.image_only and form.method == "none" and form.revision is None
    assert not any(form.values.values()) and form.provenance == {}


@pytest.mark.parametrize(
    ("kind", "not_a_form", "number"), [("blank", BLANK_FORM, "BSF831"), ("invoice", NO_FORM, None), ("bsf947", OTHER_FORM, "BSF947")]
)
def test_pdfs_that_are_not_a_filled_bsf831(kind: str, not_a_form: str, number: str | None) -> None:
    result = parse_pdf(fixture(kind))
    assert isinstance(result, NotAForm)
    assert (result.kind, result.form_number) == (not_a_form, number)


def test_user_password_is_a_typed_error_and_empty_password_opens() -> None:
    with pytest.raises(EncryptedPdf, match="password"):
        parse_pdf(fixture("encrypted_user_password"))
    assert isinstance(parse_pdf(fixture("encrypted_empty_password")), Bsf831Form)


def test_page_limit_and_garbage() -> None:
    with pytest.raises(LimitExceeded, match="2 pages; at most 1"):
        parse_pdf(fixture("acroform"), max_pages=1)
    with pytest.raises(DamagedPdf):
        parse_pdf(b"%PDF-1.7\n garbage")
