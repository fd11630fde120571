"""Sending stored notices over SMTP: one connection a batch, claims, retries, and the record of each result.

A notice is sent at most once in the normal case: a sender claims it before sending (outbox/claims.py),
writes its Message-ID to the accepted journal the moment the server accepts it (outbox/journal.py; the
fsync follows on the journal's thread), then records it as sent. Temporary failures come back after a
growing delay until the deadline (outbox/retry.py); a 5xx, or the deadline, fails the notice and flags
its application for an officer.

No live activation code stays at rest: every end of an activation notice (sent, refused, past its
deadline, interrupted) swaps in the redacted copy in the transaction that records it, then
forget_old_pages() clears the old page from SQLite's write-ahead log; a code that never reached the
exporter is revoked in that same transaction (Notice.revoke_undelivered_code).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiosmtplib
import structlog
from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from core.claims import new_holder
from core.db import forget_old_pages, session_scope
from core.enums import NoticeStatus, SendOutcome
from core.errors import PermanentSendError, SendError
from core.models import Application, AuditEvent, Notice, clip_error, utcnow
from core.settings import OutboxSettings, Settings
from outbox.claims import SendClaim, any_due, claim_next, claim_to_send, interrupted_sends, release_dead_claims
from outbox.journal import AcceptedJournal
from outbox.retry import next_attempt
from outbox.transport import (
    ConnectionLost,
    close_connection,
    hand_over,
    open_connection,
)

log = structlog.get_logger("outbox")


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    recovered: int = 0  # found in the accepted journal after a sender died: recorded, not resent

    def count(self, outcome: SendOutcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def journal_path(settings: Settings) -> Path:
    return settings.storage.path / "outbox-accepted.journal"


def send_pending(engine: Engine, settings: Settings, *, holder: str | None = None) -> SendReport:
    """Send the due pending notices (at most outbox.batch_size) over one SMTP connection."""
    return asyncio.run(_send_pending(engine, settings, holder or new_holder()))


async def _send_pending(engine: Engine, settings: Settings, holder: str) -> SendReport:
    report = SendReport()
    journal = AcceptedJournal(journal_path(settings))
    release_dead_claims(engine, utcnow())
    report.recovered = recover_accepted(engine, journal)
    report.failed += flag_interrupted(engine)
    outbox = settings.outbox
    limiter = RateLimiter(outbox.rate_per_minute)
    client: aiosmtplib.SMTP | None = None
    tried: set[int] = set()  # a notice is tried at most once a batch, however short its retry delay
    # Accepted notices are recorded as sent a few at a time, in one transaction: each acceptance is in the
    # journal first, and a sender that dies before recording them leaves them to recover_accepted().
    accepted: list[tuple[int, datetime]] = []
    try:
        for _ in range(outbox.batch_size):
            if client is None:
                if not any_due(engine, utcnow(), skip=tried):
                    break
                journal.open()
                try:
                    client = await open_connection(settings.smtp)
                except SendError as exc:
                    log.warning("smtp unavailable", error=str(exc))
                    _defer_batch(engine, settings, holder, str(exc), report, tried)
                    break
            await limiter.wait()
            # claimed and marked as being handed over in one statement, with nothing left to wait for before it is
            claimed = claim_to_send(engine, holder, utcnow(), outbox.claim_seconds, skip=tried)
            if claimed is None:
                break
            tried.add(claimed.id)
            outcome = await _send_one(client, engine, settings, journal, claimed, holder)
            report.count(outcome.name)
            if outcome.name == SendOutcome.sent:
                accepted.append((claimed.id, utcnow()))
                if len(accepted) >= RECORD_EVERY:
                    _record_sent(engine, accepted)
            if outcome.connection_lost:
                client.close()
                client = None
    finally:
        if client is not None:
            await close_connection(client)
        _record_sent(engine, accepted)
        journal.close()
        recover_accepted(engine, journal)  # empties the journal once the database has every acceptance
    return report


@dataclass(frozen=True)
class _Outcome:
    name: SendOutcome
    connection_lost: bool = False


async def _send_one(
    client: aiosmtplib.SMTP, engine: Engine, settings: Settings, journal: AcceptedJournal, claimed: SendClaim, holder: str
) -> _Outcome:
    notice_id = claimed.id
    bound = log.bind(notice_id=notice_id)
    try:
        await hand_over(client, settings.smtp, claimed.raw, claimed.to_address)
    except PermanentSendError as exc:
        _fail(engine, notice_id, str(exc))
        bound.warning("notice refused", error=str(exc))
        return _Outcome(SendOutcome.failed)
    except SendError as exc:
        name = _defer(engine, settings.outbox, notice_id, holder, str(exc))
        bound.warning("notice deferred", error=str(exc), outcome=name)
        return _Outcome(name, connection_lost=isinstance(exc, ConnectionLost))
    journal.record(claimed.message_id)
    bound.info("notice sent")
    return _Outcome(SendOutcome.sent)


RECORD_EVERY = 10  # accepted notices recorded as sent in one transaction


def _record_sent(engine: Engine, accepted: list[tuple[int, datetime]]) -> None:
    """Record the server's acceptances, and empty the list: the secret-free copies replace those with a secret."""
    if not accepted:
        return
    try:
        with session_scope(engine) as session:
            had_secret = False
            when = dict(accepted)
            for notice in session.exec(select(Notice).where(col(Notice.id).in_(list(when)))):
                assert notice.id is not None
                had_secret = had_secret or notice.raw_redacted is not None
                notice.mark_sent(when[notice.id])
                session.add(notice)
    except SQLAlchemyError as exc:
        # accepted but not recorded: the journal has them, and the next batch records them
        log.error("notices sent but not recorded yet", notices=len(accepted), error=type(exc).__name__)
        accepted.clear()
        return
    accepted.clear()
    if had_secret:
        forget_old_pages(engine)


