"""Claims: a sender takes one due notice at a time, so that two senders never send the same one.

A claim is a holder name and an expiry on the row, set by one UPDATE whose WHERE picks the row:
on SQLite the write lock makes it atomic; on PostgreSQL the subquery's FOR UPDATE SKIP LOCKED
lets concurrent senders pass over each other's rows. A sender that dies leaves a claim that
expires after outbox.claim_seconds; on the same host it is let go at once, since the holder's
process is known to be gone.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.engine import Engine

from core.models import Notice, NoticeStatus

_table = Notice.__table__  # type: ignore[attr-defined]


def new_holder() -> str:
    """A name unique to this sender: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Pending, its retry time reached, and no live claim on it."""
    c = _table.c
    return (
        c.status == NoticeStatus.pending,
        c.sending_since.is_(None),
        or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now),
        or_(c.claim_until.is_(None), c.claim_until < now),
    )


def claim_next(
    engine: Engine, holder: str, now: datetime, claim_seconds: float, skip: Collection[int] = ()
) -> int | None:
    """Claim the oldest due, unclaimed pending notice not in skip; its id, or None when there is none."""
    c = _table.c
    pick = (
        select(c.id)
        .where(*_due(now), c.id.not_in(list(skip)))
        .order_by(c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = (
        update(_table)
        .where(c.id == pick, *_due(now))
        .values(claimed_by=holder, claim_until=now + timedelta(seconds=claim_seconds))
        .returning(c.id)
    )
    with engine.begin() as connection:
        row = connection.execute(statement).first()
    return row[0] if row else None


def release_dead_claims(engine: Engine, now: datetime) -> int:
    """Let go of the live claims held by senders of this host whose process has exited."""
    c = _table.c
    prefix = f"{socket.gethostname()}:"
    with engine.begin() as connection:
        holders = connection.execute(
            select(c.claimed_by).distinct().where(c.claimed_by.startswith(prefix, autoescape=True), c.claim_until >= now)
        ).scalars().all()
        dead = [h for h in holders if not _process_alive(h[len(prefix):].partition(":")[0])]
        if not dead:
            return 0
        result = connection.execute(
            update(_table).where(c.claimed_by.in_(dead)).values(claimed_by=None, claim_until=None)
        )
    return int(result.rowcount or 0)


def interrupted_sends(engine: Engine, now: datetime) -> list[int]:
    """Notices a sender began handing to the SMTP server and never finished (it died): no live claim left."""
    c = _table.c
    with engine.begin() as connection:
        return list(
            connection.execute(
                select(c.id).where(
                    c.status == NoticeStatus.pending,
                    c.sending_since.is_not(None),
                    or_(c.claim_until.is_(None), c.claim_until < now),
                )
            ).scalars()
        )


def _process_alive(pid_text: str) -> bool:
    try:
        pid = int(pid_text)
    except ValueError:
        return True  # not ours to judge: leave it to the expiry
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
