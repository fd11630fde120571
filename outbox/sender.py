"""Sending stored notices over SMTP and recording each result."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from email.utils import parseaddr

import aiosmtplib
import structlog
from sqlalchemy.engine import Engine
from sqlmodel import select

from core.db import session_scope
from core.errors import PermanentSendError, SendError
from core.models import Notice, NoticeStatus, utcnow
from core.settings import SmtpSettings

log = structlog.get_logger("outbox")


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    deferred: int = 0


def send_pending(engine: Engine, smtp: SmtpSettings, max_attempts: int = 10) -> SendReport:
    """Send every pending notice over one SMTP connection."""
    return asyncio.run(_send_pending(engine, smtp, max_attempts))


async def _send_pending(engine: Engine, smtp: SmtpSettings, max_attempts: int) -> SendReport:
    report = SendReport()
    with session_scope(engine) as session:
        ids = list(session.exec(select(Notice.id).where(Notice.status == NoticeStatus.pending).order_by(Notice.id)))
    if not ids:
        return report
    client = _client(smtp)
    try:
        await client.connect()
        if smtp.username:
            await client.login(smtp.username, smtp.password.get_secret_value())
    except (aiosmtplib.SMTPException, OSError) as exc:
        _defer_all(engine, ids, f"cannot connect to the SMTP server at {smtp.host}:{smtp.port}: {exc}", max_attempts)
        report.deferred = len(ids)
        log.warning("smtp unavailable", error=str(exc), pending=len(ids))
        return report
    try:
        for notice_id in ids:
            outcome = await _send_one(client, engine, smtp, notice_id, max_attempts)
            setattr(report, outcome, getattr(report, outcome) + 1)
    finally:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            pass
    return report


async def _send_one(
    client: aiosmtplib.SMTP, engine: Engine, smtp: SmtpSettings, notice_id: int, max_attempts: int
) -> str:
    with session_scope(engine) as session:
        notice = session.get(Notice, notice_id)
        if notice is None or notice.status != NoticeStatus.pending:
            return "deferred"
        raw, recipient = notice.raw, notice.to_address
    try:
        await _deliver(client, smtp, raw, recipient)
    except PermanentSendError as exc:
        _record(engine, notice_id, NoticeStatus.failed, str(exc))
        log.warning("notice refused", notice_id=notice_id, error=str(exc))
        return "failed"
    except SendError as exc:
        status = _record(engine, notice_id, None, str(exc), max_attempts=max_attempts)
        log.warning("notice deferred", notice_id=notice_id, error=str(exc))
        return "failed" if status == NoticeStatus.failed else "deferred"
    _record(engine, notice_id, NoticeStatus.sent, None)
    log.info("notice sent", notice_id=notice_id)
    return "sent"


async def _deliver(client: aiosmtplib.SMTP, smtp: SmtpSettings, raw: bytes, recipient: str) -> None:
    try:
        errors, _ = await client.sendmail(smtp.from_address, [parseaddr(recipient)[1] or recipient], raw)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise PermanentSendError(f"recipient refused: {exc}") from exc
    except aiosmtplib.SMTPResponseException as exc:
        error = PermanentSendError if 500 <= exc.code < 600 else SendError
        raise error(f"{exc.code} {exc.message}") from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise SendError(str(exc)) from exc
    if errors:
        raise PermanentSendError(f"recipient refused: {errors}")


def _record(
    engine: Engine, notice_id: int, status: NoticeStatus | None, error: str | None, max_attempts: int = 10
) -> NoticeStatus:
    with session_scope(engine) as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        notice.attempts += 1
        notice.last_error = error
        if status is None:
            status = NoticeStatus.failed if notice.attempts >= max_attempts else NoticeStatus.pending
        notice.status = status
        if status == NoticeStatus.sent:
            notice.sent_at = utcnow()
            if notice.raw_redacted is not None:
                notice.raw, notice.raw_redacted = notice.raw_redacted, None
        session.add(notice)
        return status


def _defer_all(engine: Engine, ids: list[int], error: str, max_attempts: int) -> None:
    for notice_id in ids:
        _record(engine, notice_id, None, error, max_attempts=max_attempts)


def _client(smtp: SmtpSettings) -> aiosmtplib.SMTP:
    context = ssl.create_default_context()
    return aiosmtplib.SMTP(
        hostname=smtp.host,
        port=smtp.port,
        timeout=smtp.timeout,
        use_tls=smtp.security == "tls",
        start_tls=True if smtp.security == "starttls" else False,
        tls_context=context if smtp.security != "none" else None,
    )
