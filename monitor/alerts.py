"""Alerts: an email to monitor.alert_to when a condition starts, another when it ends; never more
than one email per condition within monitor.alert_period_minutes (the state is in alert_state).

The emails go through the outbox like any notice, so an SMTP outage delays them but loses none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from core.db import session_scope
from core.enums import NoticeKind
from core.models import AlertState, utcnow
from core.settings import Settings
from monitor.status import backlog_status, open_applications
from outbox.compose import queue_internal

log = structlog.get_logger("alerts")


@dataclass(frozen=True)
class Condition:
    name: str
    firing: bool
    detail: str


def evaluate(session: Session, settings: Settings) -> list[Condition]:
    """Each alert condition, in a fixed order: stale poll, backlog, failed notices."""
    monitor = settings.monitor
    summary = backlog_status(session, settings, check_mailbox=False)
    age = summary["poll_age_seconds"]
    open_count = open_applications(summary)
    failed = summary["outbox"]["failed_recently"]
    return [
        Condition(
            "poll_stale",
            age is None or age > monitor.max_poll_age_seconds,
            f"last successful poll of the mailbox: {summary['last_poll_at'] or 'never'} (limit {monitor.max_poll_age_seconds:g} s)",
        ),
        Condition(
            "backlog", open_count > monitor.backlog_threshold, f"{open_count} open application(s) (threshold {monitor.backlog_threshold})"
        ),
        Condition(
            "notices_failed",
            failed > 0,
            f"{failed} notice(s) failed in the last {monitor.failed_notice_window_hours:g} h",
        ),
    ]


def check_alerts(engine: Engine, settings: Settings, now: datetime | None = None) -> list[str]:
    """Queue the alert and recovery emails due now; returns what was queued (e.g. "alert:backlog")."""
    if not settings.monitor.alert_to:
        return []
    try:
        with session_scope(engine) as session:
            return _check(session, settings, now or utcnow())
    except SQLAlchemyError as exc:
        log.error("alert check failed", error=type(exc).__name__)
        return []


def _check(session: Session, settings: Settings, now: datetime) -> list[str]:
    period = timedelta(minutes=settings.monitor.alert_period_minutes)
    queued: list[str] = []
    for condition in evaluate(session, settings):
        state = session.exec(select(AlertState).where(AlertState.condition == condition.name)).first()
        if state is None:
            state = AlertState(condition=condition.name)
        quiet = state.last_sent_at is None or now - state.last_sent_at >= period
        if condition.firing != state.active and quiet:
            kind = "alert" if condition.firing else "recovered"
            _email(session, settings, kind, condition)
            state.active = condition.firing
            state.since = now
            state.last_sent_at = now
            queued.append(f"{kind}:{condition.name}")
            log.warning("alert", kind=kind, condition=condition.name)
        if condition.firing:
            state.detail = condition.detail
        session.add(state)
    return queued


TITLES = {
    "poll_stale": ("the mailbox has not been polled", "la boîte aux lettres n'a pas été relevée"),
    "backlog": ("the backlog is over its threshold", "l'arriéré dépasse son seuil"),
    "notices_failed": ("notices could not be delivered", "des avis n'ont pas pu être livrés"),
}


def _email(session: Session, settings: Settings, kind: str, condition: Condition) -> None:
    en, fr = TITLES[condition.name]
    if kind == "alert":
        subject = f"[cers-intake] ALERT: {en} / ALERTE : {fr}"
        body = (
            f"{condition.detail}\n\nThis alert is sent once; another message follows when it clears.\n"
            f"Cette alerte n'est envoyée qu'une fois ; un autre message suivra à son rétablissement.\n"
        )
    else:
        subject = f"[cers-intake] RECOVERED: {en} / RÉTABLI : {fr}"
        body = "The condition has cleared. / La situation est rétablie.\n"
    body += "\nDetails / Détails : cers-intake status\n"
    queue_internal(session, settings.smtp, kind=NoticeKind.alert, to=settings.monitor.alert_to, subject=subject, body=body)
