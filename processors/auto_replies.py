"""Limits on automatic replies: none to robots, none where the sender asked, a daily cap per address."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from core.enums import NoticeKind
from core.models import Notice, utcnow

# Notices an officer's decision causes are answers, not automatic replies: never capped.
DECISION_KINDS = (
    NoticeKind.activation,
    NoticeKind.rejection,
    NoticeKind.officer_request,
    NoticeKind.association_confirmation,
    NoticeKind.email_replaced,
)


# built once, asked once per answer: building it had cost more than running it
REPLIES_SINCE = select(func.count()).where(
    func.lower(Notice.to_address) == bindparam("address"),
    col(Notice.created_at) >= bindparam("since"),
    col(Notice.kind).not_in(DECISION_KINDS),
)


def automatic_replies_today(session: Session, address: str) -> int:
    return session.exec(REPLIES_SINCE, params={"address": address.lower(), "since": utcnow() - timedelta(days=1)}).one()


def under_daily_limit(session: Session, address: str, limit: int) -> bool:
    return automatic_replies_today(session, address) < limit
