"""Reading a flattened BSF831 (printed to PDF, or flattened by a viewer) from what its pages draw.

Each field is found by its label (the profile's English or French label, the anchor), and its
value is what is drawn where the widget was, in the first of these places that holds something:
inside the bordered cell that holds the label and no other (a grid form: label at the top of the
cell, value below it), to the right of the label column down to the next label (a label-left
form), or below the label, down to the next label and left of the next label on its line (a
label-above form). What is drawn is text on the page, or a flattened widget (a form XObject)
carrying text. A flattened radio group draws one appearance per option; the selected one draws more
than the others. Values read this way are lower confidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from pypdf import PageObject, PdfReader
from pypdf.generic import (
    ArrayObject,
    ContentStream,
    DictionaryObject,
    FloatObject,
    NameObject,
    StreamObject,
)

from parsers.errors import LimitExceeded
from parsers.pdf import guarded
from parsers.profiles import FieldSpec, Profile

MAX_OPERATIONS = 200_000
MAX_CONTENT_BYTES = 4_000_000  # a form page draws tens of kilobytes; a scan's page draws a few bytes
MAX_XOBJECT_DEPTH = 4
MAX_BOXES = 2_000
MIN_ANCHOR = 8  # a wrapped label's first line must be at least this long to anchor a field
ROW_ABOVE = 10.0  # a row starts this far above its label's baseline
ROW_MAX = 60.0  # and is never taller than this
VALUE_INDENT = 50.0  # values sit at least this far right of the label's start
BUTTON_MAX = 24.0
CAPTION_REACH = 40.0
SAME_LINE = 3.0  # labels whose baselines are this close are on one line
BELOW_SLACK = 6.0  # a value below its label starts at most this far left of it
CELL_MAX_HEIGHT = 120.0  # a taller rectangle is a frame or a section, not a field's cell
WORD = re.compile(r"[^0-9a-z]+")
PAINT = re.compile(rb"(?<![^\s])(?:f\*?|F|B\*?|b\*?|S|s)(?![^\s])")
BOX_PAINTS = 2  # an empty check box paints its background and its border


@dataclass(frozen=True)
class Run:
    page: int
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Box:
    """A form XObject drawn on the page (a flattened widget): where, how big, what it draws."""

    page: int
    x: float
    y: float
    width: float
    height: float
    text: str
    ink: int  # the size of its content: a selected button draws more than an unselected one
    glyphs: bool  # it shows text (a check mark drawn as a glyph)
    paints: int  # how many shapes it fills or strokes (a check mark drawn as a path is one more)


@dataclass(frozen=True)
class Rect:
    """A rectangle the page strokes or fills (`re`): a cell border on a grid form."""

    page: int
    x: float
    y: float
    width: float
    height: float

    def contains(self, page: int, x: float, y: float) -> bool:
        return page == self.page and self.x <= x <= self.x + self.width and self.y <= y <= self.y + self.height


@dataclass(frozen=True)
class Row:
    spec: FieldSpec
    anchor: Run
    bottom: float
    right: float = float("inf")  # the next label on the same line starts here
    label: str = ""  # the label that anchored the field (English or French)

    def holds(self, page: int, y: float) -> bool:
        return page == self.anchor.page and self.bottom < y <= self.anchor.y + ROW_ABOVE


@dataclass(frozen=True)
class TextLayer:
    runs: tuple[Run, ...]
    boxes: tuple[Box, ...]
    rects: tuple[Rect, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(run.text for run in self.runs)


def read_layer(reader: PdfReader) -> TextLayer:
    """Every page's text runs and flattened widgets, with positions in page space."""
    runs: list[Run] = []
    boxes: list[Box] = []
    rects: list[Rect] = []
    for number, page in enumerate(reader.pages, start=1):
        size = guarded("page contents", partial(_content_size, page))
        if size > MAX_CONTENT_BYTES:
            raise LimitExceeded(f"page {number} draws {size} bytes of content; at most {MAX_CONTENT_BYTES} are read")
        runs.extend(guarded("text", partial(_runs, page, number)))
        boxes.extend(guarded("drawings", partial(_boxes, reader, page, number, rects)))
    return TextLayer(tuple(runs), tuple(boxes[:MAX_BOXES]), tuple(rects[:MAX_BOXES]))


