"""Reading a raw message: the headers we keep and every PDF inside it, found by its bytes."""

from __future__ import annotations

import binascii
import email
import email.parser
import email.policy
import re
from contextlib import suppress
from dataclasses import dataclass
from email.feedparser import BytesFeedParser
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import BinaryIO

import structlog
import tnefparse

from mail.addresses import from_addresses

log = structlog.get_logger("intake")

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
        """Where an automatic answer goes: the From address only.

        Reply-To is the sender's to choose: answering it would let anyone make the official mailbox
        write to a third party (RFC 3834 answers the originator).
        """
        return self.sender


# Fed to the parser a piece at a time: parsebytes() would hold the whole message as a str and again in a
# StringIO (four bytes a character), about eight times a large message's size at its peak.
PARSE_CHUNK_BYTES = 1 << 20
HEADER_END = re.compile(rb"\r?\n\r?\n")
HEADER_CHUNK_BYTES = 64 * 1024


def parse_message(raw: bytes | BinaryIO, headers_only: bool = False) -> ParsedMessage:
    """The message (bytes, or a file read a piece at a time) and the headers we keep; headers_only leaves
    the body unparsed (much faster for large mail)."""
    if headers_only:
        message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(header_section(raw), headersonly=True)
    else:
        parser = BytesFeedParser(policy=email.policy.compat32)
        if isinstance(raw, bytes):
            for start in range(0, len(raw), PARSE_CHUNK_BYTES):
                parser.feed(raw[start : start + PARSE_CHUNK_BYTES])
        else:
            while chunk := raw.read(PARSE_CHUNK_BYTES):
                parser.feed(chunk)
        message = parser.close()
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


def header_section(raw: bytes | BinaryIO) -> bytes:
    """The bytes up to the first empty line, that line included (all of them when there is none); a file is read
    only as far as that line."""
    if isinstance(raw, bytes):
        end = HEADER_END.search(raw)
        return raw[: end.end()] if end else raw
    data = bytearray()
    while chunk := raw.read(HEADER_CHUNK_BYTES):
        data += chunk
        # an empty line split between two reads is found from the last bytes read before
        end = HEADER_END.search(data, max(0, len(data) - len(chunk) - 3))
        if end:
            return bytes(data[: end.end()])
    return bytes(data)


TNEF_MAGIC = b"\x78\x9f\x3e\x22"


def find_pdfs(message: Message) -> list[PdfAttachment]:
    """Every leaf part whose decoded bytes are a PDF, whatever its type or disposition says.

    Forwarded messages (message/rfc822) are walked into; Outlook's winmail.dat (TNEF) is opened.
    """
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        try:
            data = decoded_payload(part)
        except Exception:  # noqa: BLE001, S112 - a broken transfer encoding is not a PDF
            continue
        if not isinstance(data, bytes):
            continue
        if data.startswith(TNEF_MAGIC):
            found.extend(pdfs_in_tnef(data))
        elif is_pdf(data) or (not data.strip() and _declared_pdf(part)):
            # an empty part declared as a PDF is an unreadable PDF attachment, not no attachment at all
            found.append(PdfAttachment(filename=_filename(part), data=data))
    return found


def decoded_payload(part: Message) -> object:
    """A leaf part's get_payload(decode=True), without the standard library's copies of a base64 body.

    For base64 it encodes the text to bytes, splits those into lines and joins them again before decoding:
    four and a half times the text's size at once (114 MiB for a 25 MiB message). binascii skips line breaks
    (and any other character outside the alphabet) itself, so the text is decoded where it lies. Where this
    succeeds the standard library gives the same bytes (its padding fixes come to the same); elsewhere it
    decides. The part's defects (bad padding) are not noted on it: nothing reads them.
    """
    text = getattr(part, "_payload", None)  # get_payload() would decode text with non-ASCII bytes by its charset
    if isinstance(text, str) and text.isascii() and str(part.get("content-transfer-encoding", "")).lower() == "base64":
        with suppress(binascii.Error):
            return binascii.a2b_base64(text)
        with suppress(binascii.Error):
            return binascii.a2b_base64(text + "==")  # the standard library's last padding fix (a copy of the text)
    return part.get_payload(decode=True)


def _declared_pdf(part: Message) -> bool:
    """Whether the part says it is a PDF: its type, or a file name ending in .pdf."""
    if part.get_content_type() in ("application/pdf", "application/x-pdf", "application/acrobat"):
        return True
    name = _filename(part) or str(part.get_param("name", "") or "")
    return name.strip().lower().endswith(".pdf")


def is_pdf(data: bytes) -> bool:
    return PDF_MAGIC in data[:PDF_HEADER_WINDOW]


def pdfs_in_tnef(data: bytes) -> list[PdfAttachment]:
    """The PDFs inside a winmail.dat; a damaged one yields what could be read."""
    try:
        attachments = tnefparse.TNEF(data).attachments
    except Exception as exc:  # noqa: BLE001 - a damaged TNEF stream is one unreadable part, not a failed message
        log.warning("winmail.dat could not be read", error=f"{type(exc).__name__}: {exc}")
        return []
    return [
        PdfAttachment(filename=_tnef_name(attachment), data=bytes(attachment.data))
        for attachment in attachments
        if isinstance(attachment.data, (bytes, bytearray)) and is_pdf(bytes(attachment.data))
    ]


def _tnef_name(attachment: tnefparse.TNEFAttachment) -> str | None:
    try:
        return attachment.long_filename() or None
    except UnicodeDecodeError:
        raw = getattr(attachment, "_name", b"") or b""
        return raw.decode("cp1252", errors="replace").strip("\x00") or None


def decode_header_text(value: str | None) -> str | None:
    """An RFC 2047 header as text; undecodable pieces are replaced, never raised."""
    if value is None:
        return None
    try:
        # make_header keeps the space between an encoded word and plain text (a plain join loses it)
        text = str(email.header.make_header(email.header.decode_header(value)))
    except (LookupError, ValueError, UnicodeDecodeError):
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
    found = from_addresses(str(value))
    if found:
        return found[0]
    addresses = [addr for _, addr in getaddresses([str(value)]) if "@" in addr]
    if addresses:
        return addresses[0].strip()
    _, addr = parseaddr(str(value))
    return addr.strip() if "@" in addr else None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - a malformed filename parameter costs the name, not the attachment
        return None
    return decode_header_text(name) if name else None
