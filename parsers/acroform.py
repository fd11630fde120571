"""Reading a BSF831 from its AcroForm fields, through a form profile."""

from __future__ import annotations

import io
import re
import unicodedata
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from core.errors import FormError
from parsers.form import Bsf831Form, NotAForm, ParseResult
from parsers.profiles import FieldSpec, Profile, all_profiles

INDEX = re.compile(r"\[\d+\]")
OFF_STATES = {"", "off", "no", "false", "0"}


def parse_pdf(data: bytes) -> ParseResult:
    """A Bsf831Form, or NotAForm; FormError when the bytes cannot be read as a PDF at all."""
    reader = _open(data)
    producer = _producer(reader)
    try:
        fields = reader.get_fields() or {}
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise FormError(f"the PDF's form fields cannot be read: {exc}") from exc
    if not fields:
        return NotAForm("the PDF has no fillable form fields", producer)
    names = _index_names(fields)
    profile = detect_profile(names)
    if profile is None:
        return NotAForm("the PDF's form fields are not those of a BSF831", producer)
    values: dict[str, str | None] = {}
    provenance: dict[str, str] = {}
    for spec in profile.fields:
        name = _lookup(names, spec.pdf)
        if name is None:
            values[spec.key] = None
            continue
        values[spec.key] = normalise(spec, fields[name].get("/V"))
        provenance[spec.key] = f"acroform:{name}"
    return Bsf831Form(profile=profile, method="acroform", producer=producer, values=values, provenance=provenance)


def detect_profile(names: dict[str, str]) -> Profile | None:
    """The first profile whose detection fields are all present and whose excluded fields are absent."""
    for profile in all_profiles():
        present = all(_lookup(names, name) for name in profile.detect_present)
        absent = not any(_lookup(names, name) for name in profile.detect_absent)
        if present and absent:
            return profile
    return None


def normalise(spec: FieldSpec, raw: Any) -> str | None:
    """A field's raw /V as canonical text, or None when empty."""
    if isinstance(raw, list):  # a multi-select list; the form has none, take the first
        raw = raw[0] if raw else None
    if raw is None:
        return "no" if spec.type == "checkbox" else None
    text = str(raw)
    if text.startswith("/"):
        text = text[1:]
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if spec.type == "checkbox":
        return "no" if text.lower() in OFF_STATES else "yes"
    if spec.type in ("choice", "yesno"):
        if text.lower() == "off" or not text:
            return None
        for export, canonical in spec.choices.items():
            if text.lower() == export.lower() or text.lower() == canonical.lower():
                return canonical
        return text
    return text or None


def _open(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise FormError("the PDF is protected by a password")
        return reader
    except FormError:
        raise
    except (PyPdfError, PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise FormError(f"the file cannot be read as a PDF: {exc}") from exc


def _producer(reader: PdfReader) -> str | None:
    try:
        meta = reader.metadata
        return str(meta.producer) if meta and meta.producer else None
    except (PyPdfError, ValueError, KeyError, TypeError):
        return None


def _index_names(fields: dict[str, Any]) -> dict[str, str]:
    """Qualified name → itself, plus the same name without [n] indexes → qualified name."""
    names = {name: name for name in fields}
    for name in fields:
        names.setdefault(INDEX.sub("", name), name)
    return names


def _lookup(names: dict[str, str], qualified: str) -> str | None:
    return names.get(qualified) or names.get(INDEX.sub("", qualified))
