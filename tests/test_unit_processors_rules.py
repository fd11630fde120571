"""Unit tests for processors/rules/* and processors/validate.py on forms built directly (no PDF)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.enums import ReadMethod, Severity
from core.settings import ValidationSettings
from parsers.form import Bsf831Form
from parsers.profiles import get_profile
from processors.dates import DateProblem, parse_form_date
from processors.findings import RuleContext
from processors.rules import RULES, business_number, inferred_parts, part_b, phone
from processors.validate import has_errors, validate

pytestmark = pytest.mark.unit

TODAY = date(2026, 3, 4)
EXPORTER_BN = "123456782RM0001"
PROVIDER_BN = "100000009RM0001"


def values(profile_id: str = "bsf831-en", **changes: str | None) -> dict[str, str | None]:
    """A clean form's canonical values; keyword changes use __ for the dot (exporter__email=None)."""
    base: dict[str, str | None] = {
        "language": "fr" if profile_id == "bsf831-fr" else "en",
        "application_date": TODAY.isoformat(),
        "request_type": "cers",
        "exporter.provides_customs_services": "no",
        "exporter.legal_name": "Érable Exports Ltée",
        "exporter.operating_name": None,
        "exporter.business_number": EXPORTER_BN,
        "exporter.email": "exports@erable.example",
        "provider.submits_for_exporter": "no",
        "provider.legal_name": None,
        "provider.operating_name": None,
        "provider.business_number": None,
        "provider.licence_number": None,
        "g7edi.used": "no",
        "g7edi.software_name": None,
        "g7edi.software_vendor": None,
        "contact.name": "Marie Tremblay",
        "contact.title": "Export Manager",
        "contact.phone": "613-555-0142",
        "contact.email": "marie.tremblay@erable.example",
        "certification.name": "Jean Gagnon",
        "certification.title": "President",
        "certification.date": TODAY.isoformat(),
        "certification.signed": "yes",
    }
    base.update({key.replace("__", "."): value for key, value in changes.items()})
    keys = get_profile(profile_id).keys
    return {key: base.get(key) for key in keys}


def form(profile_id: str = "bsf831-en", **changes: str | None) -> Bsf831Form:
    return Bsf831Form(profile=get_profile(profile_id), method=ReadMethod.acroform, producer=None, values=values(profile_id, **changes))


def found(checked: Bsf831Form, settings: ValidationSettings | None = None, today: date = TODAY) -> set[tuple[str, str]]:
    """(field, code) of every finding."""
    return {(f.field, f.code) for f in validate(checked, settings or ValidationSettings(), today=today)}


# ---------------------------------------------------------------- validate


@pytest.mark.parametrize("profile_id", ["bsf831-en", "bsf831-fr"])
def test_a_clean_form_has_no_findings(profile_id: str) -> None:
    assert validate(form(profile_id), ValidationSettings(), today=TODAY) == []


def test_every_rule_module_has_a_name_and_a_check() -> None:
    names = [rule.NAME for rule in RULES]
    assert len(set(names)) == len(names) == len(RULES)
    assert all(callable(rule.check) for rule in RULES)


def test_findings_come_in_the_forms_field_order() -> None:
    checked = form(contact__phone="12", exporter__email="nope", language=None)
    order = [f.field for f in validate(checked, ValidationSettings(), today=TODAY)]
    assert order == ["language", "exporter.email", "contact.phone"]


def test_has_errors_ignores_warnings() -> None:
    warnings_only = validate(form(contact__phone="12"), ValidationSettings(), today=TODAY)
    assert [f.severity for f in warnings_only] == [Severity.warning]
    assert not has_errors(warnings_only)
    assert has_errors(validate(form(exporter__email=None), ValidationSettings(), today=TODAY))
    assert not has_errors([])


def test_a_finding_names_item_and_labels_in_both_languages() -> None:
    [missing] = validate(form(exporter__legal_name=None), ValidationSettings(), today=TODAY)
    assert (missing.code, missing.field, missing.item, missing.severity) == ("required", "exporter.legal_name", "4", Severity.error)
    assert missing.label_en == "Legal Name of the Company" and missing.label_fr == "Nom légal de l'entreprise"
    assert missing.message_en == "This item is required." and missing.message_fr == "Ce champ est obligatoire."
    assert missing.as_dict()["severity"] == "error" and missing.as_dict()["item"] == "4"


# ---------------------------------------------------------------- required


