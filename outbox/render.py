"""Rendering a notice kind into one bilingual message, the applicant's language first: plain text and HTML.

Each kind has `KIND.LANG.txt.j2` (first line: the subject). Its HTML alternative is made from the
same rendered text (paragraphs, lists, links; everything escaped), so the two always say the same
thing; `_layout.html.j2` puts both languages in one HTML document.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_date
from markupsafe import Markup, escape

from core.enums import NoticeKind
from core.settings import NoticeSettings

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("en", "fr")
SEPARATOR = {
    "en": "----- Version française ci-dessous / French version below -----",
    "fr": "----- English version below / Version anglaise ci-dessous -----",
}
# What an applicant wrote (the legal name, a file name, a subject) is quoted in a notice only when it
# holds nothing a reader could follow: no URL, no email address, no host name. Otherwise the
# official mailbox would carry a stranger's link or address to whoever the notice goes to.
APPLICANT_KEYS = ("legal_name", "filename", "subject")
_AIMABLE = re.compile(r"(?i)://|\bwww\.|@|[^\W_](?:[\w-]*[^\W_])?\.(?:[^\W\d_]{2,})\b")
_PDF_EXTENSION = re.compile(r"(?i)\.pdf$")
NBSP, NNBSP = "\u00a0", "\u202f"
_REFERENCE = re.compile(r"\bCERS-\d{6}\b")
_NUMBERED = re.compile(r"^\d+\.\s")
_LINK = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)]")

# The templates ship with the code: each is compiled once, never checked again against its file (auto_reload
# cost a stat of the file for every template of every notice).
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    undefined=jinja2.StrictUndefined,
    auto_reload=False,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 - the plain-text part; the HTML part is rendered by _html_env, which escapes
)


def long_date(value: object, language: str) -> str:
    """A date written out as its reader writes it: "February 27, 2027" / « 27 février 2027 »."""
    if isinstance(value, str):
        if not value:
            return ""
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:  # not a date (a preview's placeholder): shown as it is
            return value
        return long_date(day, language)
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        return str(value)
    return format_date(value, format="long", locale="fr_CA" if language == "fr" else "en_CA")


def elided_de(name: str) -> str:
    """French "de" before a name: « d'Érable Exports », « de Maple Syrup Co. »."""
    return f"d'{name}" if name[:1].lower() in "aâàeéèêëiîïoôuûùüyæœ" and name[:1] else f"de {name}"


def french_spacing(text: str) -> str:
    """The Translation Bureau's spacing, one rule everywhere: a no-break space before « : » and inside « »,
    a narrow no-break space before « ; ? ! », never a breaking space at those places."""
    text = _BEFORE_COLON.sub(f"{NBSP}:", text)
    text = _BEFORE_HIGH_PUNCTUATION.sub(f"{NNBSP}\\1", text)
    text = _AFTER_OPENING_QUOTE.sub(f"«{NBSP}", text)
    text = _BEFORE_CLOSING_QUOTE.sub(f"{NBSP}»", text)
    return _COLON_OPENING_A_LINE.sub(":", text)


_BEFORE_COLON = re.compile(r"[ \t\u00a0\u202f]*:(?=\s|$)", re.M)
_BEFORE_HIGH_PUNCTUATION = re.compile(r"(?<=\S)[ \t\u00a0\u202f]*([;?!])(?=\s|$)", re.M)
_AFTER_OPENING_QUOTE = re.compile(r"«[ \t\u00a0\u202f]*")
_BEFORE_CLOSING_QUOTE = re.compile(r"[ \t\u00a0\u202f]*»")
_COLON_OPENING_A_LINE = re.compile(rf"^{NBSP}:", re.M)


_env.filters["elided_de"] = elided_de
_html_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    undefined=jinja2.StrictUndefined,
    auto_reload=False,
    autoescape=True,
)


def known_kinds() -> tuple[str, ...]:
    """Every notice kind rendered from templates, in name order."""
    return tuple(sorted(kind.value for kind in NoticeKind.templated()))


