"""The project's reference BSF831: a fillable template per form revision, filled copies and samples.

The template carries the AcroForm shape of an Adobe LiveCycle static XFA form: hierarchical field
names such as ``BSF831[0].Page1[0].PartA[0].LegalName[0]``, taken from the form profile.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import groupby
from typing import Any, TypedDict, cast

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    TextStringObject,
)
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from parsers.profiles import FieldSpec, Profile, get_profile

PAGE_WIDTH, PAGE_HEIGHT = LETTER
MARGIN = 42.0
ITEM_WIDTH = 34.0
LABEL_X = MARGIN + ITEM_WIDTH
LABEL_WIDTH = 290.0
WIDGET_X = LABEL_X + LABEL_WIDTH + 12.0
WIDGET_WIDTH = PAGE_WIDTH - MARGIN - WIDGET_X
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
LEADING = 10.0
LABEL_SIZE = 8.5
TEXT_HEIGHT = 18.0
BUTTON_SIZE = 11.0
ROW_PADDING = 6.0
OPTION_SPACING = 100.0
DATE_WIDTH = 110.0

INK = colors.HexColor("#1A1A1A")
MUTED = colors.HexColor("#4D4D4D")
RULE = colors.HexColor("#9AA5B1")
BAND = colors.HexColor("#26374A")
WIDGET_FILL = colors.HexColor("#EEF3FB")
WIDGET_BORDER = colors.HexColor("#5A6B80")

AGENCY = ("Canada Border Services Agency", "Agence des services frontaliers du Canada")
TITLE = (
    "Exporter reporting application form",
    "Formulaire de demande de déclaration des exportateurs",
)
PROTECTED = ("Protected A when completed", "Protégé A une fois rempli")
FORM_NUMBER = "BSF831"
GENERAL_HEADING = ("Application", "Demande")
PART_HEADINGS = {
    "PartA": ("Part A – Exporter information", "Partie A – Renseignements sur l'exportateur"),
    "PartB": (
        "Part B – Customs service provider",
        "Partie B – Fournisseur de services douaniers",
    ),
    "PartC": ("Part C – G7-EDI reporting method", "Partie C – Méthode de déclaration EDI-G7"),
    "PartD": ("Part D – Contact information", "Partie D – Personne-ressource"),
    "PartE": ("Part E – Certification", "Partie E – Attestation"),
}
PART_NOTES = {
    "PartB": (
        "Complete items 9 to 12 only if a customs service provider will submit export declarations on behalf of the exporter.",
        "Remplir les points 9 à 12 seulement si un fournisseur de services douaniers présentera "
        "des déclarations d'exportation au nom de l'exportateur.",
    ),
    "PartE": (
        "I certify that the information given in this application is true, accurate and complete.",
        "J'atteste que les renseignements fournis dans la présente demande sont véridiques, exacts et complets.",
    ),
}
OPTION_CAPTIONS = {
    "EN": "English / Anglais",
    "FR": "French / Français",
    "Yes": "Yes / Oui",
    "No": "No / Non",
    "CERS": "CERS / SCDE",
    "G7EDI": "G7-EDI / EDI-G7",
}
CHECKBOX_CAPTION = "I certify / J'atteste"
DATE_HINT = (" (YYYY-MM-DD)", " (AAAA-MM-JJ)")
OFF = NameObject("/Off")

SAMPLE_KINDS = ("valid", "incomplete", "provider")
SAMPLE_LANGUAGES = {"bsf831-en": "en", "bsf831-fr": "fr"}
EXPORTER_BN = "123456782RM0001"
EXPORTER_BN_BAD_CHECK_DIGIT = "123456789RM0001"
PROVIDER_BN = "100000009RM0001"


@dataclass
class _Sheet:
    """The canvas being drawn and the top of the free space on its current page."""

    canvas: Canvas
    page: int
    pages: int
    y: float = 0.0


def draw_template(profile_id: str = "bsf831-en") -> bytes:
    """A blank, fillable reference BSF831 for that revision (bsf831-en or bsf831-fr)."""
    return _draw_template(profile_id)


@cache
def _draw_template(profile_id: str) -> bytes:
    profile = get_profile(profile_id)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER, invariant=True, pageCompression=1)
    canvas.setTitle(f"{FORM_NUMBER} – {TITLE[0]} / {TITLE[1]}")
    canvas.setAuthor(AGENCY[0])
    canvas.setSubject(profile.title)
    _draw_pages(canvas, profile)
    canvas.save()
    return _nest_field_names(buffer.getvalue())


def fill_form(values: dict[str, object], profile_id: str = "bsf831-en", *, template: bytes | None = None) -> bytes:
    """The template filled with canonical-key values, like a viewer that saves a filled form."""
    profile = get_profile(profile_id)
    if template is None:
        template = draw_template(profile_id)
    writer = PdfWriter(clone_from=io.BytesIO(template))
    fields = dict(_walk_fields(cast(ArrayObject, _acro_form(writer)["/Fields"])))
    texts: dict[str, str] = {}
    for key, value in values.items():
        spec = profile.field(key)
        if spec.pdf not in fields:
            raise KeyError(spec.pdf)
        if value is None:
            continue
        if spec.type in ("text", "date"):
            texts[spec.pdf] = _as_text(value)
        else:
            field = fields[spec.pdf]
            _set_button(field, _button_state(spec, value, field))
    if texts:
        writer.update_page_form_field_values(list(writer.pages), texts, auto_regenerate=False)
    return _to_bytes(writer)


def sample_values(kind: str = "valid", profile_id: str = "bsf831-en") -> dict[str, object]:
    """Canonical-key values for a sample application: kind in "valid", "incomplete", "provider".

    "provider" fills Part B: a customs service provider applies for an exporter. Every key of the
    profile is present; fields left blank are None.
    """
    if kind not in SAMPLE_KINDS:
        raise ValueError(f"unknown sample kind {kind!r}; expected one of {SAMPLE_KINDS}")
    profile = get_profile(profile_id)
    values = _valid_sample(profile)
    if kind == "incomplete":
        values |= {
            "exporter.business_number": EXPORTER_BN_BAD_CHECK_DIGIT,
            "exporter.email": None,
            "exporter.legal_name": None,
        }
    elif kind == "provider":
        values |= _provider_sample()
    return {key: values.get(key) for key in profile.keys}


def _valid_sample(profile: Profile) -> dict[str, object]:
    today = date.today().isoformat()
    language = SAMPLE_LANGUAGES.get(profile.id, "en")
    french = language == "fr"
    return {
        "language": language,
        "application_date": today,
        "request_type": "cers",
        "exporter.provides_customs_services": "no",
        "exporter.legal_name": "Érable Exports Ltée",
        "exporter.business_number": EXPORTER_BN,
        "exporter.email": "exports@erable.example",
        "provider.submits_for_exporter": "no",
        "g7edi.used": "no",
        "contact.name": "Marie Tremblay",
        "contact.title": "Directrice des exportations" if french else "Export Manager",
        "contact.phone": "613-555-0142",
        "contact.email": "marie.tremblay@erable.example",
        "certification.name": "Jean Gagnon",
        "certification.title": "Président" if french else "President",
        "certification.date": today,
        "certification.signed": True,
    }


def _provider_sample() -> dict[str, object]:
    return {
        "provider.submits_for_exporter": "yes",
        "provider.legal_name": "Border Brokers Inc.",
        "provider.business_number": PROVIDER_BN,
        "contact.name": "Sam Okafor",
        "contact.title": "Licensed Customs Broker",
        "contact.phone": "416-555-0199",
        "contact.email": "sam.okafor@borderbrokers.example",
    }


def _page_of(spec: FieldSpec) -> int:
    match = re.search(r"(?:^|\.)Page(\d+)\[\d+\]", spec.pdf)
    if match is None:
        raise ValueError(f"{spec.key}: no PageN[0] part in {spec.pdf!r}")
    return int(match.group(1))


def _part_of(spec: FieldSpec) -> str | None:
    match = re.search(r"\.(Part[A-Z])\[\d+\]\.", spec.pdf)
    return match.group(1) if match else None


def _draw_pages(canvas: Canvas, profile: Profile) -> None:
    pages = max(_page_of(spec) for spec in profile.fields)
    for page in range(1, pages + 1):
        sheet = _Sheet(canvas, page, pages)
        _draw_page_frame(sheet)
        on_page = [spec for spec in profile.fields if _page_of(spec) == page]
        for part, specs in groupby(on_page, key=_part_of):
            _draw_part(sheet, part, specs)
        canvas.showPage()


def _draw_part(sheet: _Sheet, part: str | None, specs: Iterable[FieldSpec]) -> None:
    _draw_heading(sheet, PART_HEADINGS.get(part or "", GENERAL_HEADING))
    if part in PART_NOTES:
        _draw_note(sheet, PART_NOTES[part])
    for spec in specs:
        _draw_field(sheet, spec)


def _draw_page_frame(sheet: _Sheet) -> None:
    if sheet.page == 1:
        _draw_title_block(sheet)
    else:
        _draw_running_header(sheet)
    _draw_footer(sheet)


def _draw_title_block(sheet: _Sheet) -> None:
    c = sheet.canvas
    top = PAGE_HEIGHT - MARGIN
    c.setFillColor(INK)
    c.setFont("Helvetica-Bold", 8.5)
    c.drawString(MARGIN, top - 8, AGENCY[0])
    c.setFont("Helvetica", 8.5)
    c.drawString(MARGIN, top - 19, AGENCY[1])
    _draw_protected_box(c, top)
    c.setFont("Helvetica-Bold", 15)
    c.drawCentredString(PAGE_WIDTH / 2, top - 50, TITLE[0])
    c.setFont("Helvetica", 12.5)
    c.drawCentredString(PAGE_WIDTH / 2, top - 66, TITLE[1])
    c.setFont("Helvetica-Bold", 10)
    c.drawCentredString(PAGE_WIDTH / 2, top - 81, FORM_NUMBER)
    c.setStrokeColor(BAND)
    c.setLineWidth(1.5)
    c.line(MARGIN, top - 90, PAGE_WIDTH - MARGIN, top - 90)
    sheet.y = top - 98


def _draw_protected_box(c: Canvas, top: float) -> None:
    width, height = 150.0, 26.0
    x = PAGE_WIDTH - MARGIN - width
    c.setStrokeColor(INK)
    c.setLineWidth(0.8)
    c.rect(x, top - height, width, height)
    c.setFont("Helvetica-Bold", 8)
    c.drawCentredString(x + width / 2, top - 10.5, PROTECTED[0])
    c.drawCentredString(x + width / 2, top - 21, PROTECTED[1])


def _draw_running_header(sheet: _Sheet) -> None:
    c = sheet.canvas
    top = PAGE_HEIGHT - MARGIN
    c.setFillColor(INK)
    c.setFont("Helvetica-Bold", 8.5)
    c.drawString(MARGIN, top - 8, f"{FORM_NUMBER} – {TITLE[0]} / {TITLE[1]}")
    c.setFont("Helvetica-Bold", 8)
    protected = f"{PROTECTED[0].upper()} / {PROTECTED[1].upper()}"
    c.drawRightString(PAGE_WIDTH - MARGIN, top - 20, protected)
    c.setStrokeColor(BAND)
    c.setLineWidth(1.5)
    c.line(MARGIN, top - 27, PAGE_WIDTH - MARGIN, top - 27)
    sheet.y = top - 35


def _draw_footer(sheet: _Sheet) -> None:
    c = sheet.canvas
    c.setStrokeColor(RULE)
    c.setLineWidth(0.5)
    c.line(MARGIN, MARGIN + 12, PAGE_WIDTH - MARGIN, MARGIN + 12)
    c.setFillColor(MUTED)
    c.setFont("Helvetica", 7.5)
    c.drawString(MARGIN, MARGIN + 2, f"{FORM_NUMBER} E/F")
    c.drawCentredString(PAGE_WIDTH / 2, MARGIN + 2, f"{PROTECTED[0]} / {PROTECTED[1]}")
    page_label = f"Page {sheet.page} of {sheet.pages} / Page {sheet.page} de {sheet.pages}"
    c.drawRightString(PAGE_WIDTH - MARGIN, MARGIN + 2, page_label)


def _draw_heading(sheet: _Sheet, heading: tuple[str, str]) -> None:
    c = sheet.canvas
    height = 17.0
    sheet.y -= 8
    c.setFillColor(BAND)
    c.rect(MARGIN, sheet.y - height, CONTENT_WIDTH, height, stroke=0, fill=1)
    c.setFillColor(colors.white)
    c.setFont("Helvetica-Bold", 9.5)
    c.drawString(MARGIN + 6, sheet.y - 12, f"{heading[0]} / {heading[1]}")
    sheet.y -= height


def _draw_note(sheet: _Sheet, note: tuple[str, str]) -> None:
    width = CONTENT_WIDTH - 12
    sheet.y -= ROW_PADDING
    _draw_lines(sheet.canvas, MARGIN + 6, sheet.y, note, width)
    sheet.y -= _lines_height(note, width) + ROW_PADDING / 2
    _draw_rule(sheet)


def _draw_field(sheet: _Sheet, spec: FieldSpec) -> None:
    c = sheet.canvas
    label = _label(spec)
    label_height = _lines_height(label, LABEL_WIDTH)
    widget_height = TEXT_HEIGHT if spec.type in ("text", "date") else BUTTON_SIZE
    top = sheet.y - ROW_PADDING
    c.setFillColor(INK)
    c.setFont("Helvetica-Bold", LABEL_SIZE)
    c.drawString(MARGIN + 4, top - 8, _item_number(spec))
    _draw_lines(c, LABEL_X, top, label, LABEL_WIDTH)
    _draw_widget(c, spec, top - widget_height)
    sheet.y = top - max(label_height, widget_height) - ROW_PADDING
    _draw_rule(sheet)


def _item_number(spec: FieldSpec) -> str:
    """The printed item number; fields numbered only by their part show none."""
    return "" if spec.item.startswith("Part") else spec.item


def _label(spec: FieldSpec) -> tuple[str, str]:
    if spec.type == "date":
        return spec.label_en + DATE_HINT[0], spec.label_fr + DATE_HINT[1]
    return spec.label_en, spec.label_fr


def _draw_rule(sheet: _Sheet) -> None:
    c = sheet.canvas
    c.setStrokeColor(RULE)
    c.setLineWidth(0.5)
    c.line(MARGIN, sheet.y, PAGE_WIDTH - MARGIN, sheet.y)


def _wrap(text: str, font: str, width: float) -> list[str]:
    return simpleSplit(text, font, LABEL_SIZE, width)


def _lines_height(text: tuple[str, str], width: float) -> float:
    english = _wrap(text[0], "Helvetica", width)
    french = _wrap(text[1], "Helvetica-Oblique", width)
    return (len(english) + len(french)) * LEADING


def _draw_lines(c: Canvas, x: float, top: float, text: tuple[str, str], width: float) -> None:
    baseline = top - 8
    for font, colour, part in (("Helvetica", INK, text[0]), ("Helvetica-Oblique", MUTED, text[1])):
        c.setFont(font, LABEL_SIZE)
        c.setFillColor(colour)
        for line in _wrap(part, font, width):
            c.drawString(x, baseline, line)
            baseline -= LEADING


class _WidgetStyle(TypedDict):
    fillColor: colors.Color
    borderColor: colors.Color
    textColor: colors.Color
    borderWidth: int
    borderStyle: str


def _widget_style() -> _WidgetStyle:
    return {
        "fillColor": WIDGET_FILL,
        "borderColor": WIDGET_BORDER,
        "textColor": INK,
        "borderWidth": 1,
        "borderStyle": "solid",
    }


def _draw_widget(c: Canvas, spec: FieldSpec, y: float) -> None:
    tooltip = f"{spec.label_en} / {spec.label_fr}"
    if spec.type in ("text", "date"):
        width = DATE_WIDTH if spec.type == "date" else WIDGET_WIDTH
        c.acroForm.textfield(
            name=spec.pdf,
            tooltip=tooltip,
            **_points(x=WIDGET_X, y=y, width=width, height=TEXT_HEIGHT),
            fieldFlags="",
            maxlen=0,
            fontName="Helvetica",
            fontSize=9,
            **_widget_style(),
        )
    elif spec.type in ("choice", "yesno"):
        _draw_radio_group(c, spec, y, tooltip)
    else:
        c.acroForm.checkbox(
            name=spec.pdf,
            tooltip=tooltip,
            checked=False,
            buttonStyle="check",
            **_points(x=WIDGET_X, y=y, size=BUTTON_SIZE),
            fieldFlags="",
            **_widget_style(),
        )
        _draw_caption(c, CHECKBOX_CAPTION, WIDGET_X, y)


def _points(**geometry: float) -> dict[str, Any]:
    """Widget geometry in PDF points, for reportlab's acroForm methods.

    reportlab takes any number; types-reportlab annotates x, y, width, height and size as int.
    """
    return geometry


def _draw_radio_group(c: Canvas, spec: FieldSpec, y: float, tooltip: str) -> None:
    for index, export in enumerate(spec.choices):
        x = WIDGET_X + index * OPTION_SPACING
        c.acroForm.radio(
            name=spec.pdf,
            tooltip=tooltip,
            value=export,
            selected=False,
            buttonStyle="circle",
            **_points(x=x, y=y, size=BUTTON_SIZE),
            fieldFlags="noToggleToOff radio",
            **_widget_style(),
        )
        _draw_caption(c, OPTION_CAPTIONS.get(export, export), x, y)


def _draw_caption(c: Canvas, caption: str, x: float, y: float) -> None:
    c.setFont("Helvetica", LABEL_SIZE)
    c.setFillColor(INK)
    c.drawString(x + BUTTON_SIZE + 4, y + 2, caption)


def _nest_field_names(pdf: bytes) -> bytes:
    """Turn flat dotted /T names into a tree of field dictionaries, as LiveCycle forms have."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    acro_form = _acro_form(writer)
    roots = ArrayObject()
    nodes: dict[tuple[str, ...], IndirectObject] = {}
    for ref in cast(ArrayObject, acro_form["/Fields"]):
        field = ref.get_object()
        *path, leaf = str(field["/T"]).split(".")
        field[NameObject("/T")] = TextStringObject(leaf)
        if _is_radio_group(field) and "/V" not in field:
            field[NameObject("/V")] = OFF
        _attach(writer, ref, tuple(path), nodes, roots)
    acro_form[NameObject("/Fields")] = roots
    return _to_bytes(writer)