def _content_size(page: PageObject) -> int:
    contents = page.get_contents()
    return len(contents.get_data()) if contents is not None else 0


def best_profile(layer: TextLayer, profiles: tuple[Profile, ...]) -> tuple[Profile, dict[str, Run]] | None:
    """The profile whose labels the pages show best, with each field's anchor; None below 60 %."""
    scored = []
    for profile in profiles:
        anchors = find_anchors(layer.runs, profile)
        scored.append((len(anchors) / len(profile.fields), len(anchors), profile, anchors))
    ratio, _, profile, anchors = max(scored, key=lambda s: (s[0], s[1]))
    return (profile, anchors) if ratio >= 0.6 else None


def find_anchors(runs: tuple[Run, ...], profile: Profile) -> dict[str, Run]:
    """Field key → the run that starts its label; the longest label a run starts with wins."""
    labels = [(spec.key, _words(label)) for spec in profile.fields for label in (spec.label_en, spec.label_fr) if label]
    anchors: dict[str, Run] = {}
    for run in runs:
        text = _words(run.text)
        if len(text) < MIN_ANCHOR:
            continue
        best: tuple[int, int, str] | None = None
        for key, label in labels:
            if text == label:
                rank = (2, len(label))
            elif text.startswith(label + " "):
                rank = (1, len(label))
            elif label.startswith(text + " "):
                rank = (0, len(text))
            else:
                continue
            if best is None or rank > best[:2]:
                best = (*rank, key)
        if best is not None and best[2] not in anchors:
            anchors[best[2]] = run
    return anchors


def read_values(layer: TextLayer, profile: Profile, anchors: dict[str, Run]) -> tuple[dict[str, str | None], dict[str, str]]:
    """Raw values (choices as export values, checkboxes as yes/no) and where each was read."""
    values: dict[str, str | None] = {}
    provenance: dict[str, str] = {}
    labels = _label_runs(layer.runs, profile)
    for row in _rows(profile, anchors):
        where = "right of"
        if row.spec.type in ("choice", "yesno", "checkbox"):
            value = _button_value(layer, row)
            if value is None and row.spec.type != "checkbox":  # a choice printed as text (a form drawn, not flattened)
                value, where = _text_value(layer, row, anchors, labels)
        else:
            value, where = _text_value(layer, row, anchors, labels)
        values[row.spec.key] = value
        provenance[row.spec.key] = f"text_layer:page {row.anchor.page}, {where} {(row.label or row.spec.label_en)!r}"
    return values, provenance


def _label_runs(runs: tuple[Run, ...], profile: Profile) -> set[Run]:
    """Runs that print a label (either language, or a wrapped label's later line): never a value."""
    labels = [_words(label) for spec in profile.fields for label in (spec.label_en, spec.label_fr) if label]
    found = set()
    for run in runs:
        text = _words(run.text)
        if len(text) >= MIN_ANCHOR and any(
            text == label or text.startswith(label + " ") or f" {text} " in f" {label} " for label in labels
        ):
            found.add(run)
    return found


def _rows(profile: Profile, anchors: dict[str, Run]) -> Iterator[Row]:
    ordered = sorted(((run.page, -run.y, run.x, key) for key, run in anchors.items()))
    for page, neg_y, x, key in ordered:
        y = -neg_y
        bottom = y - ROW_MAX
        below = [-o[1] for o in ordered if o[0] == page and -o[1] < y - SAME_LINE]  # the next line of labels
        if below:
            bottom = max(bottom, max(below) + ROW_ABOVE)
        beside = [o[2] for o in ordered if o[0] == page and abs(-o[1] - y) <= SAME_LINE and o[2] > x]
        spec = profile.field(key)
        run = anchors[key]
        label = next((lbl for lbl in (spec.label_en, spec.label_fr) if _words(run.text).startswith(_words(lbl)[:MIN_ANCHOR])), "")
        yield Row(spec, run, bottom, min(beside, default=float("inf")), label or spec.label_en)


