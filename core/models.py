"""The database tables and their row changes. Stages hand work to each other through these rows.

Every datetime column is SQLModel's UTCDateTime: an aware datetime goes in, an aware UTC datetime
comes out, on SQLite as on PostgreSQL, so no code repairs naive values.
"""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Enum,
    Index,
    LargeBinary,
    UniqueConstraint,
    event,
    func,
    insert,
    or_,
)
from sqlalchemy.orm import Session, object_session
from sqlmodel import Field, SQLModel, col, select

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
from core.folding import fold

# An error kept on a row is cut to this many characters: enough to read, never a whole document.
MAX_ERROR_CHARS = 2000
# An account's activation_code_hash once its code is revoked: no code hashes to it.
REVOKED_CODE_PREFIX = "revoked:"


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


class InsertedAtOnce:
    """A row that its transaction adds and does not change: inserted by one prebuilt INSERT on the session's
    connection, not by the unit of work's flush, which costs several times the statement.

    Only for tables without ORM events (Application's before_insert fills a column: it is flushed as usual).
    """

    def insert(self, session: Session) -> None:
        """Insert this new row at once and give it its id. The object stays outside the session: it is a
        record of what was written, and a change to the row is made on the row loaded again (session.get)."""
        table = self.__table__  # type: ignore[attr-defined]
        result = session.execute(_insert_statement(table), _column_values(self, table))
        self.id = result.inserted_primary_key[0]  # type: ignore[attr-defined]

    @classmethod
    def insert_all(cls, session: Session, rows: list[Any]) -> None:
        """Insert these new rows in one statement (executemany); they are not attached and get no id."""
        if rows:
            table = cls.__table__  # type: ignore[attr-defined]
            session.execute(_insert_statement(table), [_column_values(row, table) for row in rows])


@cache
def _insert_statement(table: Any) -> Any:
    return insert(table)


def _column_values(row: Any, table: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in table.columns if column.key != "id"}


class InboundMessage(InsertedAtOnce, SQLModel, table=True):
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
    # the signal that decided the message's kind (a header, a report type, a sender), for the officer
    classified_by: str | None = None
    # the language the message is written in (en | fr), when its headers or text say: answers lead with it
    language: str | None = Field(default=None, max_length=8)
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
    # legal_name folded for search (core.folding.fold), written on every flush; a trigram index on PostgreSQL
    legal_name_folded: str | None = None
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
    # a supervisor's hold: no retention purge touches the application while it is set
    on_hold: bool = False
    # when its personal information was purged (the skeleton stays for statistics and the audit trail)
    purged_at: datetime | None = None

    def holder(self, now: datetime | None = None) -> str | None:
        """The officer whose claim on the application has not ended, if any."""
        if self.assigned_officer is None or self.claim_until is None:
            return None
        return self.assigned_officer if self.claim_until > (now or utcnow()) else None

    def flag_delivery_problem(self, problem: str) -> None:
        self.delivery_problem = clip_error(problem)

    def flag_reissue_needed(self, reason: str) -> None:
        """Its activation code never reached the exporter and no longer works: an officer reissues one."""
        self.reissue_needed = True
        self.flag_delivery_problem(reason)


@event.listens_for(Application, "before_insert")
@event.listens_for(Application, "before_update")
def _fold_legal_name(_mapper: Any, _connection: Any, application: Application) -> None:
    application.legal_name_folded = fold(application.legal_name) if application.legal_name is not None else None


class Submission(InsertedAtOnce, SQLModel, table=True):
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


class FindingRow(InsertedAtOnce, SQLModel, table=True):
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