def _attach(
    writer: PdfWriter,
    ref: IndirectObject,
    path: tuple[str, ...],
    nodes: dict[tuple[str, ...], IndirectObject],
    roots: ArrayObject,
) -> None:
    """Hang the field ``ref`` under the node for ``path``, making missing nodes on the way."""
    if not path:
        roots.append(ref)
        return
    parent = nodes.get(path)
    if parent is None:
        node = DictionaryObject({NameObject("/T"): TextStringObject(path[-1]), NameObject("/Kids"): ArrayObject()})
        parent = nodes[path] = writer._add_object(node)
        _attach(writer, parent, path[:-1], nodes, roots)
    cast(DictionaryObject, ref.get_object())[NameObject("/Parent")] = parent
    cast(ArrayObject, cast(DictionaryObject, parent.get_object())["/Kids"]).append(ref)


def _is_radio_group(field: DictionaryObject) -> bool:
    return field.get("/FT") == "/Btn" and bool(int(field.get("/Ff", 0)) & (1 << 15))


def _acro_form(writer: PdfWriter) -> DictionaryObject:
    return cast(DictionaryObject, writer.root_object["/AcroForm"].get_object())


def _walk_fields(refs: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, DictionaryObject]]:
    """Each named field of the tree with its fully qualified name."""
    for ref in refs:
        field = ref.get_object()
        if "/T" not in field:
            continue
        name = f"{prefix}.{field['/T']}" if prefix else str(field["/T"])
        yield name, field
        yield from _walk_fields(field.get("/Kids", ()), name)


