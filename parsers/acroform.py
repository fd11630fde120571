"""Reading a form's AcroForm: every terminal field's fully qualified name and raw value.

The field tree is walked directly (faster than ``get_fields()``, and it sees what that misses):
``/V`` on the field or inherited from a parent, and a button's ``/AS`` state when a viewer set
the appearance but no ``/V``. The walk is bounded in depth and count and never revisits an object.
"""

from __future__ import annotations

import re
from typing import Any

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    StreamObject,
)

from parsers.pdf import guarded

INDEX = re.compile(r"\[\d+\]")
MAX_DEPTH = 32
MAX_FIELDS = 5000


def read_fields(reader: PdfReader) -> dict[str, Any] | None:
    """Qualified name → raw value for every terminal field; None when the PDF has no AcroForm."""
    return guarded("form fields", lambda: _read(reader))


def _read(reader: PdfReader) -> dict[str, Any] | None:
    acro_form = reader.root_object.get("/AcroForm")
    if acro_form is None:
        return None
    acro_form = acro_form.get_object()
    if not isinstance(acro_form, DictionaryObject):
        return None
    roots = acro_form.get("/Fields")
    roots = roots.get_object() if roots is not None else None
    if not isinstance(roots, ArrayObject):
        return {}
    found: dict[str, Any] = {}
    _walk(roots, "", None, found, set(), 0)
    return found


def _walk(kids: ArrayObject, prefix: str, inherited: Any, found: dict[str, Any], seen: set[int], depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    for ref in kids:
        if len(found) >= MAX_FIELDS:
            return
        if isinstance(ref, IndirectObject):
            if ref.idnum in seen:
                continue
            seen.add(ref.idnum)
        node = ref.get_object()
        if not isinstance(node, DictionaryObject) or "/T" not in node:
            continue
        name = f"{prefix}.{node['/T']}" if prefix else str(node["/T"])
        value = node.get("/V", inherited)
        children = node.get("/Kids")
        children = children.get_object() if children is not None else None
        named = [k for k in children if _is_named(k)] if isinstance(children, ArrayObject) else []
        if named and isinstance(children, ArrayObject):  # named is non-empty only for an ArrayObject
            _walk(children, name, value, found, seen, depth + 1)
        else:
            if value is None and node.get("/FT", "") == "/Btn":
                value = _appearance_state(node, children)
            found[name] = value


def _is_named(ref: Any) -> bool:
    node = ref.get_object()
    return isinstance(node, DictionaryObject) and "/T" in node


def _appearance_state(node: DictionaryObject, widgets: Any) -> NameObject | None:
    """The on-state a viewer showed (``/AS``) when it did not set ``/V``."""
    candidates = [node] + ([w.get_object() for w in widgets] if isinstance(widgets, ArrayObject) else [])
    for widget in candidates:
        state = widget.get("/AS") if isinstance(widget, DictionaryObject) else None
        if state is not None and str(state) != "/Off":
            return NameObject(str(state))
    return None


def raw_text(raw: Any) -> str | None:
    """A field's raw /V as text: names lose their slash, a rich-text stream is decoded, lists give their first item."""
    if isinstance(raw, IndirectObject):
        raw = raw.get_object()
    if isinstance(raw, ArrayObject | list):
        raw = raw[0].get_object() if len(raw) else None
    if raw is None:
        return None
    if isinstance(raw, StreamObject):
        return raw.get_data().decode("utf-8", "replace")
    text = str(raw)
    return text[1:] if isinstance(raw, NameObject) else text


def index_names(fields: dict[str, Any]) -> dict[str, str]:
    """Qualified name → itself, plus the same name without [n] indexes → qualified name."""
    names = {name: name for name in fields}
    for name in fields:
        names.setdefault(INDEX.sub("", name), name)
    return names


def lookup(names: dict[str, str], qualified: str) -> str | None:
    return names.get(qualified) or names.get(INDEX.sub("", qualified))
