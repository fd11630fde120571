"""Validation rules on forms read from PDFs the tests generate from the reference template."""

from datetime import date, timedelta

import pytest

from core.enums import Severity
from core.settings import ValidationSettings
from demo.forms import fill_form, sample_values
from parsers.form import Bsf831Form
from parsers.read import parse_pdf
from processors.validate import has_errors, validate

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 26)


def read(values: dict, profile: str = "bsf831-en") -> Bsf831Form:
    result = parse_pdf(fill_form(values, profile))
    assert isinstance(result, Bsf831Form)
    return result


def codes(form: Bsf831Form, settings: ValidationSettings | None = None) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for f in validate(form, settings or ValidationSettings(), today=TODAY):
        found.setdefault(f.field, set()).add(f.code)
    return found


def valid(**changes: object) -> dict:
    values = {**sample_values("valid"), "application_date": TODAY.isoformat(), "certification.date": TODAY.isoformat()}
    values.update({key.replace("__", "."): value for key, value in changes.items()})
    return values


@pytest.mark.parametrize("profile", ["bsf831-en", "bsf831-fr"])
def test_valid_sample_has_no_findings(profile: str) -> None:
    values = {**sample_values("valid", profile), "application_date": TODAY.isoformat(), "certification.date": TODAY.isoformat()}
    assert validate(read(values, profile), ValidationSettings(), today=TODAY) == []


def test_every_required_item_is_named_with_item_and_label() -> None:
    blank_required = {
        key: None
        for key in (
            "language",
            "application_date",
            "exporter.provides_customs_services",
            "exporter.legal_name",
            "exporter.business_number",
            "exporter.email",
            "provider.submits_for_exporter",
            "g7edi.used",
        )
    }
    findings = validate(read(valid(**{k.replace(".", "__"): v for k, v in blank_required.items()})), ValidationSettings(), today=TODAY)
    required = {f.field: f for f in findings if f.code == "required"}
    assert set(required) == set(blank_required)
    assert required["exporter.business_number"].item == "6"
    assert required["exporter.business_number"].label_en == "Business Number"
    assert required["exporter.business_number"].label_fr == "Numéro d'entreprise"
    assert all(f.severity == Severity.error and f.message_fr for f in required.values())


def test_french_revision_requires_request_type_and_numbers_items_its_way() -> None:
    values = {**sample_values("valid", "bsf831-fr"), "request_type": None, "exporter.email": None}
    findings = validate(read(values, "bsf831-fr"), ValidationSettings(), today=TODAY)
    items = {f.field: f.item for f in findings if f.code == "required"}
    assert items == {"request_type": "3", "exporter.email": "7b"}


@pytest.mark.parametrize(
    ("bn", "code"),
    [
        ("123456789RM0001", "bn_check_digit"),
        ("123456782RT0001", "bn_program"),
        ("000000000RM0000", "bn_all_zero"),
        ("12345678RM0001", "bn_format"),
        ("123456782", "bn_format"),
    ],
)
def test_business_number_problems(bn: str, code: str) -> None:
    assert codes(read(valid(exporter__business_number=bn))) == {"exporter.business_number": {code}}


@pytest.mark.parametrize("bn", ["123456782RM0001", "123 456 782 rm 0001", "123456782-RM-0001"])
def test_business_number_accepted_forms(bn: str) -> None:
    assert codes(read(valid(exporter__business_number=bn))) == {}


def test_part_b_required_when_item_8_is_yes() -> None:
    form = read(valid(provider__submits_for_exporter="yes"))
    assert codes(form) == {"provider.legal_name": {"required"}, "provider.business_number": {"required"}}
    assert "when item 8 is Yes" in validate(form, ValidationSettings(), today=TODAY)[0].message_en


def test_provider_business_number_must_differ_from_exporter() -> None:
    form = read(valid(provider__submits_for_exporter="yes", provider__legal_name="Brokers", provider__business_number="123456782RM0001"))
    assert codes(form) == {"provider.business_number": {"bn_same_as_exporter"}}


def test_licence_required_for_g7edi_association() -> None:
    values = {
        **sample_values("provider", "bsf831-fr"),
        "request_type": "g7edi",
        "application_date": TODAY.isoformat(),
        "certification.date": TODAY.isoformat(),
    }
    assert codes(read(values, "bsf831-fr")) == {"provider.licence_number": {"required"}}


def test_email_syntax() -> None:
    assert codes(read(valid(exporter__email="exports@@erable"))) == {"exporter.email": {"email_invalid"}}


def test_deliverability_is_off_by_default_and_a_setting_turns_it_on() -> None:
    form = read(valid(exporter__email="exports@no-such-domain-for-cers-tests.ca"))
    assert codes(form) == {}
    assert codes(form, ValidationSettings(check_deliverability=True))["exporter.email"] == {"email_invalid"}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ((TODAY + timedelta(days=1)).isoformat(), "date_in_future"),
        ("2026-02-30", "date_invalid"),
        ("next tuesday", "date_invalid"),
        ("03/04/2026", "date_ambiguous"),
    ],
)
def test_application_date_errors(text: str, code: str) -> None:
    assert codes(read(valid(application_date=text))) == {"application_date": {code}}


@pytest.mark.parametrize("text", ["2026/11/20", "20/11/2026", "2026-11-20"])
def test_accepted_date_forms(text: str) -> None:
    assert codes(read(valid(application_date=text))) == {}


def test_old_application_date_is_a_warning_for_the_officer() -> None:
    findings = validate(read(valid(application_date="2026-01-05")), ValidationSettings(), today=TODAY)
    assert [(f.code, f.severity) for f in findings] == [("date_old", Severity.warning)]
    assert not has_errors(findings)


def test_inferred_parts_required_only_when_set() -> None:
    form = read(valid(certification__signed=False, contact__name=None))
    assert codes(form) == {}
    strict = ValidationSettings(require_inferred_fields=True)
    assert codes(form, strict) == {"certification.signed": {"required"}, "contact.name": {"required"}}


@pytest.mark.parametrize(
    ("phone", "ok"), [("613-555-0142", True), ("+1 (613) 555.0142 ext. 12", True), ("113-555-0142", False), ("555-0142", False)]
)
def test_contact_phone(phone: str, ok: bool) -> None:
    assert (codes(read(valid(contact__phone=phone))) == {}) is ok