@pytest.mark.parametrize(
    "key",
    [
        "language",
        "application_date",
        "exporter.provides_customs_services",
        "exporter.legal_name",
        "exporter.business_number",
        "exporter.email",
        "provider.submits_for_exporter",
        "g7edi.used",
    ],
)
def test_each_confirmed_item_is_required(key: str) -> None:
    assert found(form(**{key.replace(".", "__"): None})) == {(key, "required")}


def test_request_type_is_required_only_on_the_revision_that_has_it() -> None:
    assert found(form("bsf831-fr", request_type=None)) == {("request_type", "required")}
    assert "request_type" not in get_profile("bsf831-en").keys
    assert found(form("bsf831-en", request_type=None)) == set()


def test_an_empty_string_counts_as_missing() -> None:
    assert found(form(exporter__legal_name="")) == {("exporter.legal_name", "required")}


def test_optional_fields_may_be_empty() -> None:
    assert found(form(exporter__operating_name=None, contact__title=None, contact__phone=None)) == set()


# ---------------------------------------------------------------- choices


def test_a_choice_outside_the_profile_is_invalid_and_lists_the_options() -> None:
    [finding] = validate(form(language="de"), ValidationSettings(), today=TODAY)
    assert finding.code == "invalid_choice" and finding.field == "language"
    assert "EN" in finding.message_en and "FR" in finding.message_en


def test_a_yes_no_item_holding_something_else_is_invalid() -> None:
    assert found(form(g7edi__used="maybe")) == {("g7edi.used", "invalid_choice")}


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-04", date(2026, 3, 4)),
        ("2026/3/4", date(2026, 3, 4)),
        ("2026.03.04", date(2026, 3, 4)),
        ("25/12/2025", date(2025, 12, 25)),
        ("04/04/2026", date(2026, 4, 4)),
        (" 2026-03-04 ", date(2026, 3, 4)),
    ],
)
def test_parse_form_date_accepts(text: str, expected: date) -> None:
    assert parse_form_date(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("03/04/2026", "date_ambiguous"),
        ("2026-02-30", "date_invalid"),
        ("March 4", "date_invalid"),
        ("31/31/2026", "date_invalid"),
    ],
)
def test_parse_form_date_refuses(text: str, code: str) -> None:
    with pytest.raises(DateProblem) as raised:
        parse_form_date(text)
    assert raised.value.code == code and raised.value.en and raised.value.fr


def test_a_future_date_is_an_error_today_is_not() -> None:
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    assert found(form(application_date=tomorrow)) == {("application_date", "date_in_future")}
    assert found(form(certification__date=tomorrow)) == {("certification.date", "date_in_future")}
    assert found(form(application_date=TODAY.isoformat())) == set()


def test_an_old_application_date_is_a_warning_past_the_setting() -> None:
    settings = ValidationSettings(application_date_warn_days=30)
    at_limit = (TODAY - timedelta(days=30)).isoformat()
    past_limit = (TODAY - timedelta(days=31)).isoformat()
    assert found(form(application_date=at_limit), settings) == set()
    [warning] = validate(form(application_date=past_limit), settings, today=TODAY)
    assert (warning.code, warning.severity) == ("date_old", Severity.warning)
    assert "30 days" in warning.message_en


def test_an_old_certification_date_is_not_warned_about() -> None:
    old = (TODAY - timedelta(days=400)).isoformat()
    assert found(form(certification__date=old)) == set()


# ---------------------------------------------------------------- business numbers


@pytest.mark.parametrize("bn", ["123456782RM0001", "123456782 RM 0001", "123-456-782-rm-0001", "123.456.782.RM.0001"])
def test_business_number_accepted_spellings(bn: str) -> None:
    assert business_number.problem(bn) is None
    assert found(form(exporter__business_number=bn)) == set()


@pytest.mark.parametrize(
    ("bn", "code"),
    [
        ("12345678RM0001", "bn_format"),
        ("123456782", "bn_format"),
        ("123456782RM001", "bn_format"),
        ("000000000RM0001", "bn_all_zero"),
        ("123456789RM0001", "bn_check_digit"),
        ("123456782RC0001", "bn_program"),
    ],
)
def test_business_number_problems(bn: str, code: str) -> None:
    assert found(form(exporter__business_number=bn)) == {("exporter.business_number", code)}


def test_normalise_bn() -> None:
    assert business_number.normalise_bn(" 123 456-782.rm 0001") == "123456782RM0001"


# ---------------------------------------------------------------- email addresses


@pytest.mark.parametrize("key", ["exporter.email", "contact.email"])
@pytest.mark.parametrize("address", ["no-at-sign.example", "two@@erable.example", "a@b"])
def test_invalid_email_addresses(key: str, address: str) -> None:
    assert found(form(**{key.replace(".", "__"): address})) == {(key, "email_invalid")}


