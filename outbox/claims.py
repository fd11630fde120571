"""Notice claims: a sender takes one due notice at a time (core/claims.py), so that two senders never send the same one."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BindParameter, ColumnElement, or_, select
from sqlalchemy.engine import Engine

from core import claims
from core.enums import NoticeStatus
from core.models import Notice

_table = Notice.__table__  # type: ignore[attr-defined]


def _due(now: datetime | BindParameter[datetime]) -> tuple[ColumnElement[bool], ...]:
    """Pending, not begun, and its retry time reached."""
    c = _table.c
    return (
        c.status == NoticeStatus.pending,
        c.sending_since.is_(None),
        or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now),
    )


_CLAIM = claims.ClaimStatement(_table, _due(claims.NOW))
_CLAIM_TO_SEND = claims.ClaimStatement(
    _table,
    _due(claims.NOW),
    also_set={"last_attempt_at": claims.NOW, "sending_since": claims.NOW},
    returning=(_table.c.raw, _table.c.to_address, _table.c.message_id),
)


def claim_next(engine: Engine, holder: str, now: datetime, claim_seconds: float, skip: Collection[int] = ()) -> int | None:
    """Claim the oldest due, unclaimed pending notice not in skip; its id, or None when there is none."""
    row = _CLAIM.claim(engine, holder, now, claim_seconds, skip)
    return row.id if row else None


@dataclass(frozen=True)
class SendClaim:
    """A notice claimed to be handed to the SMTP server now: what the server is given."""

    id: int
    raw: bytes
    to_address: str
    message_id: str


def claim_to_send(engine: Engine, holder: str, now: datetime, claim_seconds: float, skip: Collection[int] = ()) -> SendClaim | None:
    """Claim the oldest due notice not in skip and mark it as being handed over (sending_since), in one statement.

    Only for a sender about to hand it to a connected server: if that sender dies now, the notice is
    left for an officer (flag_interrupted), never sent twice."""
    row = _CLAIM_TO_SEND.claim(engine, holder, now, claim_seconds, skip)
    return SendClaim(row.id, row.raw, row.to_address, row.message_id) if row else None


def any_due(engine: Engine, now: datetime, skip: Collection[int] = ()) -> bool:
    """Whether some due, unclaimed notice not in skip waits (worth a connection to the server)."""
    c = _table.c
    query = select(c.id).where(*_due(now), claims.unclaimed(_table, now), c.id.not_in(list(skip))).limit(1)
    with engine.connect() as connection:
        return connection.execute(query).first() is not None


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
