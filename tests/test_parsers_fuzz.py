"""Mutated valid fixtures (truncation, byte flips, object duplication): a typed result or a typed error, always."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdf_fixtures import fixture

from core.errors import FormError
from parsers.form import Bsf831Form, NotAForm
from parsers.read import parse_pdf

KINDS = ("acroform", "xfa_only", "flattened")
OBJECT = re.compile(rb"\n(\d+) 0 obj\n.*?endobj\n", re.S)


def _read(data: bytes) -> None:
    try:
        result = parse_pdf(data, max_pages=10)
    except FormError:
        return
    assert isinstance(result, Bsf831Form | NotAForm)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(fixture(draw(st.sampled_from(KINDS))))
    how = draw(st.sampled_from(("truncate", "flip", "duplicate")))
    if how == "truncate":
        return bytes(data[: draw(st.integers(0, len(data)))])
    if how == "flip":
        for _ in range(draw(st.integers(1, 16))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    objects = list(OBJECT.finditer(bytes(data)))
    chosen = objects[draw(st.integers(0, len(objects) - 1))]
    at = draw(st.integers(0, len(data)))
    return bytes(data[:at] + chosen.group(0) + data[at:])


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_fixtures_give_typed_outcomes(data: bytes) -> None:
    _read(data)
