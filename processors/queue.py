"""Reading the queue: applications as plain dicts, and the backlog summary. Shared by the CLI and console."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, literal, or_, text, tuple_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.enums import AppState, MessageStatus, NoticeStatus, SubmissionStatus
from core.errors import NotFound
from core.folding import fold
from core.models import (
    Application,
    AuditEvent,
    Decision,
    FindingRow,
    InboundMessage,
    MailboxState,
    Notice,
    Submission,
)
from processors.business_days import SERVICE_LEVEL_DAYS, business_days_between
from processors.pipeline import reference
from processors.rules.business_number import normalise_bn
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
    submissions = list(session.exec(select(Submission).where(Submission.application_id == application_id).order_by(col(Submission.id))))
    findings = _findings_by_submission(session, [s.id for s in submissions if s.id])
    detail = _summary(application, findings.get(application.latest_submission_id or -1, []))
    message_ids = {s.message_id for s in submissions}
    messages = {m.id: m for m in session.exec(select(InboundMessage).where(col(InboundMessage.id).in_(message_ids)))} if message_ids else {}
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
            # the message the version came in, its kind and the signal that decided it (mail.classify)
            "message": _message_summary(messages.get(s.message_id)),
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
        {
            "actor": e.actor,
            "action": e.action,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "detail": e.detail,
            "at": e.at.isoformat(),
        }
        for e in audit
    ]
    return detail


def _message_summary(message: InboundMessage | None) -> dict[str, Any] | None:
    if message is None:
        return None
    kind = message.kind.value if message.kind else None
    return {"id": message.id, "kind": kind, "classified_by": message.classified_by, "sender": message.sender}


def status_summary(session: Session, today: date | None = None) -> dict[str, Any]:
    today = today or date.today()
    counts = dict(session.exec(select(Application.state, func.count()).group_by(Application.state)).all())
    oldest = session.exec(select(func.min(Application.received_at)).where(col(Application.state).in_(OPEN_STATES))).one()
    overdue = session.exec(select(func.count()).where(col(Application.state).in_(OPEN_STATES), col(Application.due_on) < today)).one()
    notices = dict(session.exec(select(Notice.status, func.count()).group_by(Notice.status)).all())
    quarantined = session.exec(select(func.count()).where(InboundMessage.status == MessageStatus.quarantined)).one()
    quarantined_attachments = session.exec(select(func.count()).where(Submission.status == SubmissionStatus.quarantined)).one()
    waiting = session.exec(select(func.count()).where(InboundMessage.status == MessageStatus.received)).one()
    last_poll = session.exec(select(func.max(MailboxState.last_poll_at))).one()
    last_send = session.exec(select(func.max(Notice.sent_at))).one()
    return {
        "queue": {state.value: counts.get(state, 0) for state in AppState},
        "oldest_open_age_business_days": business_days_between(oldest.date(), today) if oldest else None,
        "service_level_business_days": SERVICE_LEVEL_DAYS,
        "past_service_level": overdue,
        "outbox": {
            "pending": notices.get(NoticeStatus.pending, 0),
            "failed": notices.get(NoticeStatus.failed, 0),
            "sent": notices.get(NoticeStatus.sent, 0),
        },
        "messages_waiting": waiting,  # recorded, not processed yet: the workers' backlog
        "quarantined_messages": quarantined,
        "quarantined_attachments": quarantined_attachments,
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
        "delivery_problem": application.delivery_problem,
        "on_hold": application.on_hold,
        # its activation code never reached the exporter and was revoked: an officer reissues one
        "reissue_needed": application.reissue_needed,
        "related": (
            {"id": application.related_application_id, "reason": application.related_reason}
            if application.related_application_id is not None
            else None
        ),
        "findings": findings,
    }


def _findings_by_submission(session: Session, submission_ids: list[int]) -> dict[int, list[dict[str, str]]]:
    result: dict[int, list[dict[str, str]]] = {}
    if not submission_ids:
        return result
    rows = session.exec(select(FindingRow).where(col(FindingRow.submission_id).in_(submission_ids)).order_by(col(FindingRow.id)))
    for row in rows:
        result.setdefault(row.submission_id, []).append(
            {
                "code": row.code,
                "field": row.field,
                "item": row.item,
                "severity": row.severity,
                "message_en": row.message_en,
                "message_fr": row.message_fr,
            }
        )
    return result


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


# The console's queue: filters, search and keyset pagination over (received_at, id), oldest first.

REQUEST_KINDS = ("exporter", "association")
COUNT_LIMIT = 1_000


@dataclass(frozen=True)
class QueueFilters:
    state: AppState | None = None
    request_kind: str | None = None  # exporter | association (a provider applies for an exporter)
    language: str | None = None
    assigned_officer: str | None = None
    search: str | None = None  # a business number (prefix) or part of a legal name, ignoring case and accents
    related_to: int | None = None  # the applications related to this one (see related_condition)


@dataclass(frozen=True)
class QueuePage:
    rows: list[dict[str, Any]]
    total: int  # at most COUNT_LIMIT + 1: counting every match of a broad filter costs more than it tells
    next_cursor: str | None  # the last row's position: pass as `after` for the next page
    previous_cursor: str | None  # the first row's position: pass as `before` for the previous page


def queue_page(
    session: Session,
    filters: QueueFilters = QueueFilters(),
    *,
    after: str | None = None,
    before: str | None = None,
    page_size: int = 50,
    today: date | None = None,
) -> QueuePage:
    """One page of applications, oldest first, each with its age in business days and its service-level standing."""
    today = today or date.today()
    conditions = _filter_conditions(filters)
    if filters.search and session.get_bind().dialect.name == "postgresql":
        # A prepared statement's generic plan cannot use the trigram index for a LIKE whose pattern is a
        # parameter: it scans by received_at and folds every name. Plan this transaction's queries for their values.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    if filters.related_to is not None:
        conditions.append(related_condition(session, filters.related_to))
    position = tuple_(col(Application.received_at), col(Application.id))
    query = select(Application).where(*conditions)
    backwards = before is not None and after is None
    if after is not None:
        query = query.where(position > tuple_(*_cursor_values(after)))
    elif before is not None:
        query = query.where(position < tuple_(*_cursor_values(before)))
    if backwards:
        query = query.order_by(col(Application.received_at).desc(), col(Application.id).desc())
    else:
        query = query.order_by(col(Application.received_at), col(Application.id))
    applications = list(session.exec(query.limit(page_size + 1)))
    more = len(applications) > page_size
    applications = applications[:page_size]
    if backwards:
        applications.reverse()
    findings = _findings_by_submission(session, [a.latest_submission_id for a in applications if a.latest_submission_id])
    related = related_counts(session, applications)
    rows = [_queue_row(a, findings.get(a.latest_submission_id or -1, []), today) for a in applications]
    for row in rows:
        row["related_count"] = related.get(row["id"], 0)
    matching = select(Application.id).where(*conditions).limit(COUNT_LIMIT + 1).subquery()
    total = session.exec(select(func.count()).select_from(matching)).one()
    has_next = backwards or more
    has_previous = more if backwards else after is not None
    return QueuePage(
        rows=rows,
        total=total,
        next_cursor=_cursor(applications[-1]) if applications and has_next else None,
        previous_cursor=_cursor(applications[0]) if applications and has_previous else None,
    )


def _filter_conditions(filters: QueueFilters) -> list[Any]:
    conditions: list[Any] = []
    if filters.state is not None:
        conditions.append(Application.state == filters.state)
    if filters.request_kind == "association":
        conditions.append(col(Application.provider_business_number).is_not(None))
    elif filters.request_kind == "exporter":
        conditions.append(col(Application.provider_business_number).is_(None))
    if filters.language:
        conditions.append(Application.language == filters.language)
    if filters.assigned_officer:
        conditions.append(Application.assigned_officer == filters.assigned_officer)
    search = (filters.search or "").strip()
    if search:
        number = normalise_bn(search)
        if number[:1].isdigit():
            # a range rather than LIKE, so the business-number indexes answer it
            upper = number[:-1] + chr(ord(number[-1]) + 1)
            conditions.append(
                or_(
                    and_(col(Application.exporter_business_number) >= number, col(Application.exporter_business_number) < upper),
                    and_(col(Application.provider_business_number) >= number, col(Application.provider_business_number) < upper),
                )
            )
        else:
            pattern = f"%{_like_escaped(fold(search))}%"
            conditions.append(col(Application.legal_name_folded).like(pattern, escape="\\"))
    return conditions


# Related applications: the same exporter business number, the same sender, the same legal name, or
# linked when one was opened beside the other (application.related_application_id).


def related_condition(session: Session, application_id: int) -> Any:
    """A condition matching the applications related to this one (never itself); false when there is none."""
    application = session.get(Application, application_id)
    if application is None:
        return literal(False)
    alternatives: list[Any] = [col(Application.related_application_id) == application_id]
    if application.related_application_id is not None:
        alternatives.append(col(Application.id) == application.related_application_id)
    if application.exporter_business_number:
        alternatives.append(col(Application.exporter_business_number) == application.exporter_business_number)
    if application.sender:
        alternatives.append(col(Application.sender) == application.sender)
    if application.legal_name:
        alternatives.append(col(Application.legal_name) == application.legal_name)
    return and_(col(Application.id) != application_id, or_(*alternatives))


def related_counts(session: Session, applications: list[Application]) -> dict[int, int]:
    """For each application of a queue page, how many others share its business number or are linked to it.

    One query for the whole page, on indexed columns only (the link from a newer application to an
    older one is counted on the newer one here; both ways on the application page): the same sender or legal name (no index
    without a migration; a scan of the table at 100,000 rows) are found on the application's own page
    and by the related filter, not counted on every queue page.
    """
    if not applications:
        return {}
    bns = sorted({a.exporter_business_number for a in applications if a.exporter_business_number})
    links = sorted({a.related_application_id for a in applications if a.related_application_id is not None})
    alternatives: list[Any] = [col(Application.id).in_([])]
    if links:
        alternatives.append(col(Application.id).in_(links))
    if bns:
        alternatives.append(col(Application.exporter_business_number).in_(bns))
    columns = (
        col(Application.id),
        col(Application.exporter_business_number),
        col(Application.sender),
        col(Application.legal_name),
        col(Application.related_application_id),
    )
    query = sa_select(*columns).where(or_(*alternatives))
    others = list(session.execute(query))
    counts: dict[int, int] = {}
    for application in applications:
        counts[application.id or 0] = sum(1 for other in others if other[0] != application.id and _related(application, other))
    return counts


def _related(application: Application, other: Any) -> bool:
    other_id, bn, _sender, _name, link = other
    return bool(
        link == application.id or other_id == application.related_application_id or (bn and bn == application.exporter_business_number)
    )


def related_applications(session: Session, application_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The applications related to this one, newest first, each with why it is related."""
    application = session.get(Application, application_id)
    if application is None:
        return []
    query = (
        select(Application)
        .where(related_condition(session, application_id))
        .order_by(col(Application.received_at).desc(), col(Application.id).desc())
        .limit(limit)
    )
    result = []
    for other in session.exec(query):
        reasons = []
        if other.exporter_business_number and other.exporter_business_number == application.exporter_business_number:
            reasons.append("same_business_number")
        if other.sender and other.sender == application.sender:
            reasons.append("same_sender")
        if other.legal_name and other.legal_name == application.legal_name:
            reasons.append("same_legal_name")
        if other.id == application.related_application_id or other.related_application_id == application.id:
            reasons.append("linked")
        result.append(
            {
                "id": other.id,
                "reference": reference(other),
                "state": other.state.value,
                "legal_name": other.legal_name,
                "received_at": other.received_at.isoformat(),
                "reasons": reasons,
            }
        )
    return result


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _cursor(application: Application) -> str:
    return f"{application.received_at.replace(tzinfo=None).isoformat()}_{application.id}"


def _cursor_values(cursor: str) -> tuple[datetime, int]:
    stamp, _, number = cursor.rpartition("_")
    try:
        return datetime.fromisoformat(stamp), int(number)
    except ValueError as exc:
        raise NotFound(f"not a queue position: {cursor!r}") from exc


def _queue_row(application: Application, findings: list[dict[str, str]], today: date) -> dict[str, Any]:
    row = _summary(application, findings)
    row["request_kind"] = "association" if application.provider_business_number else "exporter"
    row["age_business_days"] = business_days_between(application.received_at.date(), today)
    row["service_level"] = service_level_standing(application, today)
    row["claim_until"] = _iso(application.claim_until)
    return row


def service_level_standing(application: Application, today: date) -> str | None:
    """overdue, due_today or on_time for an open application; None once decided."""
    if application.state not in OPEN_STATES or application.due_on is None:
        return None
    if application.due_on < today:
        return "overdue"
    return "due_today" if application.due_on == today else "on_time"
