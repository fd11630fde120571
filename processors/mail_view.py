"""What an officer sees of a received message, as evidence: the From addr-spec, whose each
Authentication-Results header is (our server's or the sender's own), and its text.

Everything shown is the sender's text except the verdicts our own server wrote; anything in it shaped
like an activation code is masked (processors.codes.mask_codes). Each raw message is parsed once per
call: an application with fifty versions from one message costs one parse, not fifty.
"""

from __future__ import annotations

import email
import email.parser
import email.policy
import re
from email.message import EmailMessage, Message
from typing import Any

from sqlmodel import Session, col, select

from core.blobs import BlobStore
from core.errors import NotFound
from core.models import InboundMessage, Submission
from mail.addresses import from_addresses, without_comments
from mail.mime import decode_header_text
from processors.codes import mask_codes

MAX_TEXT = 20_000
MAX_HEADER = 2_000


def inbound_view(
    blobs: BlobStore, row: InboundMessage, *, authserv_id: str = "", cache: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Sender, subject, date, Authentication-Results headers and the plain text of one archived message.

    authserv_id is the one our mail server writes (settings mailbox.authserv_id): only headers that
    carry it are marked `ours`; empty, none is. cache, keyed by the message's SHA-256, spares a
    second parse of the same message in one call of the caller's.
    """
    view: dict[str, Any] = {
        "id": row.id,
        "sender": mask_codes(row.sender) if row.sender else None,
        "from_header": None,
        "reply_to": row.reply_to,
        "subject": mask_codes(row.subject) if row.subject else None,
        "date": row.date_header,
        "received_at": row.received_at.isoformat(),
        "kind": row.kind.value if row.kind else None,
        "classified_by": row.classified_by,  # the signal that decided the kind
        "authentication_results": [],  # each header's text, as the sender's mail carried it
        "authentication": [],  # the same, each with its authserv-id and whether our server wrote it
        "text": None,
        "available": False,
    }
    if not row.sha256:
        return view
    if cache is not None and row.sha256 in cache:
        evidence = cache[row.sha256]
    else:
        evidence = _evidence(blobs, row.sha256)
        if cache is not None:
            cache[row.sha256] = evidence
    if evidence:  # each view gets its own copy of the results: trust is marked on them
        view |= evidence | {"authentication": [dict(result) for result in evidence["authentication"]]}
    trust_authentication_results(view, authserv_id)
    return view


def _evidence(blobs: BlobStore, digest: str) -> dict[str, Any]:
    """The parts of a view that come from the raw message; empty when it is not archived."""
    if not blobs.exists(digest, ".eml"):
        return {}
    message = email.message_from_bytes(skeleton(blobs.get(digest, ".eml")), policy=email.policy.default)
    froms = _raw_headers(message, "From")
    addresses = from_addresses(froms[0]) if froms else []
    return {
        "available": True,
        "sender": mask_codes(", ".join(addresses)) if addresses else None,
        "from_header": mask_codes((decode_header_text(froms[0]) or "")[:MAX_HEADER]) if froms else None,
        "authentication_results": [mask_codes(text[:MAX_HEADER]) for text in _raw_headers(message, "Authentication-Results")],
        "authentication": [
            {"header": mask_codes(text[:MAX_HEADER]), "authserv_id": authserv_id_of(text), "ours": False}
            for text in _raw_headers(message, "Authentication-Results")
        ],
        "text": _masked(_plain_text(message)),
    }


def skeleton(raw: bytes) -> bytes:
    """The message with the body of every part that is not text emptied: its headers, structure and text.

    What a view shows (headers, the plain text) reads the same from it as from the whole message, and
    the parser skips the attachments: a message of fifty 200 KiB PDFs parses in milliseconds, not in
    a fifth of a second. Anything it cannot take apart is returned whole.
    """
    try:
        return _skeleton(raw, 0)
    except Exception:  # noqa: BLE001 - a shape this reader does not know: the parser gets the whole message
        return raw


_HEADER_END = re.compile(rb"\r?\n\r?\n")
MAX_DEPTH = 20


def _skeleton(raw: bytes, depth: int) -> bytes:
    if raw.startswith((b"\r\n", b"\n")):
        head, body = b"", raw
    else:
        end = _HEADER_END.search(raw)
        head, body = (raw[: end.end()], raw[end.end() :]) if end else (raw, b"")
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
    if headers.get_content_maintype() == "text":
        return raw
    boundary = headers.get_boundary() if headers.get_content_maintype() == "multipart" else None
    if not boundary or depth >= MAX_DEPTH:
        return head if head.endswith(b"\n") else head + b"\r\n"
    delimiter = b"--" + boundary.encode("ascii", "surrogateescape")
    lines = []  # (start, end) of each delimiter line, as the parser finds them: at a line start, then `--`, blanks, line end
    at = body.find(delimiter)
    while at != -1:
        line_end = body.find(b"\n", at)
        line_end = len(body) if line_end == -1 else line_end + 1
        rest = body[at + len(delimiter) : line_end].rstrip(b"\r\n").rstrip(b" \t")
        if (at == 0 or body[at - 1 : at] in (b"\n", b"\r")) and rest in (b"", b"--"):
            lines.append((at, line_end, rest == b"--"))
            if rest == b"--":
                break
        at = body.find(delimiter, at + len(delimiter))
    parts = []
    for (_, start, closing), following in zip(lines, [*lines[1:], (len(body), len(body), True)], strict=True):
        if closing:
            break
        part = body[start : following[0]]
        parts.append(_skeleton(part, depth + 1))
    out = [head]
    for part in parts:
        out += [delimiter, b"\r\n", part if part.endswith(b"\n") else part + b"\r\n"]
    out += [delimiter, b"--\r\n"]
    return b"".join(out)


def trust_authentication_results(view: dict[str, Any], authserv_id: str) -> dict[str, Any]:
    """Mark as `ours` the Authentication-Results our server wrote (RFC 8601 authserv-id); no other one."""
    wanted = authserv_id.strip().lower()
    for result in view.get("authentication", []):
        result["ours"] = bool(wanted) and result["authserv_id"].lower() == wanted
    return view


def authserv_id_of(header: str) -> str:
    """The authserv-id of an Authentication-Results value: its first token, before any `;` (RFC 8601)."""
    value = without_comments(header).strip()
    if value.startswith('"'):
        quoted = re.match(r'"((?:[^"\\]|\\.)*)"', value)
        return re.sub(r"\\(.)", r"\1", quoted.group(1)) if quoted else ""
    token = re.match(r"[^\s;]+", value)
    return token.group(0) if token else ""


def _raw_headers(message: Message, name: str) -> list[str]:
    """Each value of a header as written (unfolded), never decoded or rebuilt by a parser."""
    return [" ".join(str(value).split()) for key, value in message.raw_items() if key.lower() == name.lower()]


def _masked(text: str | None) -> str | None:
    return mask_codes(text) if text is not None else None


def _plain_text(message: Any) -> str | None:
    if not isinstance(message, EmailMessage):
        return None
    try:
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else None
    except (LookupError, ValueError, AttributeError):  # a broken or unknown charset: show nothing
        return None
    return text[:MAX_TEXT] if isinstance(text, str) else None


def version_messages(session: Session, blobs: BlobStore, submission_ids: list[int], *, authserv_id: str = "") -> dict[int, dict[str, Any]]:
    """For each submission (a version of a form), the message it came in; each message read once."""
    if not submission_ids:
        return {}
    submissions = session.exec(select(Submission).where(col(Submission.id).in_(submission_ids))).all()
    message_ids = {s.message_id for s in submissions}
    rows = {r.id: r for r in session.exec(select(InboundMessage).where(col(InboundMessage.id).in_(message_ids)))}
    cache: dict[str, dict[str, Any]] = {}
    by_row: dict[int, dict[str, Any]] = {}
    views: dict[int, dict[str, Any]] = {}
    for submission in submissions:
        row = rows.get(submission.message_id)
        if row is None or row.id is None or submission.id is None:
            continue
        if row.id not in by_row:
            by_row[row.id] = inbound_view(blobs, row, authserv_id=authserv_id, cache=cache)
        views[submission.id] = by_row[row.id]
    return views


def version_pdf(session: Session, blobs: BlobStore, application_id: int, submission_id: int) -> tuple[str, bytes]:
    """The stored PDF of one version of an application, with a file name for it."""
    submission = session.get(Submission, submission_id)
    if submission is None or submission.application_id != application_id or not blobs.exists(submission.sha256, ".pdf"):
        raise NotFound(f"no PDF for version {submission_id} of application {application_id}")
    return f"CERS-{application_id:06d}-{submission_id}.pdf", blobs.get(submission.sha256, ".pdf")
