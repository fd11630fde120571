"""Processing recorded messages: classify, read each PDF, validate, queue, and compose the answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.blobs import BlobStore
from core.claims import new_holder
from core.db import lock_key, session_scope, write_session
from core.enums import (
    AppState,
    MessageKind,
    MessageStatus,
    NoticeKind,
    ProcessOutcome,
    Severity,
    SubmissionStatus,
)
from core.errors import FormError
from core.models import (
    Application,
    FindingRow,
    InboundMessage,
    Notice,
    Submission,
    utcnow,
)
from core.settings import Settings
from mail.classify import classify, wants_no_auto_reply
from mail.mime import ParsedMessage, PdfAttachment, find_pdfs, parse_message
from outbox.compose import queue_notice
from parsers.errors import EncryptedPdf, LimitExceeded, ParserFault
from parsers.form import Bsf831Form, NotAForm
from parsers.sandbox import Limits, parse_sandboxed
from processors import message_claims, states
from processors.auto_replies import under_daily_limit
from processors.bounces import link_bounce
from processors.business_days import due_date
from processors.findings import Finding
from processors.reading import reading_findings
from processors.rules.business_number import normalise_bn
from processors.validate import has_errors, validate

log = structlog.get_logger("processors")
ROBOTS = (MessageKind.auto_reply, MessageKind.bounce, MessageKind.list)
SYSTEM = "cers-intake"


@dataclass
class ProcessReport:
    processed: int = 0
    failed: int = 0
    quarantined: int = 0


@dataclass
class Reading:
    """What one message holds, read before any database write: its parts, its kind, and each PDF read."""

    parsed: ParsedMessage
    kind: MessageKind
    pdfs: list[tuple[PdfAttachment, str, Bsf831Form | NotAForm | FormError]]  # attachment, its blob, what it read as


def process_received(
    engine: Engine,
    settings: Settings,
    blobs: BlobStore,
    should_stop: Callable[[], bool] = lambda: False,
    holder: str | None = None,
) -> ProcessReport:
    """Claim recorded messages one at a time and process each, until none is left to claim.

    Several workers may run this side by side: each message is claimed by one of them. A message
    that fails is tried again by a later call, not by this one.
    """
    report = ProcessReport()
    holder = holder or new_holder()
    report.quarantined += message_claims.recover_abandoned(engine, settings)
    failed: list[int] = []
    while not should_stop():
        row_id = message_claims.claim_next(engine, holder, settings, skip=failed)
        if row_id is None:
            break
        outcome = _process_isolated(engine, settings, blobs, row_id, holder)
        if outcome:
            setattr(report, outcome, getattr(report, outcome) + 1)
        if outcome == ProcessOutcome.failed:
            failed.append(row_id)
    return report


def _process_isolated(engine: Engine, settings: Settings, blobs: BlobStore, row_id: int, holder: str) -> ProcessOutcome | None:
    bound = log.bind(message_row=row_id)
    try:
        with session_scope(engine) as session:
            digest = session.exec(select(InboundMessage.sha256).where(InboundMessage.id == row_id)).one()
        assert digest is not None, "a message never downloaded is never claimed"
        reading = read_message(settings, blobs, digest)  # parsing happens outside any transaction
        with write_session(engine) as session:
            row = session.get(InboundMessage, row_id)
            if row is None or row.status != MessageStatus.received or row.claimed_by != holder:
                bound.warning("claim on the message was lost before it was stored; another worker has it")
                return None
            process_message(session, settings, row, reading)
            row.mark_processed(utcnow())
            session.add(row)
        bound.info("message processed")
        return ProcessOutcome.processed
    except Exception as exc:  # noqa: BLE001 - one message's failure must never stop the others
        bound.error("message processing failed", error=f"{type(exc).__name__}: {exc}")
        return _record_failure(engine, settings, row_id, holder, f"{type(exc).__name__}: {exc}")


def _record_failure(engine: Engine, settings: Settings, row_id: int, holder: str, error: str) -> ProcessOutcome | None:
    with session_scope(engine) as session:
        row = session.get(InboundMessage, row_id)
        if row is None or row.claimed_by != holder:
            return None
        row.fail(error)
        session.add(row)
        if row.attempts < settings.processing.max_attempts:
            return ProcessOutcome.failed
        message_claims.quarantine(session, row)
        return ProcessOutcome.quarantined


def read_message(settings: Settings, blobs: BlobStore, digest: str) -> Reading:
    """Parse the archived message and read each PDF it carries (each in the parse sandbox)."""
    parsed = parse_message(blobs.get(digest, ".eml"))
    pdfs = find_pdfs(parsed.message)
    kind = classify(parsed, has_pdf=bool(pdfs))
    if kind != MessageKind.form:
        return Reading(parsed, kind, [])
    return Reading(parsed, kind, [(pdf, blobs.put(pdf.data, ".pdf"), _read(pdf.data, settings)) for pdf in pdfs])


def process_message(session: Session, settings: Settings, row: InboundMessage, reading: Reading) -> None:
    """Store what was read from the message and queue its answer, in the caller's transaction."""
    row.kind = reading.kind
    if row.kind == MessageKind.bounce:
        link_bounce(session, row, reading.parsed.message)
    if row.kind in ROBOTS:
        log.info("robot mail recorded, not answered", message_row=row.id, kind=row.kind.value)
        return
    if row.kind == MessageKind.correspondence:
        _answer(session, settings, reading.parsed, row, NoticeKind.correspondence_acknowledgment, "en", {})
        return
    for pdf, digest, result in reading.pdfs:
        _store_pdf(session, settings, row, reading.parsed, pdf, digest, result)


