"""Row claims: a worker takes one due row at a time, so that two workers never work on the same one.

A claim is a holder name and an expiry on the row (columns claimed_by and claim_until), set by one
UPDATE whose WHERE picks the row: on SQLite the write lock makes it atomic; on PostgreSQL the
subquery's FOR UPDATE SKIP LOCKED lets concurrent workers pass over each other's rows. A worker
that dies leaves a claim that expires after its claim time; on the same host it is let go at
once, since the holder's process is known to be gone.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Row, Table, bindparam, or_, select, update
from sqlalchemy.engine import Connection, Engine


def new_holder() -> str:
    """A name unique to this worker: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def unclaimed(table: Table, now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    return or_(table.c.claim_until.is_(None), table.c.claim_until < now)


NOW: BindParameter[datetime] = bindparam("now")  # the time a claim is judged at, given with each claim


class ClaimStatement:
    """One kind of claim, its UPDATE built once (building it had cost as much as running it).

    due says which rows may be claimed, also_set what else the claim writes, returning which columns
    it gives back; they may use NOW and bind parameters whose values come with each claim."""

    def __init__(
        self,
        table: Table,
        due: tuple[ColumnElement[bool], ...],
        also_set: Mapping[str, Any] | None = None,
        returning: tuple[ColumnElement[Any], ...] = (),
    ) -> None:
        c = table.c
        where = (*due, unclaimed(table, NOW))
        skip = c.id.not_in(bindparam("skip", expanding=True))
        pick = select(c.id).where(*where, skip).order_by(c.id).limit(1).with_for_update(skip_locked=True).scalar_subquery()
        values = {"claimed_by": bindparam("holder"), "claim_until": bindparam("until"), **(also_set or {})}
        self.statement = update(table).where(c.id == pick, *where).values(**values).returning(c.id, *returning)

    def claim(
        self, engine: Engine, holder: str, now: datetime, claim_seconds: float, skip: Collection[int] = (), **params: Any
    ) -> Row[Any] | None:
        """Claim the lowest-id row that is due, unclaimed and not in skip: its id and the returning columns as
        they are after the claim, or None when there is none."""
        with engine.begin() as connection:
            return self.claim_on(connection, holder, now, claim_seconds, skip, **params)

    def claim_on(
        self, connection: Connection, holder: str, now: datetime, claim_seconds: float, skip: Collection[int] = (), **params: Any
    ) -> Row[Any] | None:
        """claim() in the caller's transaction on connection: the claim holds once that transaction commits."""
        until = now + timedelta(seconds=claim_seconds)
        values = {"holder": holder, "now": now, "until": until, "skip": list(skip), **params}
        return connection.execute(self.statement, values).first()


def release_dead_claims(engine: Engine, table: Table, now: datetime, *scope: ColumnElement[bool]) -> int:
    """Let go of the live claims (among rows in scope) held by workers of this host whose process has exited."""
    c = table.c
    prefix = f"{socket.gethostname()}:"
    with engine.begin() as connection:
        holders = (
            connection.execute(
                select(c.claimed_by).distinct().where(*scope, c.claimed_by.startswith(prefix, autoescape=True), c.claim_until >= now)
            )
            .scalars()
            .all()
        )
        dead = [h for h in holders if not _process_alive(h[len(prefix) :].partition(":")[0])]
        if not dead:
            return 0
        result = connection.execute(update(table).where(c.claimed_by.in_(dead)).values(claimed_by=None, claim_until=None))
    return int(result.rowcount or 0)


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