class UnknownKind(ValueError):
    """A notice kind with no template."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"unknown notice kind {kind!r}; known kinds: {', '.join(known_kinds())}")


@dataclass(frozen=True)
class RenderedText:
    subject: str
    body: str
    html: str = ""


def quotable(value: object) -> object:
    """The applicant's text as it may appear in a notice: None when it holds a link, an address or a host name."""
    if not isinstance(value, str):
        return value
    return None if _AIMABLE.search(_PDF_EXTENSION.sub("", value.strip())) else value


def render_one(kind: str, language: str, context: dict[str, Any], notices: NoticeSettings | None = None) -> RenderedText:
    """One language of one kind, signed: the template's first line is the subject.

    Officer text comes in both languages (`reason_en`/`reason_fr`, `message_en`/`message_fr`); dates
    are written out in the language; the French half gets French spacing.
    """
    safe = {**context, **{key: quotable(context[key]) for key in APPLICANT_KEYS if key in context}}
    dated = {key: long_date(value, language) for key, value in safe.items() if key.endswith("_on")}
    values = {**safe, **dated, "language": language}
    text = _env.get_template(f"{kind}.{language}.txt.j2").render(**values)
    signature = _signature(language, notices or NoticeSettings())
    subject, _, body = text.partition("\n")
    body = f"{body.strip()}\n\n{signature.strip()}\n"
    if language == "fr":
        subject, body = french_spacing(subject), french_spacing(body)
    return RenderedText(subject=subject.strip(), body=body, html=text_to_html(body))


@functools.lru_cache(maxsize=8)
def _signature(language: str, notices: NoticeSettings) -> str:
    """The signature block of a language: the same for every notice under the same (frozen) settings."""
    return _env.get_template(f"_signature.{language}.txt.j2").render(notices=notices)


def render_bilingual(kind: str, language: str, context: dict[str, Any], notices: NoticeSettings | None = None) -> RenderedText:
    if kind not in known_kinds():
        raise UnknownKind(kind)
    lead = language if language in LANGUAGES else "en"
    other = "fr" if lead == "en" else "en"
    first, second = render_one(kind, lead, context, notices), render_one(kind, other, context, notices)
    subject = f"{first.subject} / {second.subject}"
    html = _html_env.get_template("_layout.html.j2").render(
        lead=lead,
        subject=subject,
        sections=[
            {"language": lead, "subject": first.subject, "body": Markup(first.html)},  # noqa: S704 - text_to_html escaped it
            {"language": other, "subject": second.subject, "body": Markup(second.html)},  # noqa: S704 - text_to_html escaped it
        ],
        separator=SEPARATOR[lead],
    )
    return RenderedText(
        subject=subject,
        body=f"{first.body}\n{SEPARATOR[lead]}\n\n{second.body}",
        html=html,
    )


def text_to_html(text: str) -> str:
    """Paragraphs at blank lines; a paragraph whose lines all start with "- " (or "1. ", "2. "…) becomes a list."""
    blocks = [block for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]
    parts: list[str] = []
    for block in blocks:
        lines = [line.rstrip() for line in block.splitlines() if line.strip()]
        if all(line.lstrip().startswith("- ") for line in lines):
            items = "".join(f"<li>{_inline(line.lstrip()[2:])}</li>" for line in lines)
            parts.append(f"<ul>{items}</ul>")
        elif all(_NUMBERED.match(line.lstrip()) for line in lines):
            items = "".join(f"<li>{_inline(_NUMBERED.sub('', line.lstrip(), count=1))}</li>" for line in lines)
            parts.append(f"<ol>{items}</ol>")
        else:
            parts.append("<p>" + "<br>\n".join(_inline(line) for line in lines) + "</p>")
    return "\n".join(parts)


def _inline(line: str) -> str:
    escaped = str(escape(line))
    linked = _LINK.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    # a reference never breaks at its hyphen
    return _REFERENCE.sub(lambda m: f'<span style="white-space:nowrap">{m.group(0)}</span>', linked)
