"""Composing a notice row: rendered, threaded and given its Message-ID before any SMTP call."""

from __future__ import annotations

import binascii
import functools
import random
import re
import sys
from email import base64mime, quoprimime
from email.message import EmailMessage
from email.policy import Compat32
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


class _NoticePolicy(Compat32):
    """compat32, writing the same bytes faster. A header whose value is one short ASCII line is copied as it is
    (email.header.Header gives the very same line); a value of one line with other characters is cut into
    encoded words by encoded_words(), in one pass, where Header measures the word again for every character
    it adds (a notice's subject cost a tenth of storing its form)."""

    def fold_binary(self, name: str, value: str) -> bytes:
        line, limit = f"{name}: {value}", self.max_line_length or 0
        if isinstance(value, str) and value.splitlines() == [value] and len(name) + 2 + WIDEST_WORD <= limit:
            if line.isascii() and len(line) <= limit:
                return f"{line}{self.linesep}".encode("ascii")
            if not line.isascii() and name.isascii() and not _SURROGATE.search(value):  # surrogates: bytes
                words = encoded_words(value, first=limit - len(name) - 2, other=limit - 1)
                return f"{name}: {(self.linesep + ' ').join(words)}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


CHROME = len("=?utf-8?q??=")  # what a word adds to its text
WIDEST_WORD = CHROME + len("=XX") * 4  # one character of four bytes
_SURROGATE = re.compile("[\ud800-\udfff]")


def encoded_words(value: str, first: int, other: int) -> list[str]:
    """value in RFC 2047 words of UTF-8, one a line, as email.header.Header writes them: each word takes as many
    whole characters as its line has room for (first characters on the first line, other on the next ones),
    and the words are Q-encoded, or base64 when that writes the whole value shorter."""
    data = value.encode()
    base64 = base64mime.header_length(data) < quoprimime.header_length(data)  # as email.charset.Charset chooses
    words: list[str] = []
    start = length_bytes = length_q = 0  # the current word: its first character, its size in bytes and in Q
    room = first - CHROME
    for index, character in enumerate(value):
        encoded = character.encode()
        size_bytes, size_q = length_bytes + len(encoded), length_q + quoprimime.header_length(encoded)
        if (-(-size_bytes // 3) * 4 if base64 else size_q) > room:  # base64: four characters for three bytes or fewer
            words.append(_word(value[start:index], base64))
            start, size_bytes, size_q, room = index, len(encoded), quoprimime.header_length(encoded), other - CHROME
        length_bytes, length_q = size_bytes, size_q
    words.append(_word(value[start:], base64))
    return words


def _word(text: str, base64: bool) -> str:
    return (base64mime if base64 else quoprimime).header_encode(text.encode(), charset="utf-8")


NOTICE_POLICY = _NoticePolicy()


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
    notice.insert(session)
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
    headers = notice_headers(smtp, kind, to, rendered.subject)
    headers |= {"Date": format_datetime(utcnow()), "Message-ID": message_id}
    if in_reply_to is not None and in_reply_to.message_id:
        headers["In-Reply-To"] = in_reply_to.message_id
        headers["References"] = f"{in_reply_to.references or ''} {in_reply_to.message_id}".strip()[-4000:]
    return bilingual_message(headers, rendered, language), rendered.subject


def notice_headers(smtp: SmtpSettings, kind: NoticeKind, to: str, subject: str) -> dict[str, str]:
    """From, To, Subject and, for an automatic notice, Auto-Submitted."""
    headers = {"From": formataddr((smtp.from_name, smtp.from_address)), "To": to, "Subject": subject}
    auto_submitted = AUTO_SUBMITTED.get(kind, "auto-replied")
    if auto_submitted:
        headers["Auto-Submitted"] = auto_submitted
    return headers


def bilingual_message(headers: dict[str, str], rendered: RenderedText, language: str) -> bytes:
    """The notice as sent: multipart/alternative, text then HTML, each UTF-8 in quoted-printable, and the
    languages in the order they come.

    Written here line by line, the very bytes email.mime writes under the compat32 policy for the same message
    (the tests hold the two side by side), in a quarter of its time: the generator's copy of every part and its
    search of the text for the boundary buy nothing here, as a quoted-printable body cannot hold the boundary
    ("=" is always written "=3D" in it). A non-ASCII value is written in RFC 2047 words, except an address with
    accents, written in UTF-8 (RFC 6532): such a notice is only ever handed to a server that offers SMTPUTF8
    (outbox/transport.py). A value with a line break is refused.
    """
    boundary = f"{'=' * 15}{random.randrange(sys.maxsize):019d}=="  # the shape email.generator gives a boundary
    # its line is always too long by the same few characters, and compat32 always folds it at the semicolon
    out = [f'Content-Type: multipart/alternative;\n boundary="{boundary}"\n'.encode("ascii"), b"MIME-Version: 1.0\n"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value:
            raise ValueError(f"the {name} header of a notice may not contain a line break")
        if name == "From":
            out.append(_folded_sender(value))
            continue
        raw_utf8 = name == "To" and not value.isascii()
        out.append(NOTICE_POLICY.fold_binary(name, value.encode().decode("ascii", "surrogateescape") if raw_utf8 else value))
    out.append(b"Content-Language: en, fr\n" if language != "fr" else b"Content-Language: fr, en\n")
    delimiter = f"\n--{boundary}\n".encode("ascii")
    for body, subtype in ((rendered.body, "plain"), (rendered.html, "html")):
        out.append(delimiter)  # the first makes the blank line that ends the headers
        out.append(f'Content-Type: text/{subtype}; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable\n\n'.encode("ascii"))
        out.append(_LINE_BREAK.sub(b"\n", binascii.b2a_qp(body.encode(), istext=True)))  # binascii's C encoder
    out.append(f"\n--{boundary}--\n".encode("ascii"))
    return b"".join(out)


_LINE_BREAK = re.compile(rb"\r\n?")  # lines end as the generator ends them


@functools.lru_cache(maxsize=4)
def _folded_sender(value: str) -> bytes:
    """The From line, the same for every notice, and long enough to need compat32's slow fold: folded once."""
    return NOTICE_POLICY.fold_binary("From", value)


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
    notice.insert(session)
    return notice
