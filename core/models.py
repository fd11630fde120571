"""The database tables and their row changes. Stages hand work to each other through these rows.

Every datetime column is SQLModel's UTCDateTime: an aware datetime goes in, an aware UTC datetime
comes out, on SQLite as on PostgreSQL, so no code repairs naive values.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Enum,
    Index,
    LargeBinary,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from core.enums import (
    AppState,
    DecisionAction,
    MessageKind,
    MessageStatus,
    NoticeKind,
    NoticeStatus,
    OfficerRole,
    ReadMethod,
    Severity,
    SubmissionStatus,
)

# An error kept on a row is cut to this many characters: enough to read, never a whole document.
MAX_ERROR_CHARS = 2000


def utcnow() -> datetime:
    return datetime.now(UTC)


def clip_error(text: str) -> str:
    return text[:MAX_ERROR_CHARS]


def enum_column(enum_class: type[enum.Enum]) -> Enum:
    """Enums stored as plain strings, so a new value needs no ALTER TYPE on PostgreSQL."""
    return Enum(enum_class, native_enum=False, create_constraint=False, length=32)


class MailboxState(SQLModel, table=True):
    """A watched folder: its UIDVALIDITY and the highest UID recorded."""

    __tablename__ = "mailbox_state"
    __table_args__ = (UniqueConstraint("mailbox", "folder"),)
    id: int | None = Field(default=None, primary_key=True)
    mailbox: str
    folder: str
    uidvalidity: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_uid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    lease_holder: str | None = None
    lease_until: datetime | None = None
    last_poll_at: datetime | None = None


class InboundMessage(SQLModel, table=True):
    """One message fetched from the mailbox, archived under blobs/ by its SHA-256."""

    __tablename__ = "inbound_message"
    # the fetcher looks for handled rows not moved yet; the index keeps that cheap in a large table
    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", "uid"), Index("ix_inbound_message_unsettled", "moved", "status"))
    id: int | None = Field(default=None, primary_key=True)
    mailbox: str
    folder: str
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))
    uid: int = Field(sa_column=Column(BigInteger, nullable=False))
    # None only for a message never downloaded (over the size limit, or unfetchable).
    sha256: str | None = Field(default=None, unique=True, index=True)
    size: int
    message_id: str | None = Field(default=None, index=True)
    in_reply_to: str | None = None
    references: str | None = None
    sender: str | None = None
    reply_to: str | None = None
    subject: str | None = None
    date_header: str | None = None
    kind: MessageKind | None = Field(default=None, sa_type=enum_column(MessageKind))
    status: MessageStatus = Field(default=MessageStatus.received, index=True, sa_type=enum_column(MessageStatus))
    moved: bool = False
    # processing attempts begun: counted when a worker claims the row, so a row that stops its
    # worker every time is quarantined too
    attempts: int = 0
    last_error: str | None = None
    claimed_by: str | None = None
    claim_until: datetime | None = None
    received_at: datetime = Field(default_factory=utcnow)
    processed_at: datetime | None = None
    # correspondence: an officer closes it once answered or dealt with
    closed_at: datetime | None = None
    closed_by: str | None = None

    def release_claim(self) -> None:
        self.claimed_by = self.claim_until = None

    def mark_processed(self, at: datetime) -> None:
        self.status, self.processed_at = MessageStatus.processed, at
        self.release_claim()

    def fail(self, error: str) -> None:
        """Processing failed this time: keep why, and let any worker try it again."""
        self.last_error = clip_error(error)
        self.release_claim()

    def quarantine(self, reason: str | None = None) -> None:
        """Set aside for an officer; the fetcher moves it to the quarantine folder."""
        self.status = MessageStatus.quarantined
        if reason is not None:
            self.last_error = clip_error(reason)
        self.release_claim()


class Application(SQLModel, table=True):
    """One request for CERS access, across every version of the form received for it."""

    # the console's queue pages by (received_at, id), with or without a state
    __table_args__ = (
        Index("ix_application_state_received", "state", "received_at", "id"),
        Index("ix_application_received", "received_at", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    state: AppState = Field(default=AppState.received, index=True, sa_type=enum_column(AppState))
    exporter_business_number: str | None = Field(default=None, index=True)
    exporter_email: str | None = None
    legal_name: str | None = None
    provider_business_number: str | None = Field(default=None, index=True)
    language: str = "en"
    sender: str | None = None
    latest_submission_id: int | None = None
    assigned_officer: str | None = Field(default=None, index=True)
    # the assigned officer's hold on deciding it; another officer may claim it once this has passed
    claim_until: datetime | None = None
    received_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    due_on: date | None = None
    # set when a notice for this application could not be delivered: an officer must look
    delivery_problem: str | None = None

    # another application this one may belong with (same business number, not proven to be the same
    # sender): an officer decides; related_reason says why they were linked
    related_application_id: int | None = Field(default=None, foreign_key="application.id")
    related_reason: str | None = None
    # its activation code never reached the exporter and was revoked: an officer reissues it
    reissue_needed: bool = False

    def flag_delivery_problem(self, problem: str) -> None:
        self.delivery_problem = clip_error(problem)


class Submission(SQLModel, table=True):
    """One PDF read from a message: a version of an application's form."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="inbound_message.id", index=True)
    application_id: int | None = Field(default=None, foreign_key="application.id", index=True)
    sha256: str = Field(index=True)
    filename: str | None = None
    status: SubmissionStatus = Field(default=SubmissionStatus.parsed, sa_type=enum_column(SubmissionStatus))
    revision: str | None = None
    method: ReadMethod | None = Field(default=None, sa_type=enum_column(ReadMethod))
    producer: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    provenance: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class FindingRow(SQLModel, table=True):
    """One problem found in a submission."""

    __tablename__ = "finding"
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    application_id: int | None = Field(default=None, foreign_key="application.id", index=True)
    code: str
    field: str
    item: str
    label_en: str
    label_fr: str
    severity: Severity = Field(sa_type=enum_column(Severity))
    message_en: str
    message_fr: str