def _store_pdf(
    session: Session,
    settings: Settings,
    row: InboundMessage,
    parsed: ParsedMessage,
    pdf: PdfAttachment,
    digest: str,
    result: Bsf831Form | NotAForm | FormError,
) -> None:
    assert row.id is not None
    submission = Submission(message_id=row.id, sha256=digest, filename=pdf.filename)
    if isinstance(result, Bsf831Form):
        _queue_form(session, settings, row, parsed, submission, result)
        return
    context: dict = {"filename": pdf.filename}
    if isinstance(result, NotAForm):
        submission.status, submission.error = SubmissionStatus.not_a_form, result.reason
        submission.producer, submission.revision = result.producer, result.revision
        kind = NoticeKind.not_a_form
        context |= {"kind": result.kind, "form_number": result.form_number}
    elif isinstance(result, EncryptedPdf):
        submission.status, submission.error, kind = SubmissionStatus.encrypted, str(result), NoticeKind.encrypted_form
    elif isinstance(result, LimitExceeded):
        submission.status, submission.error, kind = SubmissionStatus.quarantined, str(result), NoticeKind.unreadable_form
        context |= {"reason_en": "the file is too large or too complex to be read safely.", "reason_fr": UNSAFE_FR}
        detail = f"message row {row.id}, attachment {pdf.filename or '(no name)'} sha256 {digest}: {result}"
        states.record(session, None, actor=SYSTEM, action="quarantine_attachment", detail=detail)
        log.warning("attachment quarantined", message_row=row.id, reason=str(result))
    else:
        submission.status, submission.error, kind = SubmissionStatus.unreadable, str(result), NoticeKind.unreadable_form
        context |= {"reason_en": submission.error, "reason_fr": DAMAGED_FR}
    session.add(submission)
    log.info("attachment is not a readable BSF831", message_row=row.id, status=submission.status)
    _answer(session, settings, parsed, row, kind, "en", context)


UNSAFE_FR = "le fichier est trop volumineux ou trop complexe pour être lu en toute sécurité."
DAMAGED_FR = "le fichier PDF est endommagé ou illisible."


def _read(data: bytes, settings: Settings) -> Bsf831Form | NotAForm | FormError:
    """The parsed form, NotAForm, or the typed reason the PDF could not be read (parsed in a sandbox)."""
    if len(data) > settings.processing.max_pdf_bytes:
        return LimitExceeded(f"the file is larger than {settings.processing.max_pdf_bytes} bytes")
    try:
        return parse_sandboxed(data, Limits(**settings.parsing.model_dump()))
    except FormError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - the sandbox itself failing costs this attachment only
        return ParserFault(f"the PDF could not be read ({type(exc).__name__})")


def _queue_form(
    session: Session, settings: Settings, row: InboundMessage, parsed: ParsedMessage, submission: Submission, form: Bsf831Form
) -> None:
    # A scan is not read at all, so only the finding asking for the fillable form applies.
    findings = reading_findings(form) + ([] if form.image_only else validate(form, settings.validation))
    application = _open_application(session, row, form) or _new_application(session, row)
    submission.application_id = application.id
    submission.status = SubmissionStatus.scanned if form.image_only else SubmissionStatus.parsed
    submission.revision, submission.method = form.revision, form.method
    submission.producer = form.producer
    submission.fields = dict(form.values)
    submission.provenance = dict(form.provenance)
    session.add(submission)
    session.flush()
    for found in findings:
        session.add(found.row(submission, application))
    if form.image_only:  # nothing was read: keep what the application already knows
        application.latest_submission_id = submission.id
        application.sender = application.sender or row.reply_to or row.sender
    else:
        _update_application(application, form, submission, row)
    errors = has_errors(findings)
    target = AppState.needs_info if errors else AppState.pending_review
    states.move(session, application, target, actor=SYSTEM, action="form_received", detail=f"submission {submission.id}")
    log.info(
        "form queued", message_row=row.id, application_id=application.id, state=target.value, findings=len(findings), method=form.method
    )
    context = {
        "reference": reference(application),
        "legal_name": application.legal_name,
        "due_on": application.due_on.isoformat() if application.due_on else "",
        "findings": [f for f in findings if f.severity == Severity.error],
        "filename": submission.filename,
    }
    kind = NoticeKind.scanned_form if form.image_only else NoticeKind.missing_information if errors else NoticeKind.acknowledgment
    _answer(session, settings, parsed, row, kind, application.language, context, application.id)


def _open_application(session: Session, row: InboundMessage, form: Bsf831Form) -> Application | None:
    """The open application this form continues: one our notice threads to, or the same exporter BN."""
    thread = " ".join(filter(None, [row.in_reply_to, row.references])).split()
    if thread:
        notice = session.exec(select(Notice).where(col(Notice.message_id).in_(thread), Notice.application_id.is_not(None))).first()  # type: ignore[union-attr]
        if notice is not None:
            application = session.get(Application, notice.application_id)
            if application is not None and application.state in states.OPEN_STATES:
                return application
    if form.exporter_business_number:
        bn = normalise_bn(form.exporter_business_number)
        lock_key(session, f"exporter:{bn}")  # two workers with forms of one exporter: the second sees the first's
        return session.exec(
            select(Application)
            .where(Application.exporter_business_number == bn, col(Application.state).in_(states.OPEN_STATES))
            .order_by(col(Application.id).desc())
        ).first()
    return None


def _new_application(session: Session, row: InboundMessage) -> Application:
    application = Application(received_at=row.received_at, due_on=due_date(row.received_at.date()))
    session.add(application)
    session.flush()
    states.record(session, application.id, actor=SYSTEM, action="application_created", detail=f"message row {row.id}")
    return application


def _update_application(application: Application, form: Bsf831Form, submission: Submission, row: InboundMessage) -> None:
    bn = form.exporter_business_number
    provider = form.get("provider.business_number") if form.names_provider else None
    application.exporter_business_number = normalise_bn(bn) if bn else None
    application.exporter_email = form.exporter_email
    application.legal_name = form.get("exporter.legal_name")
    application.provider_business_number = normalise_bn(provider) if provider else None
    application.language = form.language if form.language in ("en", "fr") else "en"
    application.sender = row.reply_to or row.sender
    application.latest_submission_id = submission.id


def _answer(
    session: Session,
    settings: Settings,
    parsed: ParsedMessage,
    row: InboundMessage,
    kind: NoticeKind,
    language: str,
    context: dict,
    application_id: int | None = None,
) -> None:
    to = parsed.reply_address
    if not to:
        log.warning("no address to answer", message_row=row.id, kind=kind)
        return
    if wants_no_auto_reply(parsed):
        states.record(
            session, application_id, actor=SYSTEM, action="reply_suppressed", detail=f"{kind}: the sender asked for no automatic reply"
        )
        return
    if not under_daily_limit(session, to, settings.processing.max_auto_replies_per_day):
        log.warning("daily automatic reply limit reached", message_row=row.id, kind=kind)
        states.record(session, application_id, actor=SYSTEM, action="reply_limited", detail=f"{kind}: daily limit for this address reached")
        return
    queue_notice(
        session, settings.smtp, kind=kind, to=to, language=language, context=context, application_id=application_id, in_reply_to=row
    )


def reference(application: Application) -> str:
    return f"CERS-{application.id:06d}"


def findings_of(session: Session, application: Application) -> list[Finding]:
    rows = session.exec(select(FindingRow).where(FindingRow.submission_id == application.latest_submission_id))
    return [Finding(**{k: getattr(r, k) for k in Finding.__dataclass_fields__}) for r in rows]