def recover_accepted(engine: Engine, journal: AcceptedJournal) -> int:
    """Record as sent every journaled notice the database does not know was sent."""
    recovered = 0
    with journal.entries() as accepted:
        if not accepted:
            return 0
        with session_scope(engine) as session:
            # a notice another live sender holds is being recorded by that sender right now
            now = utcnow()
            rows = session.exec(
                select(Notice).where(
                    col(Notice.message_id).in_(list(accepted)),
                    # sent: recorded already; undeliverable: a bounce came back, which says more
                    col(Notice.status).notin_([NoticeStatus.sent, NoticeStatus.undeliverable]),
                    or_(col(Notice.claim_until).is_(None), col(Notice.claim_until) < now),
                )
            )
            for notice in rows:
                notice.mark_sent(accepted[notice.message_id])
                session.add(notice)
                recovered += 1
                log.warning("notice found accepted after an interruption", notice_id=notice.id)
    if recovered:
        forget_old_pages(engine)
    return recovered


INTERRUPTED = (
    "the sender stopped while handing this notice to the SMTP server, so it may or may not have been "
    "delivered; it is not sent again automatically: check with the applicant"
)


def flag_interrupted(engine: Engine) -> int:
    """Notices whose sender died mid-send fail for an officer instead of being sent a second time."""
    flagged = forgot = 0
    for notice_id in interrupted_sends(engine, utcnow()):
        with session_scope(engine) as session:
            notice = session.get(Notice, notice_id)
            if notice is None or notice.status != NoticeStatus.pending or notice.sending_since is None:
                continue
            notice.attempts += 1
            forgot += _flag_failure(session, notice, INTERRUPTED)  # a code that may have gone out is not kept, and revoked
            flagged += 1
            log.warning("notice interrupted mid-send: left for an officer", notice_id=notice_id)
    if forgot:
        forget_old_pages(engine)
    return flagged


def _defer(engine: Engine, outbox: OutboxSettings, notice_id: int, holder: str, error: str) -> SendOutcome:
    """A temporary failure: try again later, or fail when the deadline has passed. Returns the outcome."""
    with session_scope(engine) as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        if notice.status != NoticeStatus.pending or notice.claimed_by != holder:
            return SendOutcome.deferred
        now = utcnow()
        retry_at = next_attempt(notice.attempts + 1, notice.created_at, now, outbox)
        if retry_at is not None:
            notice.defer(error, now, retry_at)
            session.add(notice)
            return SendOutcome.deferred
        notice.attempts += 1
        notice.last_attempt_at = now
        days = f"{outbox.retry_deadline_days:g}"
        forgot = _flag_failure(session, notice, f"no delivery after {notice.attempts} attempt(s) in {days} day(s): {error}")
    if forgot:
        forget_old_pages(engine)
    return SendOutcome.failed


def _defer_batch(engine: Engine, settings: Settings, holder: str, error: str, report: SendReport, tried: set[int]) -> None:
    """The server cannot be reached: every due notice of this batch waits its turn to retry."""
    for _ in range(settings.outbox.batch_size):
        notice_id = claim_next(engine, holder, utcnow(), settings.outbox.claim_seconds, skip=tried)
        if notice_id is None:
            return
        tried.add(notice_id)
        report.count(_defer(engine, settings.outbox, notice_id, holder, error))


def _fail(engine: Engine, notice_id: int, reason: str) -> None:
    with session_scope(engine) as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        notice.attempts += 1
        notice.last_attempt_at = utcnow()
        forgot = _flag_failure(session, notice, reason)
    if forgot:
        forget_old_pages(engine)


def _flag_failure(session: Session, notice: Notice, reason: str) -> bool:
    """The notice failed for good: an officer sees it on the notice, on its application and in the audit trail.

    An activation code it held is forgotten and, as it never reached the exporter, revoked, in this
    same transaction. True when a secret was forgotten: the caller then calls forget_old_pages()."""
    now = utcnow()
    had_secret = notice.raw_redacted is not None
    notice.fail(reason, now)
    session.add(notice)
    problem = f"the {notice.kind} notice (#{notice.id}) could not be delivered: {reason}"
    if notice.application_id is not None:
        application = session.get(Application, notice.application_id)
        if application is not None:
            application.flag_delivery_problem(problem)
            session.add(application)
    AuditEvent.write(session, notice.application_id, actor="cers-intake", action="notice_failed", detail=clip_error(problem))
    notice.revoke_undelivered_code(session, now, problem)
    return had_secret


class RateLimiter:
    """At most per_minute messages a minute (0: no limit), evenly spaced."""

    def __init__(self, per_minute: float) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._last: float | None = None

    async def wait(self) -> None:
        if self.interval and self._last is not None:
            delay = self._last + self.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        self._last = time.monotonic()
