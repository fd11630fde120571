"""Composing a notice row: rendered, threaded and given its Message-ID before any SMTP call."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any

from sqlmodel import Session

from core.enums import NoticeKind
from core.models import InboundMessage, Notice, utcnow
from core.settings import NoticeSettings, SmtpSettings
from outbox.render import RenderedText, render_bilingual

REDACTED = "[not kept after sending / non conservé après l'envoi]"
# RFC 3834: an answer to a message is auto-replied; a notice nobody's message asked for is
# auto-generated; an officer's own written words are neither (a person wrote them).
AUTO_SUBMITTED: dict[NoticeKind, str | None] = {
    NoticeKind.activation: "auto-generated",
    NoticeKind.association_confirmation: "auto-generated",
    NoticeKind.email_replaced: "auto-generated",
    NoticeKind.alert: "auto-generated",
    NoticeKind.correspondence_reply: None,
    NoticeKind.officer_request: None,
    NoticeKind.rejection: None,
}


def queue_notice(
    session: Session,
    smtp: SmtpSettings,
    *,
    notices: NoticeSettings | None = None,
    kind: NoticeKind,
    to: str,
    language: str,
    context: dict[str, Any],
    application_id: int | None = None,
    in_reply_to: InboundMessage | None = None,
    secret_keys: tuple[str, ...] = (),
) -> Notice:
    """Render and store a notice; the sender sends it later. Secrets are kept only until it is sent."""
    domain = smtp.from_address.rpartition("@")[2] or "localhost"
    message_id = make_msgid(idstring="cers", domain=domain)
    # a thread only to a message the recipient has seen: their own
    thread = in_reply_to if in_reply_to is not None and (in_reply_to.sender or "").lower() == to.lower() else None
    raw, subject = _build(smtp, notices, kind, to, language, context, thread, message_id)
    redacted = None
    if secret_keys:
        hidden = {**context, **{key: REDACTED for key in secret_keys}}
        redacted, subject = _build(smtp, notices, kind, to, language, hidden, thread, message_id)
    notice = Notice(
        kind=kind,
        application_id=application_id,
        inbound_message_id=in_reply_to.id if in_reply_to else None,
        to_address=to,
        message_id=message_id,
        subject=subject,
        raw=raw,
        raw_redacted=redacted,
    )
    session.add(notice)
    session.flush()
    return notice


def _build(
    smtp: SmtpSettings,
    notices: NoticeSettings | None,
    kind: NoticeKind,
    to: str,
    language: str,
    context: dict[str, Any],
    in_reply_to: InboundMessage | None,
    message_id: str,
) -> tuple[bytes, str]:
    rendered = render_bilingual(kind, language, context, notices)
    message = EmailMessage()
    message["From"] = formataddr((smtp.from_name, smtp.from_address))
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    auto_submitted = AUTO_SUBMITTED.get(kind, "auto-replied")
    if auto_submitted:
        message["Auto-Submitted"] = auto_submitted
    if in_reply_to is not None and in_reply_to.message_id:
        message["In-Reply-To"] = in_reply_to.message_id
        references = f"{in_reply_to.references or ''} {in_reply_to.message_id}".strip()
        message["References"] = references[-4000:]
    set_bilingual_body(message, rendered, language)
    return message.as_bytes(), rendered.subject


def set_bilingual_body(message: EmailMessage, rendered: RenderedText, language: str) -> None:
    """The text and HTML alternatives, and the languages in the order they come."""
    message.set_content(rendered.body, charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    # after the body: set_content() clears every Content-* header already set
    message["Content-Language"] = "en, fr" if language != "fr" else "fr, en"


def queue_internal(session: Session, smtp: SmtpSettings, *, kind: NoticeKind, to: str, subject: str, body: str) -> Notice:
    """Store a plain-text message for staff (an alert): no template, not a reply, sent like any notice."""
    domain = smtp.from_address.rpartition("@")[2] or "localhost"
    message_id = make_msgid(idstring="cers", domain=domain)
    message = EmailMessage()
    message["From"] = formataddr((smtp.from_name, smtp.from_address))
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body, charset="utf-8")
    notice = Notice(kind=kind, to_address=to, message_id=message_id, subject=subject, raw=message.as_bytes())
    session.add(notice)
    session.flush()
    return notice
