"""Reading the queue: applications as plain dicts, and the backlog summary. Shared by the CLI and console."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.errors import NotFound
from core.models import (
    Application,
    AppState,
    AuditEvent,
    Decision,
    FindingRow,
    InboundMessage,
    MailboxState,
    MessageStatus,
    Notice,
    NoticeStatus,
    Submission,
)
from processors.business_days import SERVICE_LEVEL_DAYS, business_days_between
from processors.pipeline import reference
from processors.states import OPEN_STATES


def list_applications(session: Session, state: AppState | None = None, limit: int = 500) -> list[dict[str, Any]]:
    query = select(Application).order_by(col(Application.received_at), col(Application.id)).limit(limit)
    if state is not None:
        query = query.where(Application.state == state)
    applications = list(session.exec(query))
    findings = _findings_by_submission(session, [a.latest_submission_id for a in applications if a.latest_submission_id])
    return [_summary(app, findings.get(app.latest_submission_id or -1, [])) for app in applications]


def application_detail(session: Session, application_id: int) -> dict[str, Any]:
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound(f"no application {application_id}")
    submissions = list(
        session.exec(select(Submission).where(Submission.application_id == application_id).order_by(col(Submission.id)))
    )
    findings = _findings_by_submission(session, [s.id for s in submissions if s.id])
    detail = _summary(application, findings.get(application.latest_submission_id or -1, []))
    detail["versions"] = [
        {
            "submission_id": s.id,
            "received_at": s.created_at.isoformat(),
            "revision": s.revision,
            "method": s.method,
            "producer": s.producer,
            "fields": s.fields,
            "provenance": s.provenance,
            "findings": findings.get(s.id or -1, []),
        }
        for s in submissions
    ]
    notices = session.exec(select(Notice).where(Notice.application_id == application_id).order_by(col(Notice.id)))
    detail["notices"] = [
        {"id": n.id, "kind": n.kind, "to": n.to_address, "status": n.status.value, "message_id": n.message_id, "sent_at": _iso(n.sent_at)}
        for n in notices
    ]
    decisions = session.exec(select(Decision).where(Decision.application_id == application_id).order_by(col(Decision.id)))
    detail["decisions"] = [{"officer": d.officer, "action": d.action, "reason": d.reason, "at": d.at.isoformat()} for d in decisions]
    audit = session.exec(select(AuditEvent).where(AuditEvent.application_id == application_id).order_by(col(AuditEvent.id)))
    detail["audit"] = [
        {"actor": e.actor, "action": e.action, "from_state": e.from_state, "to_state": e.to_state, "detail": e.detail, "at": e.at.isoformat()}
        for e in audit
    ]
    return detail


def status_summary(session: Session, today: date | None = None) -> dict[str, Any]:
    today = today or date.today()
    counts = dict(session.exec(select(Application.state, func.count()).group_by(Application.state)).all())
    oldest = session.exec(
        select(func.min(Application.received_at)).where(col(Application.state).in_(OPEN_STATES))
    ).one()
    overdue = session.exec(
        select(func.count()).where(col(Application.state).in_(OPEN_STATES), col(Application.due_on) < today)
    ).one()
    notices = dict(session.exec(select(Notice.status, func.count()).group_by(Notice.status)).all())
    quarantined = session.exec(
        select(func.count()).where(InboundMessage.status == MessageStatus.quarantined)
    ).one()
    last_poll = session.exec(select(func.max(MailboxState.last_poll_at))).one()
    last_send = session.exec(select(func.max(Notice.sent_at))).one()
    return {
        "queue": {state.value: counts.get(state, 0) for state in AppState},
        "oldest_open_age_business_days": business_days_between(oldest.date(), today) if oldest else None,
        "service_level_business_days": SERVICE_LEVEL_DAYS,
        "past_service_level": overdue,
        "outbox": {"pending": notices.get(NoticeStatus.pending, 0), "failed": notices.get(NoticeStatus.failed, 0), "sent": notices.get(NoticeStatus.sent, 0)},
        "quarantined_messages": quarantined,
        "last_poll_at": _iso(last_poll),
        "last_send_at": _iso(last_send),
    }


def _summary(application: Application, findings: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "id": application.id,
        "reference": reference(application),
        "state": application.state.value,
        "exporter_business_number": application.exporter_business_number,
        "exporter_email": application.exporter_email,
        "legal_name": application.legal_name,
        "provider_business_number": application.provider_business_number,
        "language": application.language,
        "sender": application.sender,
        "received_at": application.received_at.isoformat(),
        "due_on": application.due_on.isoformat() if application.due_on else None,
        "assigned_officer": application.assigned_officer,
        "findings": findings,
    }


def _findings_by_submission(session: Session, submission_ids: list[int]) -> dict[int, list[dict[str, str]]]:
    result: dict[int, list[dict[str, str]]] = {}
    if not submission_ids:
        return result
    rows = session.exec(select(FindingRow).where(col(FindingRow.submission_id).in_(submission_ids)).order_by(col(FindingRow.id)))
    for row in rows:
        result.setdefault(row.submission_id, []).append(
            {"code": row.code, "field": row.field, "item": row.item, "severity": row.severity, "message_en": row.message_en, "message_fr": row.message_fr}
        )
    return result


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
