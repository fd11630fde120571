"""Opening a PDF with pypdf, with the errors it can raise mapped to ours, and what its pages hold."""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

from pypdf import PageObject, PdfReader
from pypdf.errors import FileNotDecryptedError, LimitReachedError, PyPdfError

from parsers.errors import DamagedPdf, EncryptedPdf, LimitExceeded

# What pypdf raises on broken input besides its own errors.
READ_ERRORS = (
    PyPdfError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    OSError,
    RecursionError,
    AssertionError,
    ArithmeticError,
    UnicodeError,
    NotImplementedError,
    zlib.error,
    struct.error,
)
FORM_NUMBER = re.compile(r"\b(BSF)\s?-?(\d{3,4}[A-Z]?)\b")
T = TypeVar("T")


def open_pdf(data: bytes, max_pages: int) -> PdfReader:
    """A reader on the bytes, decrypted with the empty password when encrypted; refused past max_pages."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except (FileNotDecryptedError, NotImplementedError) as exc:
                raise EncryptedPdf(f"the PDF is protected by a password ({exc})") from exc
            if not opened:
                raise EncryptedPdf("the PDF is protected by a password")
        pages = len(reader.pages)
    except (EncryptedPdf, LimitExceeded):
        raise
    except LimitReachedError as exc:
        raise LimitExceeded(f"the PDF exceeds a reading limit: {exc}") from exc
    except READ_ERRORS as exc:
        raise DamagedPdf(f"the file cannot be read as a PDF: {type(exc).__name__}") from exc
    if pages > max_pages:
        raise LimitExceeded(f"the PDF has {pages} pages; at most {max_pages} are read")
    if pages == 0:
        raise DamagedPdf("the PDF has no pages")
    return reader


def guarded(what: str, read: Callable[[], T]) -> T:
    """read(), with pypdf's failures on a broken file turned into DamagedPdf naming what was read."""
    try:
        return read()
    except LimitReachedError as exc:
        raise LimitExceeded(f"the PDF exceeds a reading limit while reading {what}: {exc}") from exc
    except READ_ERRORS as exc:
        raise DamagedPdf(f"the PDF's {what} cannot be read: {type(exc).__name__}") from exc


def producer(reader: PdfReader) -> str | None:
    """The PDF's /Producer (the program that wrote it), when it says."""
    try:
        meta = reader.metadata
        value = meta.producer if meta else None
        return " ".join(str(value).split())[:200] if value else None
    except READ_ERRORS:
        return None


def page_text(page: PageObject) -> str:
    return guarded("text", page.extract_text)


def form_number(text: str) -> str | None:
    """The first CBSA form number printed in the text (BSF947), normalised; None if none."""
    for match in FORM_NUMBER.finditer(text):
        return f"{match.group(1)}{match.group(2)}"
    return None


def has_images(page: PageObject) -> bool:
    """Whether the page draws an image XObject or an inline image (a scanner's output)."""

    def look() -> bool:
        contents = page.get_contents()
        data = contents.get_data() if contents is not None else b""
        if b" BI" in data or data.startswith(b"BI"):
            return True
        resources: Any = page.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources else None
        if not xobjects:
            return False
        return any(x.get_object().get("/Subtype") == "/Image" for x in xobjects.get_object().values())

    return guarded("images", look)
