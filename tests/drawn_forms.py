"""BSF831s drawn as plain text with reportlab, laid out three ways, as other tools print a flattened form.

Nothing here fills a widget: the labels and the values are text (and rectangles) on the page, the
way a form looks after another program flattened or re-typeset it. Layouts: `left` (value right of
its label), `above` (label above its value, two columns) and `cell` (a grid of bordered cells, the
label small at the top of each cell and the value below it inside the cell).
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import LETTER
from reportlab.pdfgen.canvas import Canvas

from demo.forms import sample_values
from parsers.profiles import FieldSpec, get_profile

LAYOUTS = ("left", "above", "cell")
TOP = LETTER[1] - 50


def drawn_values(profile_id: str) -> dict[str, str]:
    """The text values a drawn form shows, by key (choices and check boxes are left out: no widget is drawn)."""
    values = sample_values("valid", profile_id) if profile_id != "bsf831-en" else sample_values("valid")
    shown = {}
    for spec in get_profile(profile_id).fields:
        value = values.get(spec.key)
        if spec.type in ("text", "date") and value:
            shown[spec.key] = " ".join(str(value).split())
    return shown


def draw_form(layout: str, profile_id: str = "bsf831-en", language: str = "en") -> bytes:
    """A BSF831 drawn as text in one layout, its labels in `language` (en or fr)."""
    profile = get_profile(profile_id)
    values = drawn_values(profile_id)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER)
    canvas.setTitle("BSF831")
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(40, TOP + 20, "BSF831 - Exporter reporting application / Demande de déclaration des exportateurs")
    specs = list(profile.fields)
    for index, spec in enumerate(specs):
        label = spec.label_fr if language == "fr" else spec.label_en
        value = values.get(spec.key, "")
        {"left": _left, "above": _above, "cell": _cell}[layout](canvas, index, label, value, spec)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _left(canvas: Canvas, index: int, label: str, value: str, spec: FieldSpec) -> None:
    y = TOP - index * 28
    canvas.setFont("Helvetica", 7)
    for line, text in enumerate(_wrap(label, 75)):
        canvas.drawString(40, y - line * 8, text)
    canvas.setFont("Courier", 10)
    canvas.drawString(360, y, value)


def _above(canvas: Canvas, index: int, label: str, value: str, spec: FieldSpec) -> None:
    column, row = divmod(index, 12)
    x, y = 40 + column * 280, TOP - row * 54
    canvas.setFont("Helvetica-Bold", 6.5)
    lines = _wrap(label, 62)
    for line, text in enumerate(lines):
        canvas.drawString(x, y - line * 8, text)
    canvas.setFont("Times-Roman", 10)
    canvas.drawString(x + 2, y - 8 * len(lines) - 8, value)


def _cell(canvas: Canvas, index: int, label: str, value: str, spec: FieldSpec) -> None:
    column, row = index % 2, index // 2
    x, y, width, height = 40 + column * 270, TOP - 30 - row * 50, 266, 46
    canvas.setLineWidth(0.6)
    canvas.rect(x, y, width, height)
    canvas.setFont("Helvetica", 6)
    for line, text in enumerate(_wrap(label, 80)):
        canvas.drawString(x + 3, y + height - 8 - line * 7, text)
    canvas.setFont("Helvetica", 10)
    canvas.drawString(x + 6, y + 10, value)


def _wrap(text: str, width: int) -> list[str]:
    """The label in lines of at most `width` characters, broken between words (as a form prints it)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines
