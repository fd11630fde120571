"""Retention: personal information is purged once the law no longer asks us to keep it.

An application is purged `retention.years_after_last_activity` years after its last activity (the
latest of: a version received, a decision, a code reissued (a decision too), a notice sent), unless
a supervisor put it on hold or it still waits for an officer (received, pending_review: it is in
use). Mail that never became an application is purged by its own age: quarantined mail after
`retention.quarantine_days`, other mail (correspondence, robots) after the same years as
applications, counted from its receipt, its closing or the last notice sent about it.

A purge deletes the raw messages and PDFs from the blob store and replaces every personal field of
the rows by PURGED (or empties it), keeping a skeleton for statistics and the audit trail: the
reference (ids), dates, states, each decision's action and officer, the account's business number
and authorization ID. One audit row records each purge with counts, never a purged value.

An approved exporter's account keeps its business number and authorization ID: the authorization is
still in force in CERS and those two identify it (the exporter's own business identifier and the
number CBSA issued), which is a continuing administrative use. Its email address and legal name are
purged with the application: a new code is then sent only after a new, approved form.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import case, func, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from core.blobs import BlobStore
from core.db import forget_old_pages, write_session
from core.enums import AppState, MessageStatus, OfficerRole
from core.errors import DecisionError
from core.models import (
    Account,
    Application,
    AuditEvent,
    Decision,
    FindingRow,
    InboundMessage,
    Notice,
    Officer,
    Submission,
    utcnow,
)
from core.settings import RetentionSettings

log = structlog.get_logger("retention")
PURGED = "[purged]"
PURGE_ACTION = "retention_purge"
# open applications wait for an officer: they are in use, whatever their age
IN_USE_STATES = (AppState.received, AppState.pending_review)
CHUNK = 500
_MESSAGE_ROW = re.compile(r"^message row (\d+)\b")


@dataclass
class PurgeReport:
    applications: int = 0
    messages: int = 0
    submissions: int = 0
    findings: int = 0
    notices: int = 0
    decisions: int = 0
    audit_events: int = 0
    accounts: int = 0
    blobs: int = 0
    blob_bytes: int = 0
    held: int = 0  # applications old enough, kept because a supervisor holds them
    dry_run: bool = False

    @property
    def purged_anything(self) -> bool:
        return bool(self.applications or self.messages)

    def counts(self) -> dict[str, Any]:
        return asdict(self)


def years_before(moment: datetime, years: int) -> datetime:
    """The same date and time `years` earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


@dataclass
class _Plan:
    applications: list[int]
    messages: list[int]
    held: int


def last_activity(session: Session) -> dict[int, datetime]:
    """Each unpurged application's last activity: a version received, a decision (reissues included), a notice sent."""
    latest: dict[int, datetime] = {}

    def see(rows: Iterable[Any]) -> None:
        for application_id, at in rows:
            if application_id is not None and at is not None and (application_id not in latest or at > latest[application_id]):
                latest[application_id] = at

    unpurged = col(Application.purged_at).is_(None)
    see(session.exec(select(Application.id, Application.received_at).where(unpurged)).all())
    see(session.exec(select(Submission.application_id, func.max(Submission.created_at)).group_by(col(Submission.application_id))).all())
    see(session.exec(select(Decision.application_id, func.max(Decision.at)).group_by(col(Decision.application_id))).all())
    see(session.exec(select(Notice.application_id, func.max(Notice.sent_at)).group_by(col(Notice.application_id))).all())
    return latest


def _plan(session: Session, settings: RetentionSettings, now: datetime) -> _Plan:
    cutoff = years_before(now, settings.years_after_last_activity)
    quarantine_cutoff = now - timedelta(days=settings.quarantine_days)
    activity = last_activity(session)
    rows = session.exec(select(Application.id, Application.state, Application.on_hold).where(col(Application.purged_at).is_(None))).all()
    chosen: set[int] = set()
    held = 0
    for application_id, state, on_hold in rows:
        assert application_id is not None
        # on PostgreSQL a worker's new application may be committed after its activity was read: it is new, kept
        last = activity.get(application_id)
        if state in IN_USE_STATES or last is None or last >= cutoff:
            continue
        if on_hold:
            held += 1
            continue
        chosen.add(application_id)
    gone = chosen | {i for i in session.exec(select(Application.id).where(col(Application.purged_at).is_not(None))).all() if i is not None}

    ties: dict[int, set[int]] = defaultdict(set)
    for message_id, application_id in session.exec(
        select(Submission.message_id, Submission.application_id).where(col(Submission.application_id).is_not(None))
    ).all():
        if application_id is not None:
            ties[message_id].add(application_id)
    sent_about: dict[int, datetime] = {}
    for inbound_id, bounce_id, application_id, sent_at in session.exec(
        select(Notice.inbound_message_id, Notice.bounce_message_id, Notice.application_id, Notice.sent_at)
    ).all():
        for about in (inbound_id, bounce_id):
            if about is None:
                continue
            if application_id is not None:
                ties[about].add(application_id)
            if sent_at is not None and (about not in sent_about or sent_at > sent_about[about]):
                sent_about[about] = sent_at

    messages: list[int] = []
    for row in session.exec(
        select(InboundMessage.id, InboundMessage.status, InboundMessage.received_at, InboundMessage.closed_at).where(
            col(InboundMessage.status) != MessageStatus.received, _unpurged_message()
        )
    ).all():
        row_id, status, received_at, closed_at = row
        assert row_id is not None
        tied = ties.get(row_id)
        if tied:
            if tied <= gone:
                messages.append(row_id)
        elif status == MessageStatus.quarantined:
            if received_at < quarantine_cutoff:
                messages.append(row_id)
        elif max(at for at in (received_at, closed_at, sent_about.get(row_id)) if at is not None) < cutoff:
            messages.append(row_id)
    return _Plan(sorted(chosen), sorted(messages), held)


def _unpurged_message() -> Any:
    """A purged message's subject is PURGED (its other personal columns are empty)."""
    subject = col(InboundMessage.subject)
    return subject.is_(None) | (subject != PURGED)


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _marker(column: Any) -> Any:
    """PURGED where the column held something, NULL where it held nothing."""
    return case((column.is_(None), None), else_=PURGED)


def purge(
    engine: Engine, settings: RetentionSettings, blobs: BlobStore, *, now: datetime | None = None, dry_run: bool = False
) -> PurgeReport:
    """Purge every application and message past retention (see the module's docstring); what was (or would be) purged.

    The blob files go inside the transaction, just before it commits: a purge that fails after
    removing them leaves rows that the next purge finds again (they are still past retention and
    need no raw copy any more). With the database store they go in the same transaction."""
    now = now or utcnow()
    with write_session(engine) as session:
        plan = _plan(session, settings, now)
        report = PurgeReport(applications=len(plan.applications), messages=len(plan.messages), held=plan.held, dry_run=dry_run)
        if dry_run:
            _count_only(session, plan, report)
            session.rollback()
            return report
        if not report.purged_anything:
            return report
        doomed = _purge_rows(session, plan, report, now)
        for digest, suffix in doomed:
            freed = blobs.delete(digest, suffix, session=session)
            if freed:
                report.blobs += 1
                report.blob_bytes += freed
        detail = ", ".join(f"{key} {value}" for key, value in report.counts().items() if key != "dry_run")
        AuditEvent.write(session, None, actor="cers-intake", action=PURGE_ACTION, detail=detail, at=now)
    _clear_old_versions(engine)
    log.info("retention purge", **report.counts())
    return report


def _count_only(session: Session, plan: _Plan, report: PurgeReport) -> None:
    apps, messages = plan.applications, plan.messages
    for ids in _chunks(apps):
        report.submissions += _count(session, Submission, col(Submission.application_id).in_(ids))
        report.decisions += _count(session, Decision, col(Decision.application_id).in_(ids))
        report.notices += _count(session, Notice, col(Notice.application_id).in_(ids))
    for ids in _chunks(messages):
        report.blobs += _count(session, InboundMessage, col(InboundMessage.id).in_(ids), col(InboundMessage.sha256).is_not(None))


