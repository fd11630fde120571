"""Health: is the mailbox being polled? (The daemon records each successful poll.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from core.models import MailboxState, utcnow
from core.settings import Settings


def poll_health(session: Session, settings: Settings) -> dict[str, Any]:
    """{"status": "ok"|"stale", "last_poll_at", "poll_age_seconds", "max_poll_age_seconds"}."""
    last = session.exec(select(func.max(MailboxState.last_poll_at))).one()
    age = (utcnow() - last).total_seconds() if last else None
    limit = settings.monitor.max_poll_age_seconds
    return {
        "status": "ok" if age is not None and age <= limit else "stale",
        "last_poll_at": last.isoformat() if last else None,
        "poll_age_seconds": round(age, 1) if age is not None else None,
        "max_poll_age_seconds": limit,
    }
