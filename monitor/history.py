"""The backlog over time: how many applications were in each state at the end of each day, and forms received.

Past days are computed once from the audit trail's state moves (processors/states.py writes one row
per move) and kept in `backlog_snapshot`, so the history survives restarts and costs one replay of the
audit trail only when a day is missing. Today is always counted live. Days are the console's days
(console.time_zone): a form received at 21:00 in Toronto counts on that day, not on the next UTC day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.enums import AppState, DecisionAction
from core.models import Application, AuditEvent, BacklogSnapshot, Decision, Submission
from processors.business_days import SERVICE_LEVEL_DAYS, business_days_between
from processors.pipeline import reference
from processors.states import OPEN_STATES

DAYS = 30


def backlog_history(session: Session, today: date, zone: tzinfo = UTC, days: int = DAYS) -> list[dict[str, Any]]:
    """[{"day": "2026-11-01", "received": n, "states": {state: count}}] oldest first, ending today (days in zone)."""
    first = today - timedelta(days=days - 1)
    stored: dict[date, dict[str, Any]] = {}
    for row in session.exec(select(BacklogSnapshot).where(col(BacklogSnapshot.day) >= first, col(BacklogSnapshot.day) < today)):
        entry = stored.setdefault(row.day, {"states": {s.value: 0 for s in AppState}, "received": 0})
        entry["states"][row.state.value] = row.count
        entry["received"] += row.received
    missing = [first + timedelta(days=n) for n in range(days - 1) if first + timedelta(days=n) not in stored]
    if missing:
        computed = _replay(session, missing, zone)
        stored.update(computed)
        try:
            with session.begin_nested():  # two dashboards at once: the second one's rows are already there
                for day, entry in computed.items():
                    for state in AppState:
                        received = entry["received"] if state == AppState.received else 0
                        session.add(BacklogSnapshot(day=day, state=state, count=entry["states"][state.value], received=received))
        except IntegrityError:
            pass
    stored[today] = _today(session, today, zone)
    return [{"day": day.isoformat(), **stored[day]} for day in sorted(stored) if day >= first]


def _end_of(day: date, zone: tzinfo) -> datetime:
    """The first moment after the day, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def _day_of(moment: datetime, zone: tzinfo) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone).date()


def _replay(session: Session, days: list[date], zone: tzinfo) -> dict[date, dict[str, Any]]:
    """Each day's end-of-day counts from the state moves, in one pass over the audit trail."""
    last = max(days)
    end = _end_of(last, zone)
    created = list(session.exec(select(Application.id, Application.received_at).where(col(Application.received_at) < end)))
    moves = list(
        session.exec(
            select(AuditEvent.application_id, AuditEvent.to_state, AuditEvent.at)
            .where(col(AuditEvent.to_state).is_not(None), col(AuditEvent.application_id).is_not(None), col(AuditEvent.at) < end)
            .order_by(col(AuditEvent.at), col(AuditEvent.id))
        )
    )
    received = _received_per_day(session, min(days), last, zone)
    events: list[tuple[datetime, int, int, str]] = [(_naive(at), 0, app_id, AppState.received.value) for app_id, at in created if app_id]
    events += [(_naive(at), 1, app_id, state) for app_id, state, at in moves if app_id and state]
    events.sort(key=lambda e: (e[0], e[1]))
    state_of: dict[int, str] = {}
    result: dict[date, dict[str, Any]] = {}
    index = 0
    for day in sorted(days):
        limit = _naive(_end_of(day, zone))
        while index < len(events) and events[index][0] < limit:
            _, _, app_id, state = events[index]
            state_of[app_id] = state
            index += 1
        counts = {s.value: 0 for s in AppState}
        for state in state_of.values():
            counts[state] = counts.get(state, 0) + 1
        result[day] = {"states": counts, "received": received.get(day, 0)}
    return result


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _received_per_day(session: Session, first: date, last: date, zone: tzinfo) -> dict[date, int]:
    """Forms received (one per PDF read into a version) per day."""
    rows = session.exec(
        select(Submission.created_at).where(
            col(Submission.created_at) >= _end_of(first - timedelta(days=1), zone), col(Submission.created_at) < _end_of(last, zone)
        )
    )
    counts: dict[date, int] = {}
    for created in rows:
        day = _day_of(created, zone)
        counts[day] = counts.get(day, 0) + 1
    return counts


def _today(session: Session, today: date, zone: tzinfo) -> dict[str, Any]:
    counts = dict(session.exec(select(Application.state, func.count()).group_by(Application.state)).all())
    received = _received_per_day(session, today, today, zone).get(today, 0)
    return {"states": {s.value: counts.get(s, 0) for s in AppState}, "received": received}


def decided_within_service_level(session: Session, today: date, zone: tzinfo = UTC, days: int = DAYS) -> dict[str, Any]:
    """Of the applications approved or rejected in the last `days` days, how many within 5 business days of receipt."""
    since = _end_of(today - timedelta(days=days), zone)
    rows = session.exec(
        select(Decision.application_id, func.min(Decision.at), Application.received_at)
        .join(Application, col(Application.id) == col(Decision.application_id))
        .where(col(Decision.action).in_((DecisionAction.approve, DecisionAction.reject)), col(Decision.at) >= since)
        .group_by(col(Decision.application_id), col(Application.received_at))
    )
    decided = within = 0
    for _, at, received in rows:
        decided += 1
        if business_days_between(_day_of(received, zone), _day_of(at, zone)) <= SERVICE_LEVEL_DAYS:
            within += 1
    return {
        "decided": decided,
        "within": within,
        "share": round(within / decided, 3) if decided else None,
        "days": days,
        "service_level_business_days": SERVICE_LEVEL_DAYS,
    }


def oldest_open(session: Session, today: date) -> dict[str, Any] | None:
    application = session.exec(
        select(Application)
        .where(col(Application.state).in_(OPEN_STATES))
        .order_by(col(Application.received_at), col(Application.id))
        .limit(1)
    ).first()
    if application is None:
        return None
    return {
        "id": application.id,
        "reference": reference(application),
        "state": application.state.value,
        "legal_name": application.legal_name,
        "received_at": application.received_at.isoformat(),
        "age_business_days": business_days_between(application.received_at.date(), today),
    }
