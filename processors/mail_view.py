"""What an officer sees of a received message: its headers, its authentication results and its text."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

from sqlmodel import Session

from core.blobs import BlobStore
from core.errors import NotFound
from core.models import InboundMessage, Submission

MAX_TEXT = 20_000


def inbound_view(blobs: BlobStore, row: InboundMessage) -> dict[str, Any]:
    """Sender, subject, date, Authentication-Results headers and the plain text of one archived message."""
    view: dict[str, Any] = {
        "id": row.id,
        "sender": row.sender,
        "reply_to": row.reply_to,
        "subject": row.subject,
        "date": row.date_header,
        "received_at": row.received_at.isoformat(),
        "kind": row.kind.value if row.kind else None,
        "authentication_results": [],
        "text": None,
        "available": False,
    }
    if not row.sha256 or not blobs.path(row.sha256, ".eml").is_file():
        return view
    message = email.message_from_bytes(blobs.get(row.sha256, ".eml"), policy=email.policy.default)
    view["available"] = True
    view["authentication_results"] = [str(value) for value in message.get_all("Authentication-Results", [])]
    view["text"] = _plain_text(message)
    return view


def _plain_text(message: Any) -> str | None:
    if not isinstance(message, EmailMessage):
        return None
    try:
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else None
    except (LookupError, ValueError, AttributeError):  # a broken or unknown charset: show nothing
        return None
    return text[:MAX_TEXT] if isinstance(text, str) else None


def version_messages(session: Session, blobs: BlobStore, submission_ids: list[int]) -> dict[int, dict[str, Any]]:
    """For each submission (a version of a form), the message it came in."""
    views: dict[int, dict[str, Any]] = {}
    for submission_id in submission_ids:
        submission = session.get(Submission, submission_id)
        row = session.get(InboundMessage, submission.message_id) if submission else None
        if row is not None:
            views[submission_id] = inbound_view(blobs, row)
    return views


def version_pdf(session: Session, blobs: BlobStore, application_id: int, submission_id: int) -> tuple[str, bytes]:
    """The stored PDF of one version of an application, with a file name for it."""
    submission = session.get(Submission, submission_id)
    if submission is None or submission.application_id != application_id or not blobs.path(submission.sha256, ".pdf").is_file():
        raise NotFound(f"no PDF for version {submission_id} of application {application_id}")
    return f"CERS-{application_id:06d}-{submission_id}.pdf", blobs.get(submission.sha256, ".pdf")