class Notice(SQLModel, table=True):
    """One outgoing email: rendered and stored with its Message-ID before any SMTP call."""

    id: int | None = Field(default=None, primary_key=True)
    kind: NoticeKind = Field(sa_type=enum_column(NoticeKind))
    application_id: int | None = Field(default=None, foreign_key="application.id", index=True)
    inbound_message_id: int | None = Field(default=None, foreign_key="inbound_message.id")
    to_address: str = Field(index=True)
    message_id: str = Field(unique=True)
    subject: str
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    raw_redacted: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    bounce_message_id: int | None = Field(default=None, foreign_key="inbound_message.id")
    status: NoticeStatus = Field(default=NoticeStatus.pending, index=True, sa_type=enum_column(NoticeStatus))
    attempts: int = 0
    last_error: str | None = None
    # the daily limit on automatic replies counts the last day's notices: the index keeps that off the history
    created_at: datetime = Field(default_factory=utcnow, index=True)
    sent_at: datetime | None = None
    # delivery: a pending notice is sent when next_attempt_at has passed and no live claim holds it
    next_attempt_at: datetime | None = Field(default=None, index=True)
    last_attempt_at: datetime | None = None
    claimed_by: str | None = None
    claim_until: datetime | None = None
    # set just before the message is handed to the SMTP server, cleared with the outcome: a notice
    # still marked after its sender died may or may not have been delivered, and is never resent
    sending_since: datetime | None = None
    failed_at: datetime | None = None

    def release_claim(self) -> None:
        self.claimed_by = self.claim_until = self.sending_since = None

    def forget_secret(self) -> bool:
        """Keep only the copy without the activation code (the code is never kept readable once the notice ends)."""
        if self.raw_redacted is None:
            return False
        self.raw, self.raw_redacted = self.raw_redacted, None
        return True

    def mark_sent(self, at: datetime) -> None:
        """The SMTP server accepted it."""
        if self.status == NoticeStatus.sent:
            return
        self.status, self.sent_at = NoticeStatus.sent, at
        self.attempts += 1
        self.last_error = self.next_attempt_at = None
        self.release_claim()
        self.forget_secret()

    def defer(self, error: str, now: datetime, retry_at: datetime) -> None:
        """A temporary failure: tried again at retry_at."""
        self.attempts += 1
        self.last_error, self.last_attempt_at, self.next_attempt_at = clip_error(error), now, retry_at
        self.release_claim()

    def mark_bounced(self, reason: str, bounce_message_id: int | None) -> None:
        """Accepted, then returned by a bounce (an inbound message row)."""
        self.status, self.bounce_message_id = NoticeStatus.undeliverable, bounce_message_id
        self.last_error = clip_error(f"bounced: {reason}")

    def fail(self, reason: str, now: datetime) -> None:
        """Failed for good: never sent again automatically, and any code it held is not kept."""
        self.status, self.failed_at, self.last_error = NoticeStatus.failed, now, clip_error(reason)
        self.next_attempt_at = None
        self.release_claim()
        self.forget_secret()


class Decision(SQLModel, table=True):
    """An officer's decision on an application."""

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    officer: str
    action: DecisionAction = Field(sa_type=enum_column(DecisionAction))
    reason: str | None = None
    at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """Who did what to an application, and when."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    application_id: int | None = Field(default=None, foreign_key="application.id", index=True)
    actor: str
    action: str
    from_state: str | None = None
    to_state: str | None = None
    detail: str | None = None
    at: datetime = Field(default_factory=utcnow)


class Account(SQLModel, table=True):
    """An approved exporter: its authorization ID and the hash of its activation code."""

    id: int | None = Field(default=None, primary_key=True)
    business_number: str = Field(unique=True)
    legal_name: str | None = None
    email: str
    authorization_id: str = Field(unique=True)
    activation_code_hash: str
    code_expires_at: datetime
    application_id: int = Field(foreign_key="application.id")
    created_at: datetime = Field(default_factory=utcnow)


class Association(SQLModel, table=True):
    """A customs service provider's business number linked to an exporter's."""

    __table_args__ = (UniqueConstraint("exporter_business_number", "provider_business_number"),)
    id: int | None = Field(default=None, primary_key=True)
    exporter_business_number: str
    provider_business_number: str
    application_id: int = Field(foreign_key="application.id")
    created_at: datetime = Field(default_factory=utcnow)


class AlertState(SQLModel, table=True):
    """One alert condition: whether its alert went out, and when the last email about it did."""

    __tablename__ = "alert_state"
    id: int | None = Field(default=None, primary_key=True)
    condition: str = Field(unique=True)
    active: bool = False
    detail: str | None = None
    since: datetime | None = None
    last_sent_at: datetime | None = None


class Officer(SQLModel, table=True):
    """A person who signs in to the console: an Argon2 password hash, a role, failed sign-ins."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    role: OfficerRole = Field(default=OfficerRole.officer, sa_type=enum_column(OfficerRole))
    password_hash: str
    active: bool = True
    failed_sign_ins: int = 0
    locked_until: datetime | None = None
    last_sign_in_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
