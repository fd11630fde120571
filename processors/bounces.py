"""A bounce of one of our notices: the notice is marked undeliverable and its application flagged."""

from __future__ import annotations

from email.message import Message

import structlog
from sqlmodel import Session, col, select

from core.models import Application, InboundMessage, Notice
from mail.bounces import bounced_message_ids, diagnostic
from processors import states

log = structlog.get_logger("processors")


def link_bounce(session: Session, row: InboundMessage, message: Message) -> Notice | None:
    """Mark the notice this bounce returns as undeliverable; None when it returns none of ours."""
    ids = bounced_message_ids(message)
    if not ids:
        return None
    notice = session.exec(select(Notice).where(col(Notice.message_id).in_(ids))).first()
    if notice is None:
        return None
    reason = diagnostic(message)
    if notice.application_id is not None:
        application = session.get(Application, notice.application_id)
        if application is not None:
            application.flag_delivery_problem(f"{notice.kind} notice to {notice.to_address} bounced: {reason}")
            session.add(application)
    # after the flag above: a revoked activation code's own problem text is the one kept
    notice.mark_bounced(reason, row.id, session)
    session.add(notice)
    if notice.application_id is not None:
        states.record(session, notice.application_id, actor="cers-intake", action="notice_bounced", detail=f"notice {notice.id}: {reason}")
    log.info("bounce linked to notice", notice_id=notice.id, application_id=notice.application_id)
    return notice