class Notice(InsertedAtOnce, SQLModel, table=True):
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

    def mark_bounced(self, reason: str, bounce_message_id: int | None, session: Session | None = None) -> bool:
        """Accepted, then returned by a bounce (an inbound message row): an activation code it carried
        never reached the exporter, so it is not kept and stops working (revoke_undelivered_code), in
        the session that records the bounce (the row's own when none is given). True when a secret
        was forgotten here (on SQLite a checkpoint should then clear the old page from the log)."""
        self.status, self.bounce_message_id = NoticeStatus.undeliverable, bounce_message_id
        self.last_error = clip_error(f"bounced: {reason}")
        forgot = self.forget_secret()
        session = session if session is not None else object_session(self)
        if session is not None:
            self.revoke_undelivered_code(session, utcnow(), f"the {self.kind} notice (#{self.id}) to {self.to_address} bounced: {reason}")
        return forgot

    def fail(self, reason: str, now: datetime) -> None:
        """Failed for good: never sent again automatically, and any code it held is not kept."""
        self.status, self.failed_at, self.last_error = NoticeStatus.failed, now, clip_error(reason)
        self.next_attempt_at = None
        self.release_claim()
        self.forget_secret()

    def revoke_undelivered_code(self, session: Session, now: datetime, problem: str) -> Account | None:
        """The activation code this notice carries never reached the exporter (or may not have): it stops
        working, its application is flagged for an officer to reissue one, and the audit trail says so.

        Nothing for a notice of another kind, or when a later activation notice (a reissue, or a new
        approval for the same business number) already replaced the code, or when it is revoked
        already. Call it in the transaction that records the notice's end. The account revoked, or None.
        """
        if self.kind != NoticeKind.activation or self.application_id is None:
            return None
        application = session.get(Application, self.application_id)
        # locked (PostgreSQL) before looking for a later code, so a reissue committed meanwhile is seen, not revoked
        by_application = select(Account).where(Account.application_id == self.application_id).with_for_update()
        account = session.scalars(by_application).first()
        if account is None and application is not None and application.exporter_business_number:
            by_number = select(Account).where(Account.business_number == application.exporter_business_number).with_for_update()
            account = session.scalars(by_number).first()
        if account is None or account.code_revoked or self._code_replaced(session, account):
            return None
        account.revoke_code(now)
        session.add(account)
        if application is not None:
            application.flag_reissue_needed(f"{problem}; its activation code was revoked: reissue one")
            session.add(application)
        detail = f"notice #{self.id}: {problem}; the code no longer works until an officer reissues one"
        AuditEvent.write(session, self.application_id, actor="cers-intake", action="activation_code_revoked", detail=clip_error(detail))
        return account

    def _code_replaced(self, session: Session, account: Account) -> bool:
        """A later activation notice for this account: its code, not this one's, is the account's now."""
        if self.id is None:
            return False
        later = (
            select(Notice.id)
            .join(Application, col(Notice.application_id) == col(Application.id))
            .where(
                Notice.kind == NoticeKind.activation,
                col(Notice.id) > self.id,
                or_(col(Application.id) == account.application_id, col(Application.exporter_business_number) == account.business_number),
            )
        )
        return session.scalars(later).first() is not None


# processors.auto_replies counts one address's notices of the last day (any case of the address)
Index("ix_notice_recipient_created", func.lower(Notice.__table__.c.to_address), Notice.__table__.c.created_at)  # type: ignore[attr-defined]


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

    @staticmethod
    def write(
        session: Session,
        application_id: int | None,
        *,
        actor: str,
        action: str,
        detail: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Insert an audit row in the session's transaction, at once and without an ORM object to track.

        Audit rows are only ever added, never changed or read back by the transaction that writes them; all of
        them are written here, so their ids keep the order of the calls."""
        row = {"application_id": application_id, "actor": actor, "action": action, "detail": detail}
        statement = _insert_statement(AuditEvent.__table__)  # type: ignore[attr-defined]
        session.execute(statement, row | {"from_state": from_state, "to_state": to_state, "at": at or utcnow()})


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

    def revoke_code(self, now: datetime) -> None:
        """No code works any more (the one sent never reached the exporter) until an officer reissues one.

        The hash becomes a random value no code hashes to ("sha256:..." is what a code hashes to)."""
        self.activation_code_hash = REVOKED_CODE_PREFIX + secrets.token_hex(16)
        self.code_expires_at = now

    @property
    def code_revoked(self) -> bool:
        return self.activation_code_hash.startswith(REVOKED_CODE_PREFIX)


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

    def is_locked(self, now: datetime | None = None) -> bool:
        """Locked after too many failed sign-ins, until locked_until (or a supervisor unlocks it)."""
        return self.locked_until is not None and self.locked_until > (now or utcnow())

    def clear_failures(self) -> None:
        self.failed_sign_ins, self.locked_until = 0, None


class ConsoleSession(SQLModel, table=True):
    """One signed-in console session: the cookie carries only its random id (signed)."""

    __tablename__ = "console_session"
    id: str = Field(primary_key=True, max_length=64)
    officer_id: int = Field(foreign_key="officer.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    client_address: str | None = None
    user_agent: str | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def expiry(self, now: datetime, *, idle: timedelta, absolute: timedelta) -> str | None:
        """Why this session no longer holds ("revoked", "expired": signed in too long ago, "idle"), or None."""
        if self.revoked_at is not None:
            return "revoked"
        if now - self.created_at >= absolute:
            return "expired"
        if now - self.last_seen_at >= idle:
            return "idle"
        return None

    def revoke(self, now: datetime, reason: str) -> None:
        if self.revoked_at is None:
            self.revoked_at, self.revoked_reason = now, reason


class ReasonText(SQLModel, table=True):
    """A standard text for officers' decisions, in both languages, managed by supervisors."""

    __tablename__ = "reason_text"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    text_en: str
    text_fr: str
    active: bool = True
    updated_by: str
    updated_at: datetime = Field(default_factory=utcnow)


class StoredBlob(SQLModel, table=True):
    """A raw message or PDF kept in the database (storage.backend = "database"), by its SHA-256."""

    __tablename__ = "stored_blob"
    sha256: str = Field(primary_key=True, max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int
    created_at: datetime = Field(default_factory=utcnow)


class BacklogSnapshot(SQLModel, table=True):
    """How many applications were in one state at the end of one day (the dashboard's history)."""

    __tablename__ = "backlog_snapshot"
    __table_args__ = (UniqueConstraint("day", "state"),)
    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    state: AppState = Field(sa_type=enum_column(AppState))
    count: int
    received: int = 0  # forms received that day (counted once, on the row of the received state)
