"""Notice claims: a sender takes one due notice at a time (core/claims.py), so that two senders never send the same one."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.engine import Engine

from core import claims
from core.enums import NoticeStatus
from core.models import Notice

_table = Notice.__table__  # type: ignore[attr-defined]


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Pending, not begun, and its retry time reached."""
    c = _table.c
    return (
        c.status == NoticeStatus.pending,
        c.sending_since.is_(None),
        or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now),
    )


def claim_next(engine: Engine, holder: str, now: datetime, claim_seconds: float, skip: Collection[int] = ()) -> int | None:
    """Claim the oldest due, unclaimed pending notice not in skip; its id, or None when there is none."""
    row = claims.claim_next(engine, _table, _due(now), holder, now, claim_seconds, skip)
    return row.id if row else None


def release_dead_claims(engine: Engine, now: datetime) -> int:
    """Let go of the claims on pending notices held by senders of this host whose process has exited."""
    return claims.release_dead_claims(engine, _table, now, _table.c.status == NoticeStatus.pending)


def interrupted_sends(engine: Engine, now: datetime) -> list[int]:
    """Notices a sender began handing to the SMTP server and never finished (it died): no live claim left."""
    c = _table.c
    with engine.begin() as connection:
        return list(
            connection.execute(
                select(c.id).where(c.status == NoticeStatus.pending, c.sending_since.is_not(None), claims.unclaimed(_table, now))
            ).scalars()
        )
