"""One fetcher per mailbox: a lease row in the database that a daemon holds and renews."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

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
            MailboxState.mailbox == mailbox,  # type: ignore[arg-type]
            MailboxState.folder == folder,  # type: ignore[arg-type]
            or_(
                MailboxState.lease_holder.is_(None),  # type: ignore[union-attr]
                MailboxState.lease_holder == holder,  # type: ignore[arg-type]
                MailboxState.lease_until < now,  # type: ignore[arg-type,operator]
            ),
        )
        .values(lease_holder=holder, lease_until=now + timedelta(seconds=seconds))
    )
    with engine.begin() as connection:
        return connection.execute(statement).rowcount == 1


def release_lease(engine: Engine, mailbox: str, folder: str, holder: str) -> None:
    statement = (
        update(MailboxState)
        .where(MailboxState.mailbox == mailbox, MailboxState.folder == folder, MailboxState.lease_holder == holder)  # type: ignore[arg-type]
        .values(lease_holder=None, lease_until=None)
    )
    with engine.begin() as connection:
        connection.execute(statement)


def lease_holder(engine: Engine, mailbox: str, folder: str) -> tuple[str | None, object]:
    with Session(engine) as session:
        state = session.exec(select(MailboxState).where(MailboxState.mailbox == mailbox, MailboxState.folder == folder)).first()
        return (state.lease_holder, state.lease_until) if state else (None, None)
