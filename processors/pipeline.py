"""Processing recorded messages: classify, read each PDF, validate, queue, and compose the answer."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, partial

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.blobs import BlobStore
from core.claims import new_holder
from core.db import session_scope, write_session
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
    Submission,
    utcnow,
)
from core.settings import Settings
from mail.classify import classify_message, no_reply_reason
from mail.language import message_language
from mail.mime import ParsedMessage, PdfAttachment, find_pdfs, parse_message
from outbox.compose import queue_notice
from parsers.errors import DamagedPdf, EncryptedPdf, LimitExceeded, ParserFault
from parsers.form import Bsf831Form, NotAForm
from parsers.sandbox import Limits, parse_sandboxed
from processors import continuity, message_claims, states
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
RELATED_REASON = "same business number, different sender"


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
    classified_by: str = ""  # the signal that decided the kind (mail.classify.Verdict.signal)

    @cached_property
    def language(self) -> str | None:
        """What the message's own words are written in (mail.language). Only an answer that is not about a form
        read as a BSF831 is written in it, so it is worked out when such an answer is, and kept on the row then."""
        return message_language(self.parsed.message, self.parsed.subject)


# A message this small is read while the ones before it are stored; a larger one only once nothing else is
# held, so that two large messages are never in memory at once.
READ_AHEAD_MAX_BYTES = 2 * 1024 * 1024
# Messages read while one is stored: each has its PDFs read by a sandbox helper of its own (parsers.sandbox.HELPERS),
# so that reading forms keeps pace with storing them. Reading one takes about as long as storing two (the form's
# archive is fsynced after it is read, and the helpers share the cores with this process): with two read ahead,
# the main process still waited for forms.
READ_AHEAD = 3


def process_received(
    engine: Engine,
    settings: Settings,
    blobs: BlobStore,
    should_stop: Callable[[], bool] = lambda: False,
    holder: str | None = None,
) -> ProcessReport:
    """Claim recorded messages one at a time and process each, until none is left to claim.

    Several workers may run this side by side: each message is claimed by one of them. A message
    that fails is tried again by a later call, not by this one. The next READ_AHEAD messages are claimed
    and parsed before this one is stored, and their PDFs handed to the sandbox from threads: the
    sandbox's processes read them while this one writes to the database.
    """
    report = ProcessReport()
    holder = holder or new_holder()
    report.quarantined += message_claims.recover_abandoned(engine, settings)
    failed: list[int] = []
    # the claim a turn starts with, when it was made in the transaction that stored the message before
    committed: list[message_claims.MessageClaim | None] = []

    def claim() -> message_claims.MessageClaim | None:
        if committed:
            return committed.pop()
        return None if should_stop() else message_claims.claim_next(engine, holder, settings, skip=failed)

    with ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="read-ahead") as reader:

        def read(claimed: message_claims.MessageClaim | None) -> _Claimed | None:
            if claimed is None:
                return None
            row_id, digest = claimed.row_id, claimed.digest
            # Read ahead, several messages are in flight, and a worker killed by one costs each an attempt: a message
            # tried before (the claim counted this attempt) may be the one that kills, so it is alone in flight.
            if claimed.size > READ_AHEAD_MAX_BYTES or claimed.attempts > 1:
                return _Claimed(row_id, lambda: read_message(settings, blobs, digest)(), ahead=False)
            try:
                reading = read_message(settings, blobs, digest, reader)
            except Exception as exc:  # noqa: BLE001 - a message that cannot be read fails where it is processed
                reading = partial(_raise, exc)
            return _Claimed(row_id, reading, ahead=True)

        upcoming: deque[_Claimed] = deque()
        current = read(claim())
        while current is not None:
            while _claims_after(current, upcoming):
                claimed = read(claim())
                if claimed is None:
                    break
                upcoming.append(claimed)
            # The next turn starts with a claim (as the next one is popped, or when none is left): it is made in this
            # message's transaction, one commit for both, and used only once that transaction has committed.
            then_claim = not should_stop() and (not upcoming or _claims_after(upcoming[0], list(upcoming)[1:]))
            outcome, following = _process_isolated(engine, settings, current, holder, then_claim, failed)
            if outcome:
                setattr(report, outcome, getattr(report, outcome) + 1)
            if outcome == ProcessOutcome.failed:
                failed.append(current.row_id)
            committed.extend(following)
            current = upcoming.popleft() if upcoming else read(claim())
    return report


def _claims_after(current: _Claimed, upcoming: Sequence[_Claimed]) -> bool:
    """Whether another message is claimed while current is stored: up to READ_AHEAD, and nothing beside a large
    or retried message, nor after one (it is read alone, when its turn comes)."""
    return current.ahead and len(upcoming) < READ_AHEAD and (not upcoming or upcoming[-1].ahead)


def _raise(exc: Exception) -> Reading:
    raise exc


@dataclass(frozen=True)
class _Claimed:
    """A message claimed for processing, and how to get what it holds: being read ahead, or read when asked."""

    row_id: int
    reading: Callable[[], Reading]
    ahead: bool


def _process_isolated(
    engine: Engine, settings: Settings, claimed: _Claimed, holder: str, then_claim: bool = False, skip: Collection[int] = ()
) -> tuple[ProcessOutcome | None, list[message_claims.MessageClaim | None]]:
    """Store the message; with then_claim, also claim the next one in the same transaction. The outcome, and the
    claim made (None: none was left), listed only when the transaction that made it committed."""
    row_id = claimed.row_id
    bound = log.bind(message_row=row_id)
    try:
        read = claimed.reading()  # read outside any transaction
        # unsynced: its notices are handed over after a synced claim, its mail moved after sync_log (core/db.py)
        with write_session(engine, synced=False) as session:
            row = session.get(InboundMessage, row_id)
            if row is None or row.status != MessageStatus.received or row.claimed_by != holder:
                bound.warning("claim on the message was lost before it was stored; another worker has it")
                return None, []
            # marked before the work, so the row's changes go in one UPDATE: the transaction is all or nothing
            row.mark_processed(utcnow())
            session.add(row)
            process_message(session, settings, row, read)
            following = [message_claims.claim_next(engine, holder, settings, skip, within=session)] if then_claim else []
        bound.info("message processed")
        return ProcessOutcome.processed, following
    except Exception as exc:  # noqa: BLE001 - one message's failure must never stop the others
        bound.error("message processing failed", error=f"{type(exc).__name__}: {exc}")
        return _record_failure(engine, settings, row_id, holder, f"{type(exc).__name__}: {exc}"), []


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


def read_message(settings: Settings, blobs: BlobStore, digest: str, reader: Executor | None = None) -> Callable[[], Reading]:
    """Parse the archived message and start reading, then archiving, each PDF it carries (on reader's thread
    when given, which waits for the sandbox's process and the fsync while this one goes on); the call
    returned waits for the PDFs and gives the Reading."""
    with blobs.open(digest, ".eml") as stream:
        parsed = parse_message(stream)
    pdfs = find_pdfs(parsed.message)
    verdict = classify_message(parsed, has_pdf=bool(pdfs))
    if not pdfs or verdict.structural:  # a report's PDFs belong to the message it returns: never read
        unread = Reading(parsed, verdict.kind, [], verdict.signal)
        return lambda: unread
    # bounded work per message: only the first max_pdfs_per_message are read (process_message tells the sender)
    chosen = pdfs[: settings.processing.max_pdfs_per_message]
    is_form = verdict.kind == MessageKind.form
    pending = reader.submit(_read_and_keep, chosen, settings, blobs, is_form) if reader is not None else None

    def finish() -> Reading:
        results = pending.result() if pending is not None else _read_and_keep(chosen, settings, blobs, is_form)
        kind, signal = verdict.kind, verdict.signal
        if kind != MessageKind.form:
            if not results:
                return Reading(parsed, kind, [], f"{signal}; its PDFs hold no BSF831")
            # a BSF831 is processed whatever the headers say; its answers obey the same signal (_answer)
            kind, signal = MessageKind.form, f"a BSF831 attached; answers withheld: {signal}"
        return Reading(parsed, kind, results, signal)

    return finish


def _read_and_keep(
    pdfs: list[PdfAttachment], settings: Settings, blobs: BlobStore, form: bool
) -> list[tuple[PdfAttachment, str, Bsf831Form | NotAForm | FormError]]:
    """Each PDF read and archived, when the message is a form or one of them is a BSF831; none otherwise.

    Run on the reader's thread: the archive's fsync overlaps the database work of the message before."""
    results = [_read(pdf.data, settings) for pdf in pdfs]
    if not form and not any(isinstance(result, Bsf831Form) for result in results):
        return []
    return [(pdf, blobs.put(pdf.data, ".pdf"), result) for pdf, result in zip(pdfs, results, strict=True)]


def process_message(session: Session, settings: Settings, row: InboundMessage, reading: Reading) -> None:
    """Store what was read from the message and queue its answer, in the caller's transaction."""
    row.kind, row.classified_by = reading.kind, reading.classified_by or None
    log.info("message classified", message_row=row.id, kind=row.kind.value, classified_by=row.classified_by)
    if row.kind == MessageKind.bounce:
        link_bounce(session, row, reading.parsed.message)
    if row.kind in ROBOTS:
        log.info("robot mail recorded, not answered", message_row=row.id, kind=row.kind.value)
        return
    if row.kind == MessageKind.correspondence:
        # an officer's reply is written in it too (processors.correspondence)
        _answer(session, settings, reading.parsed, row, NoticeKind.correspondence_acknowledgment, _in_its_words(row, reading), {})
        return
    limit = settings.processing.max_pdfs_per_message
    # read_message read at most `limit`: only a message at the limit may have had more (walked again only then)
    total = len(find_pdfs(reading.parsed.message)) if len(reading.pdfs) >= limit else len(reading.pdfs)
    if total > len(reading.pdfs):
        read, unread = len(reading.pdfs), total - len(reading.pdfs)
        detail = f"message row {row.id}: {total} PDFs; the first {read} read, {unread} not read (processing.max_pdfs_per_message)"
        states.record(session, None, actor=SYSTEM, action="pdfs_not_read", detail=detail)
        log.warning("PDFs over the per-message limit not read", message_row=row.id, pdfs=total, read=read)
        forms = [result for _, _, result in reading.pdfs if isinstance(result, Bsf831Form)]
        language = forms[0].language if forms and forms[0].language in ("en", "fr") else _in_its_words(row, reading)
        context = {"pdfs_total": total, "pdfs_read": read, "pdfs_not_read": unread}
        # queued before the answers to each form, so the daily limit on automatic replies never drops it
        _answer(session, settings, reading.parsed, row, NoticeKind.pdfs_not_read, language, context)
    for pdf, digest, result in reading.pdfs:
        _store_pdf(session, settings, row, reading, pdf, digest, result)


def _store_pdf(
    session: Session,
    settings: Settings,
    row: InboundMessage,
    reading: Reading,
    pdf: PdfAttachment,
    digest: str,
    result: Bsf831Form | NotAForm | FormError,
) -> None:
    assert row.id is not None
    submission = Submission(message_id=row.id, sha256=digest, filename=pdf.filename)
    if isinstance(result, Bsf831Form):
        _queue_form(session, settings, row, reading.parsed, submission, result)
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
        # the technical reason stays on the submission for the officer; the notice says it plainly
        submission.status, submission.error, kind = SubmissionStatus.unreadable, str(result), NoticeKind.unreadable_form
        context |= dict(zip(("reason_en", "reason_fr"), unreadable_reason(pdf.data), strict=True))
    submission.insert(session)
    log.info("attachment is not a readable BSF831", message_row=row.id, status=submission.status)
    _answer(session, settings, reading.parsed, row, kind, _in_its_words(row, reading), context)


def _in_its_words(row: InboundMessage, reading: Reading) -> str:
    """The language of an answer written in the message's own words: kept on its row, English when unknown."""
    row.language = reading.language
    return row.language or "en"


UNSAFE_FR = "le fichier est trop volumineux ou trop complexe pour être lu en toute sécurité."
DAMAGED_FR = "le fichier PDF est endommagé ou illisible."
EMPTY = ("the file is empty (0 bytes).", "le fichier est vide (0 octet).")
TRUNCATED = ("the file is incomplete: it was cut off before its end.", "le fichier est incomplet : il a été coupé avant sa fin.")
DAMAGED = ("the PDF file is damaged and could not be opened, even after an attempt to repair it.", DAMAGED_FR)


def unreadable_reason(data: bytes) -> tuple[str, str]:
    """The unreadable notice's reason as a plain sentence in each language (never an exception's name)."""
    if not data.strip():
        return EMPTY
    return DAMAGED if b"%%EOF" in data else TRUNCATED


def _read(data: bytes, settings: Settings) -> Bsf831Form | NotAForm | FormError:
    """The parsed form, NotAForm, or the typed reason the PDF could not be read (parsed in a sandbox)."""
    if len(data) > settings.processing.max_pdf_bytes:
        return LimitExceeded(f"the file is larger than {settings.processing.max_pdf_bytes} bytes")
    if not data.strip():  # an empty attachment declared as a PDF: nothing for the sandbox to read
        return DamagedPdf("the attachment is empty (0 bytes)")
    try:
        return parse_sandboxed(data, Limits(**settings.parsing.model_dump()))
    except FormError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - the sandbox itself failing costs this attachment only
        return ParserFault(f"the PDF could not be read ({type(exc).__name__})")


def _queue_form(
    session: Session, settings: Settings, row: InboundMessage, parsed: ParsedMessage, submission: Submission, form: Bsf831Form
) -> None:
    placement = continuity.place(session, row, form)
    application = placement.continues or _new_application(session, row, placement.related)
    held_by = application.holder() if placement.continues else None
    # A scan is not read at all, so only the finding asking for the fillable form applies.
    findings = reading_findings(form) + ([] if form.image_only else validate(form, settings.validation))
    if not form.image_only:
        findings += continuity.address_findings(session, settings, form, placement.continues)
        if placement.continues:
            findings += continuity.blank_findings(form, placement.continues)
    if placement.related is not None:
        findings.append(continuity.related_finding(form, placement.related))
    submission.application_id = application.id
    submission.status = SubmissionStatus.scanned if form.image_only else SubmissionStatus.parsed
    submission.revision, submission.method = form.revision, form.method
    submission.producer = form.producer
    submission.fields = dict(form.values)
    submission.provenance = dict(form.provenance)
    submission.insert(session)
    FindingRow.insert_all(session, [found.row(submission, application) for found in findings])
    if placement.related is not None:
        _link(session, application, placement.related, continuity.related_finding(form, application))
    errors = has_errors(findings)
    if held_by is not None:
        # an officer is deciding on what they see: the version waits beside it, changing nothing
        detail = f"submission {submission.id} waits: {held_by} holds the application"
        states.record(session, application.id, actor=SYSTEM, action="version_waiting", detail=detail)
        log.info("form kept as a waiting version", message_row=row.id, application_id=application.id, findings=len(findings))
    else:
        if form.image_only:  # nothing was read: keep what the application already knows
            application.latest_submission_id = submission.id
            application.sender = application.sender or row.sender
        else:
            _update_application(application, form, submission, row)
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


def _new_application(session: Session, row: InboundMessage, related: Application | None) -> Application:
    application = Application(received_at=row.received_at, due_on=due_date(row.received_at.date()))
    if related is not None:
        application.related_application_id, application.related_reason = related.id, RELATED_REASON
    session.add(application)
    session.flush()
    states.record(session, application.id, actor=SYSTEM, action="application_created", detail=f"message row {row.id}")
    return application


def _link(session: Session, new: Application, other: Application, warning: Finding) -> None:
    """The open application a stranger's form named gets a warning and a link to the new one too."""
    if other.related_application_id is None:
        other.related_application_id, other.related_reason = new.id, RELATED_REASON
        session.add(other)
    if other.latest_submission_id is not None:
        latest = session.get(Submission, other.latest_submission_id)
        if latest is not None:
            FindingRow.insert_all(session, [warning.row(latest, other)])
    states.record(session, other.id, actor=SYSTEM, action="related_application", detail=f"{reference(new)}: {RELATED_REASON}")


def _update_application(application: Application, form: Bsf831Form, submission: Submission, row: InboundMessage) -> None:
    """The application takes the version's values; a value the version leaves blank keeps the earlier one."""
    bn = form.exporter_business_number
    provider = form.get("provider.business_number") if form.names_provider else None
    application.exporter_business_number = normalise_bn(bn) if bn else application.exporter_business_number
    application.exporter_email = form.exporter_email or application.exporter_email
    application.legal_name = form.get("exporter.legal_name") or application.legal_name
    application.provider_business_number = normalise_bn(provider) if provider else None
    application.language = form.language if form.language in ("en", "fr") else "en"
    application.sender = row.sender
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
    withheld = no_reply_reason(parsed)
    if withheld:
        states.record(session, application_id, actor=SYSTEM, action="reply_suppressed", detail=f"{kind}: {withheld}")
        return
    if not under_daily_limit(session, to, settings.processing.max_auto_replies_per_day):
        log.warning("daily automatic reply limit reached", message_row=row.id, kind=kind)
        states.record(session, application_id, actor=SYSTEM, action="reply_limited", detail=f"{kind}: daily limit for this address reached")
        return
    queue_notice(
        session,
        settings.smtp,
        notices=settings.notices,
        kind=kind,
        to=to,
        language=language,
        context=context,
        application_id=application_id,
        in_reply_to=row,
    )


def reference(application: Application) -> str:
    return f"CERS-{application.id:06d}"


def findings_of(session: Session, application: Application) -> list[Finding]:
    rows = session.exec(select(FindingRow).where(FindingRow.submission_id == application.latest_submission_id))
    return [Finding(**{k: getattr(r, k) for k in Finding.__dataclass_fields__}) for r in rows]
