"""One fetcher per mailbox: a lease row in the database that a daemon holds and renews."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.models import MailboxState, utcnow


def ensure_state_row(engine: Engine, mailbox: str, folder: str) -> None:
    with Session(engine) as session:
        if session.exec(select(MailboxState.id).where(MailboxState.mailbox == mailbox, MailboxState.folder == folder)).first():
            return
        session.add(MailboxState(mailbox=mailbox, folder=folder))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()


def acquire_lease(engine: Engine, mailbox: str, folder: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease; False when another live holder has it."""
    ensure_state_row(engine, mailbox, folder)
    now = utcnow()
    statement = (
        update(MailboxState)
        .where(
            col(MailboxState.mailbox) == mailbox,
            col(MailboxState.folder) == folder,
            or_(
                col(MailboxState.lease_holder).is_(None),
                col(MailboxState.lease_holder) == holder,
                col(MailboxState.lease_until) < now,
            ),
        )
        .values(lease_holder=holder, lease_until=now + timedelta(seconds=seconds))
    )
    with engine.begin() as connection:
        return connection.execute(statement).rowcount == 1


def release_lease(engine: Engine, mailbox: str, folder: str, holder: str) -> None:
    statement = (
        update(MailboxState)
        .where(col(MailboxState.mailbox) == mailbox, col(MailboxState.folder) == folder, col(MailboxState.lease_holder) == holder)
        .values(lease_holder=None, lease_until=None)
    )
    with engine.begin() as connection:
        connection.execute(statement)


def lease_holder(engine: Engine, mailbox: str, folder: str) -> tuple[str | None, object]:
    with Session(engine) as session:
        state = session.exec(select(MailboxState).where(MailboxState.mailbox == mailbox, MailboxState.folder == folder)).first()
        return (state.lease_holder, state.lease_until) if state else (None, None)
