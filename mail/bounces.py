"""Reading a delivery report (RFC 3464) or a bounce for the Message-IDs of the mail that bounced."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import Message

MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
HEADER_PARTS = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")


NOT_FAILURES = ("message/disposition-notification", "message/feedback-report")


def bounced_message_ids(message: Message) -> list[str]:
    """Message-IDs of the returned message, from its attached headers, else any found in the text.

    Only a failure returns them: a delay warning or a relayed/delivered report (a DSN whose every
    Action is not `failed`), a read receipt (RFC 8098) and a feedback report (RFC 5965) return none.
    """
    if not is_failure(message):
        return []
    found: list[str] = []
    for part in message.walk():
        if part.get_content_type() in HEADER_PARTS:
            found += _ids_in_headers(part)
    if found:
        return _unique(found)
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                found += MESSAGE_ID.findall(payload.decode("utf-8", errors="replace"))
    return _unique(found)


def is_failure(message: Message) -> bool:
    """Whether the report says a delivery failed (a report with no delivery-status part is judged by its kind)."""
    actions: list[str] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind in NOT_FAILURES:
            return False
        if kind in ("message/delivery-status", "message/global-delivery-status"):
            actions += [a.lower() for a in re.findall(r"^Action:\s*(\S+)", _text(part), re.MULTILINE | re.IGNORECASE)]
    return not actions or "failed" in actions


def _text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package parses a delivery-status into header blocks
        return "\n\n".join(block.as_string() for block in payload if isinstance(block, Message))
    return str(payload)


def diagnostic(message: Message) -> str:
    """The delivery report's status and diagnostic, or the bounce's subject."""
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            text = part.as_string()
            status = re.search(r"^Status:\s*(\S+)", text, re.MULTILINE | re.IGNORECASE)
            code = re.search(r"^Diagnostic-Code:\s*(.+)$", text, re.MULTILINE | re.IGNORECASE)
            return " ".join(filter(None, [status and status.group(1), code and code.group(1).strip()]))[:500]
    return str(message.get("Subject", "delivery failed"))[:500]


def _ids_in_headers(part: Message) -> list[str]:
    if part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        value = inner.get("Message-ID") if isinstance(inner, Message) else None
        return MESSAGE_ID.findall(str(value)) if value else []
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload()).encode()
    headers = email.message_from_bytes(payload, policy=email.policy.compat32)
    return MESSAGE_ID.findall(str(headers.get("Message-ID", "")))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
