"""BSF831 PDFs made the way applicants make them, from the reference template (demo/forms.py).

``FIXTURES`` names each kind; ``fixture(kind)`` gives its bytes (cached). Values are
``sample_values("valid")`` unless the kind says otherwise; ``expected(kind)`` gives them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from xml.sax.saxutils import escape

import pikepdf
from PIL import Image, ImageDraw
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DecodedStreamObject,
    NameObject,
    TextStringObject,
)
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from demo.forms import draw_template, fill_form, sample_values
from parsers.profiles import get_profile

ACCENTED_NAME = "  Société d'Export Érable  &  Fils\tLtée  "
ACCENTED_EXPECTED = "Société d'Export Érable & Fils Ltée"
XFA_LEGAL_NAME = "Old Name From XFA Ltd."


def values_for(kind: str) -> tuple[str, dict[str, object]]:
    """(profile id, canonical values) that the fixture kind was filled with."""
    if kind.startswith("french"):
        return "bsf831-fr", sample_values("valid", "bsf831-fr")
    if kind == "accents":
        return "bsf831-en", {**sample_values("valid"), "exporter.legal_name": ACCENTED_NAME}
    if kind == "provider_flattened":
        return "bsf831-en", sample_values("provider")
    return "bsf831-en", sample_values("valid")


def expected(kind: str) -> dict[str, str | None]:
    """The canonical values a parser should read from the fixture."""
    profile_id, values = values_for(kind)
    out: dict[str, str | None] = {}
    for spec in get_profile(profile_id).fields:
        value = values.get(spec.key)
        if spec.type == "checkbox":
            out[spec.key] = "yes" if value else "no"
        elif value is None:
            out[spec.key] = None
        else:
            out[spec.key] = " ".join(str(value).split())
    if kind == "accents":
        out["exporter.legal_name"] = ACCENTED_EXPECTED
    return out


def _acroform(kind: str) -> bytes:
    profile_id, values = values_for(kind)
    return fill_form(values, profile_id)


def _no_appearances() -> bytes:
    """Values in /V only, with NeedAppearances, the way some viewers and scripts save; the check box by /AS alone."""
    writer = PdfWriter(clone_from=io.BytesIO(fill_form(sample_values("valid"))))
    acro_form = writer.root_object["/AcroForm"].get_object()
    acro_form[NameObject("/NeedAppearances")] = BooleanObject(True)
    for page in writer.pages:
        for ref in page.get("/Annots", []):
            widget = ref.get_object()
            parent = widget.get("/Parent")
            if widget.get("/FT") == "/Tx":
                widget.pop("/AP", None)
            if widget.get("/FT") == "/Btn" and str(widget.get("/T")) == "Certify":
                widget.pop("/V", None)  # the state is only in /AS
            if parent is not None:
                parent.get_object().pop("/AP", None)
    return _write(writer)


def xfa_datasets(values: dict[str, object], profile_id: str = "bsf831-en") -> bytes:
    """An XFA datasets packet holding the values at the profile's data paths."""
    profile = get_profile(profile_id)
    tree: dict = {}
    for spec in profile.fields:
        assert spec.xfa
        node = tree
        *parents, leaf = spec.xfa.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        value = values.get(spec.key)
        exports = {canonical: export for export, canonical in spec.choices.items()}
        if spec.type == "checkbox":
            text = "1" if value else "0"
        elif value is None:
            text = ""
        else:
            text = exports.get(str(value), str(value))
        node[leaf] = text

    def render(node: dict) -> str:
        return "".join(f"<{k}>{render(v) if isinstance(v, dict) else escape(v)}</{k}>" for k, v in node.items())

    return (
        '<xfa:datasets xmlns:xfa="http://www.xfa.org/schema/xfa-data/1.0/"><xfa:data>' + render(tree) + "</xfa:data></xfa:datasets>"
    ).encode()


