"""Generated hostile PDFs: broken xref tables, huge page counts, deep nesting, compression bombs,
cycles, XML bombs, JavaScript and embedded files. ``hostile_pdfs()`` yields (name, bytes, family)."""

from __future__ import annotations

import io
import random
import zlib
from collections.abc import Iterator
from functools import cache

from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from demo.forms import fill_form, sample_values

FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
# Families whose PDFs are otherwise a valid filled BSF831, which must still be read.
STILL_A_FORM = ("javascript", "embedded_files")


def build(objects: dict[int, bytes], root: int = 1, trailer_extra: bytes = b"") -> bytes:
    """A PDF with these numbered objects and a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root %d 0 R %s >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, trailer_extra, xref)
    return bytes(out)


def stream(data: bytes, compress: bool = False, extra: bytes = b"") -> bytes:
    body = zlib.compress(data, 9) if compress else data
    flate = b" /Filter /FlateDecode" if compress else b""
    return b"<< /Length %d%s %s >>\nstream\n" % (len(body), flate, extra) + body + b"\nendstream"


def simple(content: bytes = b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET", **extra: bytes) -> dict[int, bytes]:
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        4: stream(content),
        5: FONT,
    }
    return objects


@cache
def _zeros(megabytes: int) -> bytes:
    return zlib.compress(b"\0" * (megabytes << 20), 9)


def _bomb_stream(megabytes: int, extra: bytes = b"") -> bytes:
    body = _zeros(megabytes)
    return b"<< /Length %d /Filter /FlateDecode %s >>\nstream\n" % (len(body), extra) + body + b"\nendstream"


@cache
def _valid_form() -> bytes:
    return fill_form(sample_values("valid"))


def broken_xref() -> Iterator[tuple[str, bytes]]:
    form = _valid_form()
    xref_at = form.rfind(b"startxref")
    for shift in range(-40, 41, 4):
        start = form.rfind(b"\nxref") if b"\nxref" in form else xref_at
        yield f"startxref_off_by_{shift}", form[: xref_at + 10] + str(max(0, start + shift)).encode() + b"\n%%EOF\n"
    for cut in range(1, 32):
        yield f"truncated_{cut}_of_32", form[: len(form) * cut // 32]
    yield "no_xref_no_trailer", form[:xref_at]
    yield "xref_garbage", form[:xref_at] + b"startxref\n999999999\n%%EOF"
    yield "trailer_without_root", build(simple()).replace(b"/Root 1 0 R", b"")
    yield "root_not_a_dict", build({**simple(), 1: b"42"})
    yield "pages_missing", build({**simple(), 1: b"<< /Type /Catalog /Pages 99 0 R >>"})
    yield "negative_offsets", build(simple()).replace(b"0000000009 00000 n", b"-000000009 00000 n")
    yield "empty_file", b""
    yield "only_header", b"%PDF-1.7\n"


def huge_pages() -> Iterator[tuple[str, bytes]]:
    for count in (10**3, 10**6, 10**9, 2**31, 2**63):
        objects = simple()
        objects[2] = b"<< /Type /Pages /Kids [3 0 R] /Count %d >>" % count
        yield f"count_lies_{count}", build(objects)
    for kids in (51, 500, 5000, 20000):
        objects = simple()
        objects[2] = b"<< /Type /Pages /Kids [" + b"3 0 R " * kids + b"] /Count %d >>" % kids
        yield f"kids_repeat_{kids}", build(objects)
    objects = simple()
    objects[2] = b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>"
    yield "pages_tree_cycle", build(objects)


def deep_nesting() -> Iterator[tuple[str, bytes]]:
    for depth in (100, 1000, 10000, 100000):
        yield f"nested_arrays_{depth}", build({**simple(), 6: b"[" * depth + b"]" * depth}, trailer_extra=b"/Info 6 0 R")
        yield f"nested_dicts_{depth}", build({**simple(), 6: b"<< /A " * depth + b"1" + b" >>" * depth}, trailer_extra=b"/Info 6 0 R")
        yield f"unclosed_arrays_{depth}", build({**simple(), 6: b"[" * depth}, trailer_extra=b"/Info 6 0 R")
    for depth in (40, 400, 4000):
        objects = simple()
        objects[1] = b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [10 0 R] >> >>"
        for level in range(depth):
            number = 10 + level
            kid = b"/Kids [%d 0 R]" % (number + 1) if level < depth - 1 else b"/V (deep)"
            objects[number] = b"<< /T (f%d) %s >>" % (level, kid)
        yield f"field_tree_depth_{depth}", build(objects)
    for depth in (40, 400, 4000):
        objects = simple()
        objects[1] = b"<< /Type /Catalog /Pages 10 0 R >>"
        for level in range(depth):
            number = 10 + level
            kid = b"%d 0 R" % (number + 1) if level < depth - 1 else b"3 0 R"
            objects[number] = b"<< /Type /Pages /Kids [%s] /Count 1 >>" % kid
        objects[3] = objects[3].replace(b"/Parent 2 0 R", b"/Parent %d 0 R" % (9 + depth))
        yield f"page_tree_depth_{depth}", build(objects)
    objects = simple()
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [10 0 R] >> >>"
    objects[10] = b"<< /T (a) /Kids [11 0 R] >>"
    objects[11] = b"<< /T (b) /Kids [10 0 R] /Parent 10 0 R >>"
    yield "field_kids_cycle", build(objects)
    objects = simple()
    objects[6] = (
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] /Length 9 /Resources << /XObject << /X 6 0 R >> >> >>"
        b"\nstream\nq /X Do Q\nendstream"
    )
    objects[3] = objects[3].replace(b"/Font << /F1 5 0 R >>", b"/Font << /F1 5 0 R >> /XObject << /X 6 0 R >>")
    objects[4] = stream(b"q 1 0 0 1 5 5 cm /X Do Q BT /F1 12 Tf 72 720 Td (Hello) Tj ET")
    yield "xobject_draws_itself", build(objects)


def compression_bombs() -> Iterator[tuple[str, bytes]]:
    for megabytes in (16, 48, 128):
        objects = simple()
        objects[4] = _bomb_stream(megabytes)
        yield f"content_bomb_{megabytes}mb", build(objects)
        objects = simple()
        objects[1] = b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] /XFA [(datasets) 6 0 R] >> >>"
        objects[6] = _bomb_stream(megabytes)
        yield f"xfa_bomb_{megabytes}mb", build(objects)
        objects = simple()
        objects[6] = _bomb_stream(megabytes, b"/Type /Metadata /Subtype /XML")
        objects[1] = b"<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R >>"
        yield f"metadata_bomb_{megabytes}mb", build(objects)
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&%s;" % bytes([97 + i])) * 10) for i in range(9))
        + b']><xfa:datasets xmlns:xfa="http://www.xfa.org/schema/xfa-data/1.0/"><xfa:data><BSF831><Page1><Language>&j;</Language></Page1></BSF831></xfa:data></xfa:datasets>'
    )
    objects = simple()
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] /XFA [(datasets) 6 0 R] >> >>"
    objects[6] = stream(laughs, compress=True)
    yield "xfa_billion_laughs", build(objects)
    external = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><xfa:datasets xmlns:xfa="http://www.xfa.org/schema/xfa-data/1.0/"><xfa:data><BSF831><Page1><Language>&x;</Language><PartA><BusinessNumber>1</BusinessNumber></PartA></Page1></BSF831></xfa:data></xfa:datasets>'
    objects[6] = stream(external, compress=True)
    yield "xfa_external_entity", build(objects)


def javascript_and_files() -> Iterator[tuple[str, bytes, str]]:
    for index, script in enumerate(["app.alert('hi')", "this.exportDataObject({cName: 'x', nLaunch: 2})", "while(true){}", "a" * 100000]):
        writer = PdfWriter(clone_from=io.BytesIO(_valid_form()))
        action = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject(script)})
        writer.root_object[NameObject("/OpenAction")] = writer._add_object(action)
        for page in writer.pages:
            page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): action})
        yield f"javascript_{index}", _write(writer), "javascript"
    for index, (name, data) in enumerate([("evil.exe", b"MZ" + b"\0" * 1000), ("inner.pdf", _valid_form()), ("bomb.bin", b"\0" * 200000)]):
        writer = PdfWriter(clone_from=io.BytesIO(_valid_form()))
        writer.add_attachment(name, data)
        yield f"embedded_file_{index}", _write(writer), "embedded_files"


def _write(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def junk_objects() -> Iterator[tuple[str, bytes]]:
    bad_values = [
        b"<< /Length -5 >>\nstream\nabc\nendstream",
        b"<< /Length 999999999 >>\nstream\nabc\nendstream",
        b"(unterminated",
        b"<</A <</B",
        b"1 0 R",
        b"9999 0 R",
        b"<ffzz>",
        b"/#00#00",
        b"1e99999",
        b"-0.0.0.0",
    ]
    for index, value in enumerate(bad_values):
        for slot in (4, 5):
            yield f"junk_{index}_in_{slot}", build({**simple(), slot: value})
        yield (
            f"junk_{index}_as_fields",
            build({**simple(), 1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] /XFA 6 0 R >> >>", 6: value}),
        )


def byte_flips() -> Iterator[tuple[str, bytes]]:
    form = _valid_form()
    generator = random.Random(831)
    for index in range(70):
        data = bytearray(form)
        for _ in range(1 + index % 8):
            data[generator.randrange(len(data))] = generator.randrange(256)
        yield f"byte_flips_{index}", bytes(data)


def hostile_pdfs() -> Iterator[tuple[str, bytes, str]]:
    for family, generator in (
        ("broken_xref", broken_xref),
        ("huge_pages", huge_pages),
        ("deep_nesting", deep_nesting),
        ("compression_bombs", compression_bombs),
        ("junk_objects", junk_objects),
        ("byte_flips", byte_flips),
    ):
        for name, data in generator():
            yield name, data, family
    yield from javascript_and_files()
