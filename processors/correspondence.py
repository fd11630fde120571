"""Correspondence: messages a person sent without a form. An officer replies to them and closes them."""

from __future__ import annotations

from typing import Any

import structlog
from sqlmodel import Session, col, select

from core.blobs import BlobStore
from core.enums import MessageKind, NoticeKind
from core.errors import DecisionError, NotFound
from core.models import InboundMessage, Notice, utcnow
from core.settings import Settings
from outbox.compose import queue_notice
from processors import states
from processors.decisions import bilingual_text
from processors.mail_view import inbound_view

log = structlog.get_logger("correspondence")


def list_correspondence(session: Session, *, include_closed: bool = False, limit: int = 200) -> list[dict[str, Any]]:
    """Correspondence items, oldest first; closed ones only when asked for."""
    query = select(InboundMessage).where(InboundMessage.kind == MessageKind.correspondence)
    if not include_closed:
        query = query.where(col(InboundMessage.closed_at).is_(None))
    rows = list(session.exec(query.order_by(col(InboundMessage.received_at), col(InboundMessage.id)).limit(limit)))
    replies = _replies_by_message(session, [r.id for r in rows if r.id])
    return [_item(row, replies.get(row.id or -1, [])) for row in rows]


def correspondence_detail(session: Session, blobs: BlobStore, item_id: int) -> dict[str, Any]:
    row = _correspondence(session, item_id)
    detail = _item(row, _replies_by_message(session, [item_id]).get(item_id, []))
    detail["message"] = inbound_view(blobs, row)
    return detail


def reply(session: Session, settings: Settings, item_id: int, *, officer: str, message: str, message_fr: str = "") -> Notice:
    """Queue an officer's answer to the sender in both languages (theirs first), threaded to their message."""
    row = _correspondence(session, item_id)
    if not officer.strip():
        raise DecisionError("an officer name is required")
    en, fr = bilingual_text(message, message_fr, "a message")
    to = row.reply_to or row.sender
    if not to:
        raise DecisionError(f"correspondence {item_id} has no address to answer")
    notice = queue_notice(
        session,
        settings.smtp,
        kind=NoticeKind.correspondence_reply,
        to=to,
        language=row.language or "en",
        context={"message_en": en, "message_fr": fr, "subject": row.subject or ""},
        notices=settings.notices,
        in_reply_to=row,
    )
    states.record(session, None, actor=officer, action="correspondence_reply", detail=f"message row {item_id}, notice {notice.id}")
    log.info("correspondence answered", message_row=item_id, officer=officer)
    return notice


def close(session: Session, item_id: int, *, officer: str) -> None:
    row = _correspondence(session, item_id)
    if row.closed_at is not None:
        raise DecisionError(f"correspondence {item_id} is already closed")
    row.closed_at, row.closed_by = utcnow(), officer
    session.add(row)
    states.record(session, None, actor=officer, action="correspondence_close", detail=f"message row {item_id}")
    log.info("correspondence closed", message_row=item_id, officer=officer)


def _correspondence(session: Session, item_id: int) -> InboundMessage:
    row = session.get(InboundMessage, item_id)
    if row is None or row.kind != MessageKind.correspondence:
        raise NotFound(f"no correspondence {item_id}")
    return row


def _replies_by_message(session: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    result: dict[int, list[dict[str, Any]]] = {}
    if not ids:
        return result
    notices = session.exec(
        select(Notice).where(col(Notice.inbound_message_id).in_(ids), Notice.kind == "correspondence_reply").order_by(col(Notice.id))
    )
    for notice in notices:
        result.setdefault(notice.inbound_message_id or -1, []).append(
            {
                "id": notice.id,
                "to": notice.to_address,
                "status": notice.status.value,
                "created_at": notice.created_at.isoformat(),
                "sent_at": notice.sent_at.isoformat() if notice.sent_at else None,
            }
        )
    return result


def _item(row: InboundMessage, replies: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "sender": row.sender,
        "subject": row.subject,
        "date": row.date_header,
        "received_at": row.received_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
        "closed_by": row.closed_by,
        "replies": replies,
    }
