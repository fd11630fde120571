"""The reference BSF831 template: field tree, fill round trip and sample applications."""

from __future__ import annotations

import io
import logging
import warnings
from datetime import date

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from stdnum.ca import bn

from demo.forms import draw_template, fill_form, sample_values
from parsers.profiles import FieldSpec, get_profile

PROFILE_IDS = ("bsf831-en", "bsf831-fr")
PART_A_LEGAL_NAME = "BSF831[0].Page1[0].PartA[0].LegalName[0]"
PART_B_LEGAL_NAME = "BSF831[0].Page1[0].PartB[0].LegalName[0]"
CERTIFY = "BSF831[0].Page2[0].PartE[0].Certify[0]"


def read(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf), strict=True)


def terminal_fields(reader: PdfReader) -> dict[str, dict]:
    """Fields that carry a type: the terminals, keyed by fully qualified name."""
    fields = reader.get_fields() or {}
    return {name: field for name, field in fields.items() if "/FT" in field}


def field_tree(reader: PdfReader) -> list[DictionaryObject]:
    return [ref.get_object() for ref in reader.trailer["/Root"]["/AcroForm"]["/Fields"]]


def child(node: DictionaryObject, name: str) -> DictionaryObject:
    matches = [kid.get_object() for kid in node["/Kids"] if kid.get_object().get("/T") == name]
    assert len(matches) == 1, f"{name} under {node.get('/T')}: {len(matches)} matches"
    return matches[0]


def resolve(roots: list[DictionaryObject], qualified: str) -> DictionaryObject:
    first, *rest = qualified.split(".")
    (node,) = [root for root in roots if root["/T"] == first]
    for part in rest:
        node = child(node, part)
    return node


def expected_value(spec: FieldSpec, value: object) -> str:
    if spec.type in ("choice", "yesno"):
        exports = {canonical: export for export, canonical in spec.choices.items()}
        return "/" + exports[str(value)]
    if spec.type == "checkbox":
        return "/Yes" if value else "/Off"
    return str(value)


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_template_fields_are_the_profile_fields(profile_id: str) -> None:
    profile = get_profile(profile_id)
    reader = read(draw_template(profile_id))
    assert set(terminal_fields(reader)) == {spec.pdf for spec in profile.fields}
    assert {spec.pdf for spec in profile.fields} <= set(reader.get_fields() or {})


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_template_names_are_a_tree_not_dotted_names(profile_id: str) -> None:
    reader = read(draw_template(profile_id))
    roots = field_tree(reader)
    assert [root["/T"] for root in roots] == ["BSF831[0]"]
    for spec in get_profile(profile_id).fields:
        node = resolve(roots, spec.pdf)
        while "/Parent" in node:
            assert "." not in node["/T"]
            parent = node["/Parent"].get_object()
            assert any(kid.get_object() is node for kid in parent["/Kids"])
            node = parent
        assert node["/T"] == "BSF831[0]"


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_legal_name_is_under_part_a_and_part_b(profile_id: str) -> None:
    roots = field_tree(read(draw_template(profile_id)))
    part_a = resolve(roots, PART_A_LEGAL_NAME)
    part_b = resolve(roots, PART_B_LEGAL_NAME)
    assert part_a is not part_b
    assert part_a["/T"] == part_b["/T"] == "LegalName[0]"
    assert part_a["/Parent"].get_object()["/T"] == "PartA[0]"
    assert part_b["/Parent"].get_object()["/T"] == "PartB[0]"


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_radio_groups_export_the_profile_choices(profile_id: str) -> None:
    roots = field_tree(read(draw_template(profile_id)))
    for spec in get_profile(profile_id).fields:
        if spec.type not in ("choice", "yesno"):
            continue
        group = resolve(roots, spec.pdf)
        assert group["/FT"] == "/Btn"
        assert int(group["/Ff"]) & (1 << 15)
        assert group["/V"] == "/Off"
        states = {s for kid in group["/Kids"] for s in kid.get_object()["/AP"]["/N"]}
        assert states == {"/Off"} | {"/" + export for export in spec.choices}


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_widgets_sit_on_the_page_their_name_says(profile_id: str) -> None:
    reader = read(draw_template(profile_id))
    roots = field_tree(reader)
    for spec in get_profile(profile_id).fields:
        page = reader.pages[int(spec.pdf.split("Page")[1][0]) - 1]
        annots = [ref.get_object() for ref in page["/Annots"]]
        field = resolve(roots, spec.pdf)
        widgets = [kid.get_object() for kid in field.get("/Kids", [])] or [field]
        assert all(any(w is a for a in annots) for w in widgets), spec.pdf


