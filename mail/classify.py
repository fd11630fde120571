"""What kind of message this is, so robots are never answered (RFC 3834, RFC 3464)."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import collapse_rfc2231_value

from core.enums import MessageKind
from mail.mime import ParsedMessage

ROBOT_SENDERS = ("mailer-daemon@", "postmaster@")


def is_bounce(parsed: ParsedMessage) -> bool:
    message = parsed.message
    if message.get_content_type() == "multipart/report":
        report_type = message.get_param("report-type", "")
        if isinstance(report_type, tuple):  # an RFC 2231 encoded parameter: (charset, language, value)
            report_type = collapse_rfc2231_value(report_type)
        return report_type.lower() in ("delivery-status", "disposition-notification")
    sender = (parsed.sender or "").lower()
    return sender.startswith(ROBOT_SENDERS)


def is_auto_reply(parsed: ParsedMessage) -> bool:
    message = parsed.message
    auto_submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    return str(message.get("Return-Path", "")).strip() == "<>"


def is_list_mail(parsed: ParsedMessage) -> bool:
    message = parsed.message
    if str(message.get("Precedence", "")).strip().lower() in ("bulk", "list", "junk"):
        return True
    return any(message.get(name) for name in ("List-Id", "List-Unsubscribe", "List-Post"))


# Order as data: the first classifier that matches names the kind.
ROBOT_CLASSIFIERS: tuple[tuple[MessageKind, Callable[[ParsedMessage], bool]], ...] = (
    (MessageKind.bounce, is_bounce),
    (MessageKind.auto_reply, is_auto_reply),
    (MessageKind.list, is_list_mail),
)


def wants_no_auto_reply(parsed: ParsedMessage) -> bool:
    """Exchange's X-Auto-Response-Suppress asks that no automatic answer be sent (the form is still read)."""
    value = str(parsed.message.get("X-Auto-Response-Suppress", "")).lower()
    return any(token in value for token in ("all", "autoreply", "oof"))


def classify(parsed: ParsedMessage, has_pdf: bool) -> MessageKind:
    for kind, matches in ROBOT_CLASSIFIERS:
        if matches(parsed):
            return kind
    return MessageKind.form if has_pdf else MessageKind.correspondence
