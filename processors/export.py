"""Access requests (Privacy Act): every record about one exporter or one address, in one zip archive.

The archive holds `records.json` (applications with their versions, findings and decisions; the
messages, notices, accounts, associations and audit trail), the raw messages and PDFs as received
(`messages/`, `pdfs/`), and every notice as sent (`notices/`) with anything shaped like an activation
code masked. Making it is recorded in the audit trail: one row on each application it covers, and
one with the counts (never the business number or address asked for).
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, SQLModel, col, select

from core.blobs import BlobStore
from core.models import (
    Account,
    Application,
    Association,
    AuditEvent,
    Decision,
    FindingRow,
    InboundMessage,
    Notice,
    Submission,
    utcnow,
)
from processors.codes import mask_codes

EXPORT_ACTION = "access_request_export"
_MESSAGE_ROW = re.compile(r"^message row (\d+)\b")


@dataclass
class ExportReport:
    path: Path
    applications: int = 0
    messages: int = 0
    pdfs: int = 0
    notices: int = 0
    accounts: int = 0
    audit_events: int = 0
    missing_blobs: int = 0  # purged, or lost: listed in records.json


def export_records(
    session: Session,
    blobs: BlobStore,
    out: Path,
    *,
    business_number: str | None = None,
    email_address: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> ExportReport:
    """Write the archive for one business number or one address to out; record that it was made."""
    if bool(business_number) == bool(email_address):
        raise ValueError("give a business number or an email address (one of them)")
    now = now or utcnow()
    if business_number:
        key = business_number.strip().upper().replace(" ", "")
        applications = _all(
            session,
            select(Application).where(
                or_(col(Application.exporter_business_number) == key, col(Application.provider_business_number) == key)
            ),
        )
        accounts = _all(session, select(Account).where(col(Account.business_number) == key))
        associations = _all(
            session,
            select(Association).where(
                or_(col(Association.exporter_business_number) == key, col(Association.provider_business_number) == key)
            ),
        )
        by_address: list[InboundMessage] = []
        notices_to: list[Notice] = []
    else:
        address = (email_address or "").strip().lower()
        pattern = f"%{address}%"
        applications = _all(
            session,
            select(Application).where(
                or_(func.lower(col(Application.exporter_email)) == address, func.lower(col(Application.sender)).like(pattern))
            ),
        )
        accounts = _all(session, select(Account).where(func.lower(col(Account.email)) == address))
        numbers = {a.business_number for a in accounts}
        associations = _all(session, select(Association).where(col(Association.exporter_business_number).in_(numbers))) if numbers else []
        by_address = _all(
            session,
            select(InboundMessage).where(
                or_(func.lower(col(InboundMessage.sender)).like(pattern), func.lower(col(InboundMessage.reply_to)).like(pattern))
            ),
        )
        notices_to = _all(session, select(Notice).where(func.lower(col(Notice.to_address)) == address))

    application_ids = sorted({a.id for a in applications if a.id is not None} | {a.application_id for a in accounts})
    applications = _all(session, select(Application).where(col(Application.id).in_(application_ids))) if application_ids else []
    submissions = _all(session, select(Submission).where(col(Submission.application_id).in_(application_ids))) if application_ids else []
    message_ids = {s.message_id for s in submissions} | {m.id for m in by_address if m.id is not None}
    notices = {n.id: n for n in notices_to}
    if application_ids:
        notices |= {n.id: n for n in _all(session, select(Notice).where(col(Notice.application_id).in_(application_ids)))}
    if message_ids:
        notices |= {n.id: n for n in _all(session, select(Notice).where(col(Notice.inbound_message_id).in_(message_ids)))}
        submissions += _all(
            session, select(Submission).where(col(Submission.message_id).in_(message_ids), col(Submission.application_id).is_(None))
        )
    message_ids |= {n.inbound_message_id for n in notices.values() if n.inbound_message_id is not None}
    message_ids |= {n.bounce_message_id for n in notices.values() if n.bounce_message_id is not None}
    messages = _all(session, select(InboundMessage).where(col(InboundMessage.id).in_(message_ids))) if message_ids else []
    findings = (
        _all(session, select(FindingRow).where(col(FindingRow.submission_id).in_([s.id for s in submissions]))) if submissions else []
    )
    decisions = _all(session, select(Decision).where(col(Decision.application_id).in_(application_ids))) if application_ids else []
    audit = _all(session, select(AuditEvent).where(col(AuditEvent.application_id).in_(application_ids))) if application_ids else []
    audit += [
        row
        for row in _all(
            session, select(AuditEvent).where(col(AuditEvent.application_id).is_(None), col(AuditEvent.detail).like("message row %"))
        )
        if (found := _MESSAGE_ROW.match(row.detail or "")) and int(found.group(1)) in message_ids
    ]

    report = ExportReport(path=out, applications=len(applications), notices=len(notices), accounts=len(accounts), audit_events=len(audit))
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    missing: list[str] = []
    with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for message in sorted(messages, key=lambda m: m.id or 0):
            if message.sha256 and blobs.exists(message.sha256, ".eml"):
                archive.writestr(f"messages/message-{message.id}.eml", blobs.get(message.sha256, ".eml"))
                report.messages += 1
            elif message.sha256:
                missing.append(f"messages/message-{message.id}.eml")
        for submission in sorted(submissions, key=lambda s: s.id or 0):
            if blobs.exists(submission.sha256, ".pdf"):
                archive.writestr(f"pdfs/submission-{submission.id}.pdf", blobs.get(submission.sha256, ".pdf"))
                report.pdfs += 1
            else:
                missing.append(f"pdfs/submission-{submission.id}.pdf")
        for notice in sorted(notices.values(), key=lambda n: n.id or 0):
            archive.writestr(f"notices/notice-{notice.id}.eml", masked_notice(notice.raw))
        records = {
            "request": {"by": "business_number" if business_number else "email", "made_at": now, "made_by": actor},
            "applications": [_row(a) for a in applications],
            "submissions": [_row(s) for s in submissions],
            "findings": [_row(f) for f in findings],
            "decisions": [_row(d) for d in decisions],
            "messages": [_row(m) for m in messages],
            "notices": [_row(n, exclude={"raw", "raw_redacted"}) for n in notices.values()],
            "accounts": [_row(a, exclude={"activation_code_hash"}) for a in accounts],
            "associations": [_row(a) for a in associations],
            "audit": [_row(e) for e in sorted(audit, key=lambda e: (e.at, e.id or 0))],
            "not_kept": missing,
        }
        archive.writestr("records.json", json.dumps(records, indent=2, ensure_ascii=False, default=str))
    os.replace(temp, out)
    report.missing_blobs = len(missing)

    for application_id in application_ids:
        AuditEvent.write(
            session, application_id, actor=actor, action=EXPORT_ACTION, detail="included in an access request's archive", at=now
        )
    counts = (
        f"access request archive made: {report.applications} application(s), {report.messages} message(s), "
        f"{report.pdfs} PDF(s), {report.notices} notice(s), {report.accounts} account(s), {report.audit_events} audit row(s)"
    )
    AuditEvent.write(session, None, actor=actor, action=EXPORT_ACTION, detail=counts, at=now)
    return report


def masked_notice(raw: bytes) -> bytes:
    """The notice as sent, with anything shaped like an activation code masked in every text part."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(message, EmailMessage):
        return mask_codes(raw.decode("utf-8", "replace")).encode()
    for part in message.walk():
        if part.get_content_maintype() != "text" or part.is_multipart():
            continue
        try:
            text = part.get_content()
        except (LookupError, ValueError):
            continue
        masked = mask_codes(text)
        if masked != text:
            part.set_content(masked, subtype=part.get_content_subtype(), charset="utf-8")
    return mask_codes(message.as_bytes().decode("utf-8", "replace")).encode()


def _all(session: Session, statement: Any) -> list[Any]:
    return list(session.exec(statement).all())


def _row(row: SQLModel, exclude: set[str] | None = None) -> dict[str, Any]:
    return row.model_dump(exclude=exclude or set())
