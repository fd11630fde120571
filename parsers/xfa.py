"""Reading the XFA ``datasets`` packet: the values of a LiveCycle form, by data path.

Dynamic XFA forms keep their values only here; static ones mirror them in the AcroForm. The packet
is XML; Python's expat refuses entity expansion bombs and never fetches external entities.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, StreamObject

from parsers.errors import LimitExceeded
from parsers.pdf import guarded

MAX_XFA_BYTES = 5_000_000
MAX_ELEMENTS = 20_000
MAX_DEPTH = 32
DATASETS = re.compile(rb"<(?:[\w.-]+:)?datasets\b.*?</(?:[\w.-]+:)?datasets\s*>", re.S)


def read_datasets(reader: PdfReader) -> dict[str, str | None] | None:
    """Data path (``BSF831.Page1.PartA.LegalName``) → text; None when the PDF has no XFA datasets.

    An element present but empty maps to None, so that a profile can tell "absent" from "blank".
    """
    packet = guarded("XFA packet", lambda: _datasets_packet(reader))
    if packet is None:
        return None
    try:
        root = ET.fromstring(packet)  # noqa: S314 - expat refuses entity bombs and external entities (see the module docstring)
    except ET.ParseError:
        return None
    data = next((child for child in root if _local(child.tag) == "data"), None)
    if data is None:
        return None
    values: dict[str, str | None] = {}
    _collect(data, "", values, 0)
    return values


def _datasets_packet(reader: PdfReader) -> bytes | None:
    acro_form: Any = reader.root_object.get("/AcroForm")
    acro_form = acro_form.get_object() if acro_form is not None else None
    if not isinstance(acro_form, DictionaryObject) or "/XFA" not in acro_form:
        return None
    xfa = acro_form["/XFA"].get_object()
    if isinstance(xfa, ArrayObject):  # [name, stream, name, stream, ...]
        for index in range(0, len(xfa) - 1, 2):
            if str(xfa[index]) == "datasets":
                stream = xfa[index + 1].get_object()
                return _bounded(stream) if isinstance(stream, StreamObject) else None
        return None
    if isinstance(xfa, StreamObject):  # the whole XDP in one stream
        match = DATASETS.search(_bounded(xfa))
        return match.group(0) if match else None
    return None


def _bounded(stream: StreamObject) -> bytes:
    data = stream.get_data()
    if len(data) > MAX_XFA_BYTES:
        raise LimitExceeded(f"the XFA packet is larger than {MAX_XFA_BYTES} bytes")
    return data


def _collect(element: ET.Element, prefix: str, values: dict[str, str | None], depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    for child in element:
        if len(values) >= MAX_ELEMENTS:
            return
        path = f"{prefix}.{_local(child.tag)}" if prefix else _local(child.tag)
        if len(child):
            values.setdefault(path, None)
            _collect(child, path, values, depth + 1)
        elif path not in values or values[path] is None:
            text = (child.text or "").strip()
            values[path] = text or None


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]
