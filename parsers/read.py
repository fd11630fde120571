"""PDF bytes to a typed result: a BSF831 read the best way its file allows, or why it is not one.

The ways to read, most trusted first: the AcroForm (filled in a viewer), the XFA datasets (a
LiveCycle form; compared with the AcroForm when both are there), the text layer (a flattened or
printed form, read by label anchors), and none (a scanned page: recognised, never guessed at).
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader

from core.enums import ReadMethod
from parsers import acroform, textlayer, xfa
from parsers.errors import DamagedPdf, EncryptedPdf
from parsers.form import (
    BLANK_FORM,
    NO_FORM,
    OTHER_FORM,
    Bsf831Form,
    Conflict,
    NotAForm,
    ParseResult,
)
from parsers.pdf import form_number, has_images, open_pdf, producer
from parsers.profiles import FieldSpec, Profile, all_profiles

DEFAULT_MAX_PAGES = 50
OFF_STATES = {"", "off", "no", "false", "0"}
OWN_FORM_NUMBER = "BSF831"
EOF_MARKER = b"%%EOF"
MIN_TEXT_CHARS = 20  # fewer characters than this on every page, with images: a scan


@dataclass(frozen=True)
class Reading:
    """Values read one way, through one profile."""

    profile: Profile
    method: ReadMethod
    values: dict[str, str | None]
    provenance: dict[str, str]

    @property
    def blank(self) -> bool:
        return not any(v for k, v in self.values.items() if v and not (self.profile.field(k).type == "checkbox" and v == "no"))


def parse_pdf(data: bytes, *, max_pages: int = DEFAULT_MAX_PAGES) -> ParseResult:
    """A Bsf831Form or NotAForm; a parsers.errors error (a FormError) when the bytes cannot be read.

    An empty or truncated file is unreadable at once. A file pypdf cannot read is tried once more
    after qpdf (pikepdf) has repaired it. An encrypted file is never called a scan.
    """
    if not data.strip():
        raise DamagedPdf("the file is empty")
    if EOF_MARKER not in data:
        raise DamagedPdf("the file cannot be read as a PDF: it is truncated (no end-of-file marker)")
    try:
        return _parse(data, max_pages)
    except DamagedPdf as damaged:
        repaired = repair(data)
        if repaired is None:
            raise
        try:
            return _parse(repaired, max_pages)
        except DamagedPdf:
            raise damaged from None


def repair(data: bytes) -> bytes | None:
    """The file rewritten by qpdf (pikepdf), which rebuilds broken cross-reference tables; None when qpdf cannot open it.

    A file qpdf opens only with a password raises EncryptedPdf.
    """
    import pikepdf  # only for the rare broken file: readers that never repair do not load qpdf

    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            out = io.BytesIO()
            pdf.save(out)
            return out.getvalue()
    except pikepdf.PasswordError as exc:
        raise EncryptedPdf("the PDF is protected by a password") from exc
    except Exception:  # noqa: BLE001 - qpdf failing to repair leaves the first verdict standing
        return None


def _parse(data: bytes, max_pages: int) -> ParseResult:
    reader = open_pdf(data, max_pages)
    if not reader.is_encrypted:
        return _read_reader(reader)
    try:
        result = _read_reader(reader)
    except DamagedPdf as exc:  # decrypted with the empty password, yet unreadable: the key is wrong (no /ID)
        raise EncryptedPdf("the PDF is encrypted and could not be read without its password") from exc
    if isinstance(result, Bsf831Form) and result.method == ReadMethod.none:
        raise EncryptedPdf("the PDF is encrypted: its pages could not be read as text or form fields")
    return result


def _read_reader(reader: PdfReader) -> ParseResult:
    made_by = producer(reader)
    pages = len(reader.pages)
    fields = acroform.read_fields(reader)
    datasets = xfa.read_datasets(reader)
    from_acroform = _from_acroform(fields) if fields else None
    from_xfa = _from_xfa(datasets) if datasets else None
    if from_acroform or from_xfa:
        return _form_or_blank(_combine(from_acroform, from_xfa), made_by, pages)
    layer = textlayer.read_layer(reader)
    if fields or datasets:
        number = form_number(layer.text)
        return NotAForm(f"the PDF's form fields are not those of a BSF831{_naming(number)}", made_by, OTHER_FORM, number)
    match = textlayer.best_profile(layer, all_profiles())
    if match is not None:
        profile, anchors = match
        raw, provenance = textlayer.read_values(layer, profile, anchors)
        values = {spec.key: normalise(spec, raw.get(spec.key)) if spec.key in raw else None for spec in profile.fields}
        return _form_or_blank(Reading(profile, ReadMethod.text_layer, values, provenance), made_by, pages)
    if len(layer.text.strip()) < MIN_TEXT_CHARS and any(has_images(page) for page in reader.pages):
        profile = all_profiles()[-1]  # the least specific revision: it only gives the empty form its keys
        values = {key: None for key in profile.keys}
        return Bsf831Form(profile=profile, method=ReadMethod.none, producer=made_by, values=values, pages=pages)
    number = form_number(layer.text)
    if number and number != OWN_FORM_NUMBER:
        return NotAForm(f"the PDF is another form{_naming(number)}, not a BSF831", made_by, OTHER_FORM, number)
    return NotAForm("the PDF has no fillable form fields and is not a BSF831", made_by, NO_FORM)


def _naming(number: str | None) -> str:
    return f" ({number})" if number else ""


def _from_acroform(fields: dict[str, Any]) -> Reading | None:
    names = acroform.index_names(fields)
    profile = detect_profile(names)
    if profile is None:
        return None
    values: dict[str, str | None] = {}
    provenance: dict[str, str] = {}
    for spec in profile.fields:
        name = acroform.lookup(names, spec.pdf)
        values[spec.key] = normalise(spec, acroform.raw_text(fields[name])) if name else None
        if name:
            provenance[spec.key] = f"acroform:{name}"
    return Reading(profile, ReadMethod.acroform, values, provenance)


def _from_xfa(datasets: Mapping[str, str | None]) -> Reading | None:
    profile = detect_xfa_profile(datasets)
    if profile is None:
        return None
    values: dict[str, str | None] = {}
    provenance: dict[str, str] = {}
    for spec in profile.fields:
        present = spec.xfa is not None and spec.xfa in datasets
        values[spec.key] = normalise(spec, datasets[spec.xfa]) if present and spec.xfa else None
        if present:
            provenance[spec.key] = f"xfa:{spec.xfa}"
    return Reading(profile, ReadMethod.xfa, values, provenance)


def _combine(from_acroform: Reading | None, from_xfa: Reading | None) -> tuple[Reading, tuple[Conflict, ...]]:
    """The AcroForm reading unless it is empty; with both, the fields where they disagree.

    Viewers other than Adobe's (Preview, browsers, pypdf) update only the AcroForm of a static XFA
    form and leave its XFA data stale, so on a disagreement the AcroForm value is kept.
    """
    if from_acroform is None or (from_acroform.blank and from_xfa is not None and not from_xfa.blank):
        assert from_xfa is not None
        return from_xfa, ()
    if from_xfa is None or from_xfa.profile.id != from_acroform.profile.id:
        return from_acroform, ()
    conflicts = tuple(
        Conflict(key, value, from_xfa.values.get(key))
        for key, value in from_acroform.values.items()
        if key in from_xfa.provenance and value != from_xfa.values.get(key)
    )
    if not conflicts:
        return from_acroform, ()
    provenance = dict(from_acroform.provenance)
    for conflict in conflicts:
        provenance[conflict.key] = f"{provenance.get(conflict.key, 'acroform')}; differs from {from_xfa.provenance[conflict.key]}"
    return Reading(from_acroform.profile, ReadMethod.acroform, from_acroform.values, provenance), conflicts


def _form_or_blank(read: Reading | tuple[Reading, tuple[Conflict, ...]], made_by: str | None, pages: int) -> ParseResult:
    reading, conflicts = read if isinstance(read, tuple) else (read, ())
    if reading.blank:
        return NotAForm("the BSF831 has nothing filled in", made_by, BLANK_FORM, OWN_FORM_NUMBER, reading.profile.id)
    return Bsf831Form(
        profile=reading.profile,
        method=reading.method,
        producer=made_by,
        values=reading.values,
        provenance=reading.provenance,
        conflicts=conflicts,
        pages=pages,
    )


def detect_profile(names: dict[str, str]) -> Profile | None:
    """The first profile whose detection fields are all present and whose excluded fields are absent."""
    for profile in all_profiles():
        present = all(acroform.lookup(names, name) for name in profile.detect_present)
        absent = not any(acroform.lookup(names, name) for name in profile.detect_absent)
        if present and absent:
            return profile
    return None


def detect_xfa_profile(datasets: Mapping[str, str | None]) -> Profile | None:
    """The same test on the XFA data paths."""
    for profile in all_profiles():
        if not profile.detect_xfa_present:
            continue
        present = all(path in datasets for path in profile.detect_xfa_present)
        absent = not any(path in datasets for path in profile.detect_xfa_absent)
        if present and absent:
            return profile
    return None


def normalise(spec: FieldSpec, raw: Any) -> str | None:
    """A raw value as canonical text, or None when empty."""
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