def _widgets(field: DictionaryObject) -> list[DictionaryObject]:
    if "/Kids" in field:
        return [kid.get_object() for kid in cast(ArrayObject, field["/Kids"])]
    return [field]


def _normal_appearances(widget: DictionaryObject) -> DictionaryObject:
    """The widget's /AP /N dictionary: its appearance states by name."""
    return cast(DictionaryObject, cast(DictionaryObject, widget["/AP"])["/N"])


def _on_state(field: DictionaryObject) -> NameObject:
    for widget in _widgets(field):
        for state in _normal_appearances(widget):
            if state != OFF:
                return NameObject(state)
    raise ValueError(f"field {field.get('/T')!r} has no on state")


def _button_state(spec: FieldSpec, value: object, field: DictionaryObject) -> NameObject:
    if spec.type == "checkbox":
        if not isinstance(value, bool):
            raise TypeError(f"{spec.key}: expected True or False, got {value!r}")
        return _on_state(field) if value else OFF
    return NameObject("/" + _export_value(spec, value))


def _export_value(spec: FieldSpec, value: object) -> str:
    if isinstance(value, bool) and spec.type == "yesno":
        value = "yes" if value else "no"
    canonical = str(value).strip().lower()
    exports = {canon: export for export, canon in spec.choices.items()}
    if canonical not in exports:
        raise ValueError(f"{spec.key}: {value!r} is not one of {sorted(exports)}")
    return exports[canonical]


def _set_button(field: DictionaryObject, state: NameObject) -> None:
    field[NameObject("/V")] = state
    for widget in _widgets(field):
        widget[NameObject("/AS")] = state if state in _normal_appearances(widget) else OFF


def _as_text(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _to_bytes(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
