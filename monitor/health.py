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


def health_line(poll: dict[str, Any], mailbox: dict[str, Any] | None, outbox: dict[str, Any]) -> dict[str, Any]:
    """One line for the mailbox and the outbox: "ok" only when /healthz says ok (the same poll_health())
    and nothing else is wrong: a mailbox the monitor cannot reach, notices failing or waiting to retry.

    {"status": "ok"|"warning"|"down", "healthz": poll["status"], "problems": [{"code", ...}]}.
    """
    problems: list[dict[str, Any]] = []
    if poll["status"] != "ok":
        problems.append({"code": "poll_stale", "last_poll_at": poll["last_poll_at"], "max_age_seconds": poll["max_poll_age_seconds"]})
    if mailbox is not None and not mailbox.get("reachable"):
        problems.append({"code": "mailbox_unreachable", "error": _short(mailbox.get("error"))})
    if outbox.get("failed_recently"):
        problems.append({"code": "notices_failed", "count": outbox["failed_recently"], "hours": outbox.get("failed_window_hours")})
    if outbox.get("retrying"):
        problems.append({"code": "notices_retrying", "count": outbox["retrying"]})
    status = "down" if poll["status"] != "ok" else ("warning" if problems else "ok")
    return {"status": status, "healthz": poll["status"], "problems": problems}


def _short(error: Any) -> str:
    """An IMAP error as a person reads it: b'[AUTHENTICATIONFAILED] Invalid credentials' -> [AUTHENTICATIONFAILED] Invalid credentials."""
    text = str(error or "")
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        text = text[2:-1]
    return text[:200]
