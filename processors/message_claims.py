"""Message claims: which worker processes which recorded message (core/claims.py does the claiming).

Claiming a message counts an attempt, so a message whose processing stops its worker every time
(killed, out of memory) is quarantined after processing.max_attempts, like one that fails.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import structlog
from sqlalchemy import ColumnElement, bindparam
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import claims
from core.db import session_scope
from core.enums import MessageStatus
from core.models import InboundMessage, utcnow
from core.settings import Settings
from processors import states

log = structlog.get_logger("processors")

_table = InboundMessage.__table__  # type: ignore[attr-defined]


def _waiting() -> ColumnElement[bool]:
    return _table.c.status == MessageStatus.received


@dataclass(frozen=True)
class MessageClaim:
    """A claimed message: its row, its archived copy's digest and size, and the attempt this claim is."""

    row_id: int
    digest: str
    size: int
    attempts: int


_CLAIM = claims.ClaimStatement(
    _table,
    (_waiting(), _table.c.sha256.is_not(None), _table.c.attempts < bindparam("max_attempts")),
    also_set={"attempts": _table.c.attempts + 1},
    returning=(_table.c.sha256, _table.c.size, _table.c.attempts),
)


def claim_next(
    engine: Engine, holder: str, settings: Settings, skip: Collection[int] = (), within: Session | None = None
) -> MessageClaim | None:
    """Claim the oldest recorded message left to process (downloaded, attempts left, no live claim): in a
    transaction of its own, or in within's, where it holds once that transaction commits."""
    processing = settings.processing
    args = (holder, utcnow(), processing.claim_seconds, skip)
    if within is None:
        row = _CLAIM.claim(engine, *args, max_attempts=processing.max_attempts)
    else:
        row = _CLAIM.claim_on(within.connection(), *args, max_attempts=processing.max_attempts)
    return MessageClaim(row.id, row.sha256, row.size, row.attempts) if row else None


def recover_abandoned(engine: Engine, settings: Settings) -> int:
    """Free the claims of this host's dead workers; quarantine messages that used every attempt that way."""
    now = utcnow()
    claims.release_dead_claims(engine, _table, now, _waiting())
    c = _table.c
    with session_scope(engine) as session:
        rows = session.exec(
            select(InboundMessage).where(_waiting(), c.attempts >= settings.processing.max_attempts, claims.unclaimed(_table, now))
        ).all()
        for row in rows:
            row.fail(f"processing stopped {row.attempts} times without finishing; last error: {row.last_error or 'none'}")
            quarantine(session, row)
    return len(rows)


def quarantine(session: Session, row: InboundMessage) -> None:
    """Set the message aside for an officer (the fetcher moves it to the quarantine folder)."""
    row.quarantine()
    session.add(row)
    states.record(session, None, actor="cers-intake", action="quarantine_message", detail=f"message row {row.id}: {row.last_error}")
    log.warning("message quarantined", message_row=row.id, attempts=row.attempts)
