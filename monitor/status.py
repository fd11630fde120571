"""The backlog at a glance: the queue summary, the outbox, the mailbox, alerts. Shared by the CLI,
the dashboard and the metrics."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.enums import NoticeStatus
from core.models import AlertState, Application, Notice, utcnow
from core.settings import Settings
from monitor.mailbox import mailbox_counts
from processors.queue import status_summary
from processors.states import OPEN_STATES


def backlog_status(session: Session, settings: Settings, *, check_mailbox: bool = True, today: date | None = None) -> dict[str, Any]:
    """status_summary() and more: mailbox counts (when check_mailbox), outbox retries and failures,
    the age of the last successful poll, active alerts."""
    now = utcnow()
    summary = status_summary(session, today)
    summary["outbox"].update(outbox_details(session, settings, now))
    summary["mailbox"] = mailbox_counts(settings.mailbox, settings.monitor.imap_status_timeout) if check_mailbox else None
    summary["last_successful_poll_at"] = summary["last_poll_at"]
    summary["last_successful_send_at"] = summary["last_send_at"]
    summary["poll_age_seconds"] = _age(summary["last_poll_at"], now)
    summary["delivery_problems"] = session.exec(select(func.count()).where(col(Application.delivery_problem).is_not(None))).one()
    summary["alerts"] = [
        {"condition": a.condition, "detail": a.detail, "since": _iso(a.since)}
        for a in session.exec(select(AlertState).where(col(AlertState.active)).order_by(col(AlertState.condition)))
    ]
    return summary


def outbox_details(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    pending = Notice.status == NoticeStatus.pending
    retrying = session.exec(select(func.count()).where(pending, col(Notice.attempts) > 0)).one()
    oldest = session.exec(select(func.min(Notice.created_at)).where(pending)).one()
    window = now - timedelta(hours=settings.monitor.failed_notice_window_hours)
    recent = session.exec(select(func.count()).where(Notice.status == NoticeStatus.failed, col(Notice.failed_at) >= window)).one()
    return {
        "retrying": retrying,
        "oldest_pending_at": _iso(oldest),
        "failed_recently": recent,
        "failed_window_hours": settings.monitor.failed_notice_window_hours,
    }


def open_applications(summary: dict[str, Any]) -> int:
    return sum(summary["queue"].get(state.value, 0) for state in OPEN_STATES)


def _age(iso: str | None, now: datetime) -> float | None:
    if not iso:
        return None
    return round((now - datetime.fromisoformat(iso)).total_seconds(), 1)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