def _count(session: Session, model: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _purge_rows(session: Session, plan: _Plan, report: PurgeReport, now: datetime) -> list[tuple[str, str]]:
    """Replace the personal fields of the planned rows; the blobs no longer needed, as (sha256, suffix)."""
    connection = session.connection()
    apps, messages = plan.applications, plan.messages
    message_digests: list[str] = []
    pdf_digests: set[str] = set()
    for ids in _chunks(messages):
        message_digests += [
            d for d in session.exec(select(InboundMessage.sha256).where(col(InboundMessage.id).in_(ids))).all() if d is not None
        ]
    submission_ids: list[int] = []
    for column, ids_list in ((Submission.application_id, apps), (Submission.message_id, messages)):
        for ids in _chunks(ids_list):
            for submission_id, digest in session.exec(select(Submission.id, Submission.sha256).where(col(column).in_(ids))).all():
                assert submission_id is not None
                submission_ids.append(submission_id)
                pdf_digests.add(digest)
    submission_ids = sorted(set(submission_ids))

    for ids in _chunks(apps):
        report.accounts += _update(
            connection,
            update(Account).where(col(Account.application_id).in_(ids)).values(email=PURGED, legal_name=None),
        )
        _update(
            connection,
            update(Application)
            .where(col(Application.id).in_(ids))
            .values(
                exporter_business_number=None,
                exporter_email=None,
                legal_name=None,
                legal_name_folded=None,
                provider_business_number=None,
                sender=None,
                delivery_problem=_marker(col(Application.delivery_problem)),
                related_reason=_marker(col(Application.related_reason)),
                purged_at=now,
                updated_at=now,
            ),
        )
        report.decisions += _update(
            connection, update(Decision).where(col(Decision.application_id).in_(ids)).values(reason=_marker(col(Decision.reason)))
        )
        report.audit_events += _update(
            connection, update(AuditEvent).where(col(AuditEvent.application_id).in_(ids)).values(detail=_marker(col(AuditEvent.detail)))
        )
        report.notices += _purge_notices(connection, col(Notice.application_id).in_(ids))
    for ids in _chunks(messages):
        report.notices += _purge_notices(connection, col(Notice.inbound_message_id).in_(ids), col(Notice.application_id).is_(None))
        _update(
            connection,
            update(InboundMessage)
            .where(col(InboundMessage.id).in_(ids))
            .values(
                message_id=None,
                in_reply_to=None,
                references=None,
                sender=None,
                reply_to=None,
                subject=PURGED,
                date_header=None,
                last_error=_marker(col(InboundMessage.last_error)),
                classified_by=_marker(col(InboundMessage.classified_by)),
            ),
        )
    for ids in _chunks(submission_ids):
        report.submissions += _update(
            connection,
            update(Submission)
            .where(col(Submission.id).in_(ids))
            .values(fields={}, provenance={}, filename=_marker(col(Submission.filename)), error=_marker(col(Submission.error))),
        )
        report.findings += _update(
            connection, update(FindingRow).where(col(FindingRow.submission_id).in_(ids)).values(message_en=PURGED, message_fr=PURGED)
        )
    report.audit_events += _purge_message_audit(session, set(messages))

    # a PDF sent again in a message still kept stays
    kept: set[str] = set()
    digests = sorted(pdf_digests)
    for chunk in _chunks(digests):  # type: ignore[arg-type]
        kept |= set(
            session.exec(
                select(Submission.sha256).where(col(Submission.sha256).in_(chunk), col(Submission.id).not_in(submission_ids))
            ).all()
        )
    return [(d, ".eml") for d in message_digests] + [(d, ".pdf") for d in digests if d not in kept]


def _update(connection: Any, statement: Any) -> int:
    return int(connection.execute(statement).rowcount or 0)


def _purge_notices(connection: Any, *where: Any) -> int:
    return _update(
        connection,
        update(Notice)
        .where(*where)
        .values(
            to_address=PURGED,
            subject=PURGED,
            raw=PURGED.encode(),
            raw_redacted=None,
            last_error=_marker(col(Notice.last_error)),
        ),
    )


def _purge_message_audit(session: Session, messages: set[int]) -> int:
    """Audit rows about a message (no application): their detail may quote a sender or a file name."""
    if not messages:
        return 0
    purged = 0
    rows = session.exec(
        select(AuditEvent).where(col(AuditEvent.application_id).is_(None), col(AuditEvent.detail).like("message row %"))
    ).all()
    for row in rows:
        found = _MESSAGE_ROW.match(row.detail or "")
        if found and int(found.group(1)) in messages:
            row.detail = PURGED
            session.add(row)
            purged += 1
    return purged


PURGED_TABLES = ("application", "submission", "finding", "notice", "inbound_message", "decision", "audit_event", "account", "stored_blob")


def _clear_old_versions(engine: Engine) -> None:
    """Purged values leave no old copy: SQLite's write-ahead log is checkpointed; on PostgreSQL the
    purged tables are VACUUMed so the old row versions are marked free and reused."""
    forget_old_pages(engine)
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in PURGED_TABLES:
                connection.exec_driver_sql(f"VACUUM {table}")
    except SQLAlchemyError as exc:  # busy: autovacuum does it later
        log.warning("vacuum after the purge failed", error=type(exc).__name__)


def _supervisor(session: Session, name: str) -> Officer:
    officer = session.exec(select(Officer).where(Officer.name == name)).first()
    if officer is None or not officer.active or officer.role != OfficerRole.supervisor:
        raise DecisionError(f"{name!r} is not an active supervisor: only a supervisor puts an application on hold or releases it")
    return officer


def set_hold(session: Session, application_id: int, *, supervisor: str, hold: bool, reason: str = "") -> Application:
    """Put an application on hold (no purge touches it) or release it; an audit row says who and why."""
    _supervisor(session, supervisor)
    application = session.get(Application, application_id)
    if application is None:
        raise DecisionError(f"no application {application_id}")
    if application.purged_at is not None and hold:
        raise DecisionError(f"application {application_id} was purged on {application.purged_at.date()}: there is nothing left to hold")
    if application.on_hold == hold:
        raise DecisionError(f"application {application_id} is {'already' if hold else 'not'} on hold")
    application.on_hold = hold
    session.add(application)
    AuditEvent.write(
        session, application_id, actor=supervisor, action="retention_hold" if hold else "retention_release", detail=reason.strip() or None
    )
    return application