def test_en_revision_has_no_request_type_and_fr_has() -> None:
    assert "BSF831[0].Page1[0].RequestType[0]" not in terminal_fields(read(draw_template()))
    assert "BSF831[0].Page1[0].RequestType[0]" in terminal_fields(read(draw_template("bsf831-fr")))


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_template_looks_like_the_bilingual_form(profile_id: str) -> None:
    reader = read(draw_template(profile_id))
    assert len(reader.pages) == 2
    text = " ".join(page.extract_text() for page in reader.pages)
    for phrase in (
        "Exporter reporting application form",
        "Formulaire de demande de déclaration des exportateurs",
        "BSF831",
        "Protected A when completed",
        "Protégé A une fois rempli",
        "Part A",
        "Part E",
        "Nom légal de l'entreprise",
    ):
        assert phrase in text


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
@pytest.mark.parametrize("kind", ("valid", "incomplete", "provider"))
def test_fill_round_trip(profile_id: str, kind: str) -> None:
    profile = get_profile(profile_id)
    values = sample_values(kind, profile_id)
    fields = terminal_fields(read(fill_form(values, profile_id)))
    for key, value in values.items():
        spec = profile.field(key)
        read_back = fields[spec.pdf].get("/V")
        if value is None:
            assert read_back in (None, "", "/Off"), key
        else:
            assert read_back == expected_value(spec, value), key


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_fill_reads_back_the_expected_raw_values(profile_id: str) -> None:
    fields = terminal_fields(read(fill_form(sample_values("provider", profile_id), profile_id)))
    language = "/FR" if profile_id == "bsf831-fr" else "/EN"
    assert fields["BSF831[0].Page1[0].Language[0]"]["/V"] == language
    assert fields["BSF831[0].Page1[0].PartB[0].SubmitsForExporter[0]"]["/V"] == "/Yes"
    assert fields["BSF831[0].Page1[0].PartA[0].ProvidesCustomsServices[0]"]["/V"] == "/No"
    assert fields[PART_A_LEGAL_NAME]["/V"] == "Érable Exports Ltée"
    assert fields[PART_B_LEGAL_NAME]["/V"] == "Border Brokers Inc."
    assert fields[CERTIFY]["/V"] == "/Yes"


def test_fill_sets_the_widget_appearance_states() -> None:
    reader = read(fill_form(sample_values("valid")))
    roots = field_tree(reader)
    language = resolve(roots, "BSF831[0].Page1[0].Language[0]")
    states = [kid.get_object()["/AS"] for kid in language["/Kids"]]
    assert states == ["/EN", "/Off"]
    certify = resolve(roots, CERTIFY)
    assert certify["/AS"] == certify["/V"] == "/Yes"


def test_fill_accepts_booleans_dates_and_a_given_template() -> None:
    template = draw_template("bsf831-fr")
    values = {
        "request_type": "g7edi",
        "g7edi.used": True,
        "exporter.provides_customs_services": False,
        "certification.date": date(2024, 5, 1),
        "certification.signed": False,
    }
    fields = terminal_fields(read(fill_form(values, "bsf831-fr", template=template)))
    assert fields["BSF831[0].Page1[0].RequestType[0]"]["/V"] == "/G7EDI"
    assert fields["BSF831[0].Page2[0].PartC[0].UsesG7EDI[0]"]["/V"] == "/Yes"
    assert fields["BSF831[0].Page1[0].PartA[0].ProvidesCustomsServices[0]"]["/V"] == "/No"
    assert fields["BSF831[0].Page2[0].PartE[0].SignatureDate[0]"]["/V"] == "2024-05-01"
    assert fields[CERTIFY]["/V"] == "/Off"


def test_fill_rejects_unknown_keys_and_values() -> None:
    with pytest.raises(KeyError):
        fill_form({"exporter.fax": "613-555-0100"})
    with pytest.raises(KeyError):
        fill_form({"request_type": "cers"}, "bsf831-en")
    with pytest.raises(ValueError):
        fill_form({"language": "de"})
    with pytest.raises(TypeError):
        fill_form({"certification.signed": "yes"})


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_output_opens_without_warnings(profile_id: str, caplog: pytest.LogCaptureFixture) -> None:
    pdfs = [draw_template(profile_id), fill_form(sample_values("provider", profile_id), profile_id)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level(logging.WARNING):
            for pdf in pdfs:
                reader = read(pdf)
                reader.get_fields()
                for page in reader.pages:
                    page.extract_text()
                    page.get("/Annots")
    assert not caplog.records


def test_template_is_reproducible() -> None:
    assert draw_template() == draw_template()


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_sample_values_cover_the_profile(profile_id: str) -> None:
    keys = set(get_profile(profile_id).keys)
    for kind in ("valid", "incomplete", "provider"):
        assert set(sample_values(kind, profile_id)) == keys


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_valid_sample(profile_id: str) -> None:
    values = sample_values("valid", profile_id)
    today = date.today().isoformat()
    assert values["language"] == ("fr" if profile_id == "bsf831-fr" else "en")
    assert values["application_date"] == values["certification.date"] == today
    assert values["exporter.legal_name"] == "Érable Exports Ltée"
    assert bn.is_valid(str(values["exporter.business_number"]))
    assert values["provider.submits_for_exporter"] == "no"
    assert values["certification.signed"] is True
    if profile_id == "bsf831-fr":
        assert values["request_type"] == "cers"


def test_incomplete_sample() -> None:
    values = sample_values("incomplete")
    assert not bn.is_valid(str(values["exporter.business_number"]))
    assert values["exporter.email"] is None
    assert values["exporter.legal_name"] is None


def test_provider_sample() -> None:
    values = sample_values("provider")
    provider_bn = str(values["provider.business_number"])
    assert values["provider.submits_for_exporter"] == "yes"
    assert values["provider.legal_name"] == "Border Brokers Inc."
    assert bn.is_valid(provider_bn) and provider_bn[9:11] == "RM"
    assert provider_bn[:9] != str(values["exporter.business_number"])[:9]


def test_unknown_sample_kind() -> None:
    with pytest.raises(ValueError):
        sample_values("spam")
