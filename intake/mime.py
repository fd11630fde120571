"""Reading a raw message: the headers we keep and every PDF inside it, found by its bytes."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parseaddr

PDF_MAGIC = b"%PDF-"
# PDF readers accept the header anywhere in the first 1024 bytes.
PDF_HEADER_WINDOW = 1024


@dataclass(frozen=True)
class PdfAttachment:
    filename: str | None
    data: bytes


@dataclass(frozen=True)
class ParsedMessage:
    message: Message
    message_id: str | None
    in_reply_to: str | None
    references: str | None
    sender: str | None
    reply_to: str | None
    subject: str | None
    date: str | None

    @property
    def reply_address(self) -> str | None:
        """Where an answer to this message goes: Reply-To, else From."""
        return self.reply_to or self.sender


def parse_message(raw: bytes) -> ParsedMessage:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    return ParsedMessage(
        message=message,
        message_id=_header(message, "Message-ID"),
        in_reply_to=_header(message, "In-Reply-To"),
        references=_header(message, "References"),
        sender=_address(message, "From"),
        reply_to=_address(message, "Reply-To"),
        subject=_header(message, "Subject"),
        date=_header(message, "Date"),
    )


def find_pdfs(message: Message) -> list[PdfAttachment]:
    """Every leaf part whose decoded bytes are a PDF, whatever its type or disposition says."""
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        try:
            data = part.get_payload(decode=True)
        except Exception:  # a broken transfer encoding is not a PDF
            continue
        if isinstance(data, bytes) and PDF_MAGIC in data[:PDF_HEADER_WINDOW]:
            found.append(PdfAttachment(filename=_filename(part), data=data))
    return found


def decode_header_text(value: str | None) -> str | None:
    """An RFC 2047 header as text; undecodable pieces are replaced, never raised."""
    if value is None:
        return None
    try:
        parts = email.header.decode_header(value)
        text = "".join(
            chunk.decode(charset or "ascii", errors="replace") if isinstance(chunk, bytes) else chunk
            for chunk, charset in parts
        )
    except (LookupError, ValueError):
        text = value
    return " ".join(text.split()) or None


def _header(message: Message, name: str) -> str | None:
    value = message.get(name)
    if value is None:
        return None
    return decode_header_text(str(value))


def _address(message: Message, name: str) -> str | None:
    value = message.get(name)
    if value is None:
        return None
    addresses = [addr for _, addr in getaddresses([str(value)]) if "@" in addr]
    if addresses:
        return addresses[0].strip()
    _, addr = parseaddr(str(value))
    return addr.strip() if "@" in addr else None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    return decode_header_text(name) if name else None