# ---------------------------------------------------------------- Part B


def provider_form(**changes: str | None) -> Bsf831Form:
    base = {
        "provider__submits_for_exporter": "yes",
        "provider__legal_name": "Border Brokers Inc.",
        "provider__business_number": PROVIDER_BN,
    }
    return form(**{**base, **changes})


def test_a_complete_part_b_has_no_findings() -> None:
    assert found(provider_form()) == set()


def test_part_b_items_are_required_when_item_8_is_yes() -> None:
    checked = provider_form(provider__legal_name=None, provider__business_number=None)
    assert found(checked) == {("provider.legal_name", "required"), ("provider.business_number", "required")}
    messages = {f.message_en for f in part_b.check(checked, RuleContext(ValidationSettings(), TODAY))}
    assert messages == {"This item is required when item 8 is Yes."}


def test_part_b_is_not_checked_when_item_8_is_no() -> None:
    assert found(form(provider__submits_for_exporter="no", provider__business_number="garbage")) == {
        ("provider.business_number", "bn_format")
    }  # a filled value is still checked, but nothing is required
    assert found(form(provider__submits_for_exporter="no")) == set()


def test_licence_number_required_for_a_g7edi_association() -> None:
    checked = Bsf831Form(
        profile=get_profile("bsf831-fr"),
        method=ReadMethod.acroform,
        producer=None,
        values=values(
            "bsf831-fr",
            request_type="g7edi",
            provider__submits_for_exporter="yes",
            provider__legal_name="Border Brokers Inc.",
            provider__business_number=PROVIDER_BN,
        ),
    )
    assert found(checked) == {("provider.licence_number", "required")}
    with_licence = Bsf831Form(
        profile=checked.profile, method=ReadMethod.acroform, producer=None, values={**checked.values, "provider.licence_number": "L-1234"}
    )
    assert found(with_licence) == set()


def test_provider_business_number_must_differ_from_the_exporters_even_spelled_differently() -> None:
    checked = provider_form(provider__business_number="123 456 782 rm 0001")
    assert found(checked) == {("provider.business_number", "bn_same_as_exporter")}


# ---------------------------------------------------------------- inferred parts (off by default)

INFERRED = ValidationSettings(require_inferred_fields=True)


def test_inferred_parts_are_not_required_by_default() -> None:
    checked = form(contact__name=None, certification__name=None, certification__signed="no")
    assert found(checked) == set()
    assert inferred_parts.check(checked, RuleContext(ValidationSettings(), TODAY)) == []


def test_inferred_parts_required_when_the_setting_is_on() -> None:
    checked = form(contact__name=None, certification__name=None, certification__date=None, certification__signed="no")
    assert found(checked, INFERRED) == {
        ("contact.name", "required"),
        ("certification.name", "required"),
        ("certification.date", "required"),
        ("certification.signed", "required"),
    }


def test_g7edi_software_required_only_when_g7edi_is_used() -> None:
    assert found(form(g7edi__used="no"), INFERRED) == set()
    assert found(form(g7edi__used="yes"), INFERRED) == {("g7edi.software_name", "required"), ("g7edi.software_vendor", "required")}
    assert found(form(g7edi__used="yes", g7edi__software_name="EDI Pro", g7edi__software_vendor="Acme"), INFERRED) == set()


def test_a_contact_email_stands_in_for_the_phone() -> None:
    assert found(form(contact__phone=None), INFERRED) == set()
    assert found(form(contact__phone=None, contact__email=None), INFERRED) == {("contact.phone", "required")}


# ---------------------------------------------------------------- phone


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("613-555-0142", True),
        ("(613) 555-0142", True),
        ("+1 613 555 0142", True),
        ("1-613-555-0142 ext. 12", True),
        ("613 555 0142 poste 3", True),
        ("613.555.0142 x9", True),
        ("555-0142", False),
        ("113-555-0142", False),
        ("613-155-0142", False),
        ("+44 20 7946 0958", False),
        ("2-613-555-0142", False),
    ],
)
def test_is_nanp(number: str, ok: bool) -> None:
    assert phone.is_nanp(number) is ok


def test_a_bad_phone_is_only_a_warning() -> None:
    [warning] = validate(form(contact__phone="555-0142"), ValidationSettings(), today=TODAY)
    assert (warning.field, warning.code, warning.severity) == ("contact.phone", "phone_invalid", Severity.warning)
