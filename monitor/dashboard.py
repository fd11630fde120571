"""What the monitor role's dashboard page shows: the backlog status, and the rows behind it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from core.enums import NoticeStatus
from core.models import Application, Notice
from core.settings import Settings
from monitor.health import health_line, poll_health
from monitor.history import backlog_history, decided_within_service_level, oldest_open
from monitor.status import backlog_status
from processors.pipeline import reference
from processors.states import OPEN_STATES

LIST_LIMIT = 20


def dashboard_data(session: Session, settings: Settings, *, check_mailbox: bool = True, today: date | None = None) -> dict[str, Any]:
    """{"status": backlog_status(), "health": poll_health(), "health_line": health_line(), "history": backlog_history()
    (30 days), "service_level": decided_within_service_level(), "oldest_open": oldest_open(), "overdue": [...],
    "failed_notices": [...], "retrying_notices": [...], "delivery_problems": [...]}; each list oldest first, at most
    LIST_LIMIT rows. Past days of the history are written to backlog_snapshot the first time they are asked for."""
    zone = settings.console.zone
    today = today or datetime.now(zone).date()
    overdue = session.exec(
        select(Application)
        .where(col(Application.state).in_(OPEN_STATES), col(Application.due_on) < today)
        .order_by(col(Application.due_on), col(Application.id))
        .limit(LIST_LIMIT)
    )
    failed = session.exec(
        select(Notice)
        .where(Notice.status == NoticeStatus.failed)
        .order_by(col(Notice.failed_at).desc(), col(Notice.id).desc())
        .limit(LIST_LIMIT)
    )
    retrying = session.exec(
        select(Notice)
        .where(Notice.status == NoticeStatus.pending, col(Notice.attempts) > 0)
        .order_by(col(Notice.created_at))
        .limit(LIST_LIMIT)
    )
    problems = session.exec(
        select(Application).where(col(Application.delivery_problem).is_not(None)).order_by(col(Application.id)).limit(LIST_LIMIT)
    )
    status = backlog_status(session, settings, check_mailbox=check_mailbox, today=today)
    health = poll_health(session, settings)
    return {
        "status": status,
        "health": health,
        # one line for the mailbox and the outbox, agreeing with /healthz (the same poll_health())
        "health_line": health_line(health, status["mailbox"], status["outbox"]),
        "history": backlog_history(session, today, zone),
        "service_level": decided_within_service_level(session, today, zone),
        "oldest_open": oldest_open(session, today),
        "overdue": [_application(a) for a in overdue],
        "failed_notices": [_notice(n) for n in failed],
        "retrying_notices": [_notice(n) for n in retrying],
        "delivery_problems": [{**_application(a), "delivery_problem": a.delivery_problem} for a in problems],
    }


def _application(application: Application) -> dict[str, Any]:
    return {
        "id": application.id,
        "reference": reference(application),
        "state": application.state.value,
        "legal_name": application.legal_name,
        "received_at": application.received_at.isoformat(),
        "due_on": application.due_on.isoformat() if application.due_on else None,
    }


def _notice(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.id,
        "kind": notice.kind,
        "application_id": notice.application_id,
        "attempts": notice.attempts,
        "last_error": notice.last_error,
        "created_at": notice.created_at.isoformat(),
        "next_attempt_at": notice.next_attempt_at.isoformat() if notice.next_attempt_at else None,
        "failed_at": notice.failed_at.isoformat() if notice.failed_at else None,
    }
