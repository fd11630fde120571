"""Previewing a notice kind: the whole message rendered with sample values, nothing stored or sent."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import jinja2.meta

from core.enums import NoticeKind
from core.settings import NoticeSettings, SmtpSettings
from outbox.compose import bilingual_message, notice_headers
from outbox.render import (
    LANGUAGES,
    TEMPLATES,
    UnknownKind,
    elided_de,
    known_kinds,
    render_bilingual,
)

SAMPLE_CONTEXT: dict[str, Any] = {
    "reference": "CERS-000042",
    "legal_name": "Érable Export Inc.",
    "authorization_id": "AB1234",
    "activation_code": "SAMPLE-CODE-0000",
    "expires_on": "2027-02-24",
    "due_on": "2026-12-04",
    "exporter_business_number": "123456782RM0001",
    "provider_business_number": "987654321RM0001",
    "reason_en": "The business number does not match the legal name.",
    "reason_fr": "Le numéro d'entreprise ne correspond pas à la dénomination sociale.",
    "message_en": "Please send a copy of your export permit.",
    "message_fr": "Veuillez envoyer une copie de votre licence d'exportation.",
    "filename": "formulaire.pdf",
    "pdfs_total": 12,
    "pdfs_read": 10,
    "pdfs_not_read": 2,
    "findings": [
        {
            "item": "3",
            "field": "exporter.business_number",
            "label_en": "Business number",
            "label_fr": "Numéro d'entreprise",
            "message_en": "This item is required.",
            "message_fr": "Ce champ est obligatoire.",
            "severity": "error",
            "code": "required",
        },
    ],
}


def sample_context(kind: str) -> dict[str, Any]:
    """SAMPLE_CONTEXT, plus a visible placeholder for any variable a template uses that it lacks."""
    context = dict(SAMPLE_CONTEXT)
    env = jinja2.Environment()  # noqa: S701 - only parsed for its variable names, never rendered
    env.filters["elided_de"] = elided_de
    for language in LANGUAGES:
        for path in TEMPLATES.glob(f"{kind}.{language}.*.j2"):
            for name in jinja2.meta.find_undeclared_variables(env.parse(path.read_text(encoding="utf-8"))):
                context.setdefault(name, f"<{name}>")
    return context


def preview_message(kind: str, language: str, smtp: SmtpSettings, notices: NoticeSettings | None = None) -> EmailMessage:
    """The message as it would be stored, with sample values; UnknownKind or ValueError for bad input."""
    if kind not in known_kinds():
        raise UnknownKind(kind)
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; known: {', '.join(LANGUAGES)}")
    rendered = render_bilingual(kind, language, sample_context(kind), notices)
    headers = notice_headers(smtp, NoticeKind(kind), "applicant@example.ca", rendered.subject)
    return message_from_bytes(bilingual_message(headers, rendered, language), policy=policy.default)


def preview_text(message: EmailMessage, part: str = "both") -> str:
    """Headers and decoded bodies for a terminal: part is text, html or both."""
    lines = [f"{name}: {value}" for name, value in message.items() if name.lower() not in ("content-type", "mime-version")]
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    if part == "html":
        return html.get_content() if html is not None else ""
    lines.append("")
    lines.append("----- text/plain -----")
    lines.append(text.get_content() if text is not None else "")
    if part == "both":
        lines.append("----- text/html -----")
        lines.append(html.get_content() if html is not None else "")
    return "\n".join(lines)