def _text_value(layer: TextLayer, row: Row, anchors: dict[str, Run], labels: set[Run]) -> tuple[str | None, str]:
    """The value and where it was found: in the label's own cell, right of the label, or below it."""
    anchor = row.anchor
    cell = _cell(layer, row, anchors)
    if cell is not None:
        inside = [(-b.y, b.x, b.text) for b in layer.boxes if b.text and cell.contains(b.page, b.x + 1, b.y + b.height / 2)]
        inside += [(-r.y, r.x, r.text) for r in layer.runs if r not in labels and r != anchor and cell.contains(r.page, r.x + 1, r.y + 1)]
        text = " ".join(t for _, _, t in sorted(inside)).strip()
        if text:
            return text, "in the cell of"
    left = anchor.x + VALUE_INDENT
    parts = [(b.x, b.text) for b in layer.boxes if b.text and left < b.x < row.right and row.holds(b.page, b.y + b.height / 2)]
    parts += [(r.x, r.text) for r in layer.runs if r not in labels and left < r.x < row.right and row.holds(r.page, r.y)]
    text = " ".join(t for _, t in sorted(parts)).strip()
    if text:
        return text, "right of"
    low = anchor.y - SAME_LINE
    under = [(-b.y, b.x, b.text) for b in layer.boxes if b.text and _below(row, b.page, b.x, b.y + b.height / 2, low)]
    under += [(-r.y, r.x, r.text) for r in layer.runs if r not in labels and r != anchor and _below(row, r.page, r.x, r.y, low)]
    text = " ".join(t for _, _, t in sorted(under)).strip()
    return (text, "below") if text else (None, "right of")


def _below(row: Row, page: int, x: float, y: float, low: float) -> bool:
    return row.holds(page, y) and y < low and row.anchor.x - BELOW_SLACK <= x < row.right


def _cell(layer: TextLayer, row: Row, anchors: dict[str, Run]) -> Rect | None:
    """The smallest rectangle around the label that holds no other label: the cell the widget was in."""
    anchor = row.anchor
    around = [
        rect
        for rect in layer.rects
        if rect.height <= CELL_MAX_HEIGHT and rect.width >= MIN_ANCHOR and rect.contains(anchor.page, anchor.x + 1, anchor.y + 1)
    ]
    for rect in sorted(around, key=lambda r: r.width * r.height):
        others = [run for run in anchors.values() if run != anchor and rect.contains(run.page, run.x + 1, run.y + 1)]
        return None if others else rect
    return None


def _button_value(layer: TextLayer, row: Row) -> str | None:
    left = row.anchor.x + VALUE_INDENT
    buttons = sorted(
        (
            b
            for b in layer.boxes
            if b.x > left and b.width <= BUTTON_MAX and b.height <= BUTTON_MAX and row.holds(b.page, b.y + b.height / 2)
        ),
        key=lambda b: b.x,
    )
    if row.spec.type == "checkbox":
        return ("yes" if any(b.glyphs or b.paints > BOX_PAINTS for b in buttons) else "no") if buttons else None
    if len(buttons) < 2:
        return None
    inks = sorted(b.ink for b in buttons)
    if inks[-1] == inks[-2]:
        return None  # nothing stands out: no option selected
    chosen = max(buttons, key=lambda b: b.ink)
    return _option(layer, row.spec, chosen) or _nth_choice(row.spec, buttons.index(chosen))


def _option(layer: TextLayer, spec: FieldSpec, button: Box) -> str | None:
    """The option whose caption is printed right of the selected button."""
    for run in layer.runs:
        if run.page == button.page and button.x < run.x <= button.x + CAPTION_REACH and abs(run.y - button.y) < button.height:
            caption = WORD.sub("", run.text.lower())
            for export, canonical in spec.choices.items():
                if caption.startswith(WORD.sub("", export.lower())) or caption.startswith(WORD.sub("", canonical.lower())):
                    return export
    return None


def _nth_choice(spec: FieldSpec, index: int) -> str | None:
    options = list(spec.choices)
    return options[index] if index < len(options) else None


def _words(text: str) -> str:
    return " ".join(text.split()).lower()


