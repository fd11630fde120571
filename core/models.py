"""The database tables. Stages hand work to each other through these rows."""

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


def utcnow() -> datetime:
    return datetime.now(UTC)


def enum_column(enum_class: type[enum.Enum]) -> Enum:
    """Enums stored as plain strings, so a new value needs no ALTER TYPE on PostgreSQL."""
    return Enum(enum_class, native_enum=False, create_constraint=False, length=32)


class MessageKind(str, enum.Enum):
    form = "form"  # carries at least one PDF
    correspondence = "correspondence"  # a person wrote, no PDF
    auto_reply = "auto_reply"
    bounce = "bounce"
    list = "list"


class MessageStatus(str, enum.Enum):
    received = "received"  # archived and committed, not processed yet
    processed = "processed"
    quarantined = "quarantined"  # failed max_attempts times; an officer looks at it


class AppState(str, enum.Enum):
    received = "received"
    needs_info = "needs_info"
    pending_review = "pending_review"
    approved = "approved"
    rejected = "rejected"


class NoticeStatus(str, enum.Enum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    undeliverable = "undeliverable"  # accepted, then bounced back


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


class Submission(SQLModel, table=True):
    """One PDF read from a message: a version of an application's form."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="inbound_message.id", index=True)
    application_id: int | None = Field(default=None, foreign_key="application.id", index=True)
    sha256: str = Field(index=True)
    filename: str | None = None
    status: str = "parsed"  # parsed | scanned | not_a_form | encrypted | unreadable | quarantined
    revision: str | None = None
    method: str | None = None
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
    severity: str  # error | warning
    message_en: str
    message_fr: str


class Notice(SQLModel, table=True):
    """One outgoing email: rendered and stored with its Message-ID before any SMTP call."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str
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


class Decision(SQLModel, table=True):
    """An officer's decision on an application."""

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    officer: str
    action: str  # approve | reject | request_info
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


class OfficerRole(str, enum.Enum):
    monitor = "monitor"  # reads only
    officer = "officer"  # also decides
    supervisor = "supervisor"  # also manages officer accounts and reopens decisions


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