def with_xfa(pdf: bytes, datasets: bytes, *, drop_fields: bool = False) -> bytes:
    """The PDF with an XFA array (template and datasets packets); without AcroForm fields for dynamic XFA."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    acro_form = writer.root_object["/AcroForm"].get_object()
    packets = ArrayObject()
    for name, body in (("template", b'<template xmlns="http://www.xfa.org/schema/xfa-template/3.3/"/>'), ("datasets", datasets)):
        stream = DecodedStreamObject()
        stream.set_data(body)
        packets += [TextStringObject(name), writer._add_object(stream)]
    acro_form[NameObject("/XFA")] = packets
    if drop_fields:
        acro_form[NameObject("/Fields")] = ArrayObject()
        for page in writer.pages:
            page.pop("/Annots", None)
    return _write(writer)


def _xfa_only() -> bytes:
    return with_xfa(draw_template(), xfa_datasets(sample_values("valid")), drop_fields=True)


def _static_xfa(disagree: bool) -> bytes:
    values = sample_values("valid")
    xfa_values = {**values, "exporter.legal_name": XFA_LEGAL_NAME} if disagree else values
    return with_xfa(fill_form(values), xfa_datasets(xfa_values))


def flatten(pdf: bytes) -> bytes:
    """The filled form flattened (appearances merged into the pages, fields gone), as a viewer's print to PDF does."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        document.generate_appearance_streams()
        document.flatten_annotations("all")
        if "/AcroForm" in document.Root:
            del document.Root.AcroForm
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()


def _image_only() -> bytes:
    """A scan: each page is one picture of a filled form, with no text layer."""
    values = sample_values("valid")
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER)
    for page in range(2):
        image = Image.new("L", (850, 1100), 255)
        draw = ImageDraw.Draw(image)
        draw.text((60, 50), "Canada Border Services Agency - BSF831", fill=0)
        for row, (key, value) in enumerate(list(values.items())[page * 10 : page * 10 + 10]):
            draw.text((60, 120 + row * 60), key, fill=0)
            draw.rectangle((400, 110 + row * 60, 800, 140 + row * 60), outline=0)
            draw.text((410, 120 + row * 60), str(value), fill=0)
        canvas.drawImage(ImageReader(image), 0, 0, width=LETTER[0], height=LETTER[1])
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def encrypt(pdf: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    return _write(writer)


def _text_pdf(lines: list[str], fields: list[str] = ()) -> bytes:  # type: ignore[assignment]
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER)
    for index, line in enumerate(lines):
        canvas.drawString(72, 720 - index * 16, line)
    for index, name in enumerate(fields):
        canvas.acroForm.textfield(name=name, x=300, y=600 - index * 30, width=200, height=18)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _invoice() -> bytes:
    return _text_pdf(["INVOICE 2024-118", "Érable Exports Ltée", "Maple syrup, 40 barrels ........ 12 400,00 $", "Total due: 12 400,00 $"])


def _bsf947() -> bytes:
    return _text_pdf(
        ["Canada Border Services Agency", "BSF947 - Request for something else", "Name", "Address"],
        ["form1[0].Name[0]", "form1[0].Address[0]"],
    )


def _write(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


BUILDERS: dict[str, Callable[[], bytes]] = {
    "acroform": lambda: _acroform("acroform"),
    "no_appearances": _no_appearances,
    "xfa_only": _xfa_only,
    "static_xfa": lambda: _static_xfa(disagree=False),
    "xfa_disagrees": lambda: _static_xfa(disagree=True),
    "flattened": lambda: flatten(fill_form(sample_values("valid"))),
    "provider_flattened": lambda: flatten(fill_form(sample_values("provider"))),
    "french_flattened": lambda: flatten(_acroform("french")),
    "image_only": _image_only,
    "encrypted_empty_password": lambda: encrypt(fill_form(sample_values("valid")), ""),
    "encrypted_user_password": lambda: encrypt(fill_form(sample_values("valid")), "applicant-secret"),
    "french": lambda: _acroform("french"),
    "accents": lambda: _acroform("accents"),
    "blank": draw_template,
    "invoice": _invoice,
    "bsf947": _bsf947,
}
FIXTURES = tuple(BUILDERS)
# The kinds read into sample values, and how.
READ_KINDS = {
    "acroform": "acroform",
    "no_appearances": "acroform",
    "xfa_only": "xfa",
    "static_xfa": "acroform",
    "flattened": "text_layer",
    "provider_flattened": "text_layer",
    "french_flattened": "text_layer",
    "encrypted_empty_password": "acroform",
    "french": "acroform",
    "accents": "acroform",
}


@cache
def fixture(kind: str) -> bytes:
    return BUILDERS[kind]()