def _runs(page: PageObject, number: int) -> list[Run]:
    runs: list[Run] = []

    def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            runs.append(Run(number, float(x), float(y), " ".join(text.split())))

    page.extract_text(visitor_text=visit)
    return runs


Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _matrix(values: Iterable[Any]) -> Matrix:
    """Six PDF numbers as a Matrix (the caller has checked that there are six)."""
    a, b, c, d, e, f = (float(v) for v in values)
    return (a, b, c, d, e, f)


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _boxes(reader: PdfReader, page: PageObject, number: int, rects: list[Rect] | None = None) -> list[Box]:
    contents = page.get_contents()
    if contents is None:
        return []
    resources = page.get("/Resources")
    found: list[Box] = []
    _walk_content(reader, contents.operations, resources.get_object() if resources else None, IDENTITY, number, found, 0, rects)
    return found


def _walk_content(
    reader: PdfReader,
    operations: list,
    resources: Any,
    ctm: Matrix,
    number: int,
    found: list[Box],
    depth: int,
    rects: list[Rect] | None = None,
) -> None:
    stack: list[Matrix] = []
    xobjects = resources.get("/XObject") if isinstance(resources, DictionaryObject) else None
    xobjects = xobjects.get_object() if xobjects is not None else None
    for operands, operator in operations[:MAX_OPERATIONS]:
        if operator == b"q":
            stack.append(ctm)
        elif operator == b"Q":
            ctm = stack.pop() if stack else IDENTITY
        elif operator == b"cm" and len(operands) == 6:
            ctm = _multiply(_matrix(operands), ctm)
        elif operator == b"re" and len(operands) == 4 and rects is not None and depth == 0 and len(rects) < MAX_BOXES:
            rects.append(_rect([float(v) for v in operands], ctm, number))
        elif operator == b"Do" and operands and isinstance(xobjects, DictionaryObject) and len(found) < MAX_BOXES:
            xobject = xobjects.get(operands[0])
            xobject = xobject.get_object() if xobject is not None else None
            if isinstance(xobject, StreamObject) and xobject.get("/Subtype") == "/Form":
                _place_form(reader, xobject, ctm, number, found, depth)


def _rect(box: list[float], ctm: Matrix, number: int) -> Rect:
    """A rectangle (x, y, width, height in user space) placed on the page by the current matrix."""
    x, y, width, height = box
    x0, y0 = x * ctm[0] + y * ctm[2] + ctm[4], x * ctm[1] + y * ctm[3] + ctm[5]
    x1, y1 = (x + width) * ctm[0] + (y + height) * ctm[2] + ctm[4], (x + width) * ctm[1] + (y + height) * ctm[3] + ctm[5]
    return Rect(number, min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))


def _place_form(reader: PdfReader, xobject: StreamObject, ctm: Matrix, number: int, found: list[Box], depth: int) -> None:
    matrix = xobject.get("/Matrix")
    placed = _multiply(_matrix(matrix) if matrix and len(matrix) == 6 else IDENTITY, ctm)
    bbox = [float(v) for v in xobject.get("/BBox", [0, 0, 0, 0])][:4]
    if len(bbox) < 4:
        return
    x0, y0 = bbox[0] * placed[0] + bbox[1] * placed[2] + placed[4], bbox[0] * placed[1] + bbox[1] * placed[3] + placed[5]
    width, height = abs((bbox[2] - bbox[0]) * placed[0]), abs((bbox[3] - bbox[1]) * placed[3])
    data = xobject.get_data()
    glyphs = any(op in data for op in (b"Tj", b"TJ", b"'"))
    text = _xobject_text(reader, xobject) if glyphs else ""
    found.append(Box(number, x0, y0, width, height, text, len(data), glyphs, len(PAINT.findall(data))))
    if depth + 1 < MAX_XOBJECT_DEPTH and b"Do" in data:
        _walk_content(reader, ContentStream(xobject, reader).operations, xobject.get("/Resources"), placed, number, found, depth + 1)


def _xobject_text(reader: PdfReader, xobject: StreamObject) -> str:
    """The text a form XObject draws, read by pypdf as if it were a page of its own."""
    page = PageObject(pdf=reader)
    resources = xobject.get("/Resources")
    page[NameObject("/Resources")] = resources.get_object() if resources is not None else DictionaryObject()
    page[NameObject("/Contents")] = xobject.indirect_reference or xobject
    page[NameObject("/MediaBox")] = ArrayObject([FloatObject(0), FloatObject(0), FloatObject(1000), FloatObject(1000)])
    return " ".join(page.extract_text().split())
