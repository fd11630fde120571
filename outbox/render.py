"""Rendering a notice kind into one bilingual text, the applicant's language first."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("en", "fr")
KINDS = tuple(sorted({p.name.split(".")[0] for p in TEMPLATES.glob("*.txt.j2")}))
SEPARATOR = {
    "en": "----- Version française ci-dessous / French version below -----",
    "fr": "----- English version below / Version anglaise ci-dessous -----",
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
)


@dataclass(frozen=True)
class RenderedText:
    subject: str
    body: str


def render_one(kind: str, language: str, context: dict[str, Any]) -> RenderedText:
    """One language of one kind: the template's first line is the subject."""
    text = _env.get_template(f"{kind}.{language}.txt.j2").render(**context)
    subject, _, body = text.partition("\n")
    return RenderedText(subject=subject.strip(), body=body.strip() + "\n")


def render_bilingual(kind: str, language: str, context: dict[str, Any]) -> RenderedText:
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}; known: {', '.join(KINDS)}")
    lead = language if language in LANGUAGES else "en"
    other = "fr" if lead == "en" else "en"
    first, second = render_one(kind, lead, context), render_one(kind, other, context)
    return RenderedText(
        subject=f"{first.subject} / {second.subject}",
        body=f"{first.body}\n{SEPARATOR[lead]}\n\n{second.body}",
    )
