"""The tables' shared rules, checked without a server: UTC datetimes, enums stored as their strings, row changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, inspect
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine, select
from sqlmodel.sql.sqltypes import UTCDateTime

from core.enums import MessageStatus, NoticeKind, NoticeStatus, Severity
from core.models import MAX_ERROR_CHARS, FindingRow, InboundMessage, InsertedAtOnce, Notice, Submission

pytestmark = pytest.mark.unit


@pytest.fixture
def session() -> Session:
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    SQLModel.metadata.create_all(engine)
    with Session(engine) as db:
        yield db


def test_every_datetime_column_is_utc() -> None:
    columns = [(table.name, column.name, column.type) for table in SQLModel.metadata.tables.values() for column in table.columns]
    datetimes = [(t, c, kind) for t, c, kind in columns if isinstance(kind, DateTime | UTCDateTime)]
    assert datetimes, "no datetime column found"
    assert [(t, c) for t, c, kind in datetimes if not isinstance(kind, UTCDateTime)] == []


def test_a_datetime_comes_back_aware_in_utc(session: Session) -> None:
    toronto = datetime(2026, 11, 29, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
    session.add(InboundMessage(mailbox="m", folder="INBOX", uidvalidity=1, uid=1, size=1, received_at=toronto))
    session.commit()
    session.expire_all()
    stored = session.exec(select(InboundMessage)).one().received_at
    assert stored == toronto and stored.utcoffset() == timedelta(0)


def test_enums_are_stored_as_their_strings(session: Session) -> None:
    session.add(Notice(kind=NoticeKind.missing_information, to_address="a@example.ca", message_id="<1@x>", subject="s", raw=b"x"))
    session.commit()
    raw = session.connection().exec_driver_sql("SELECT kind, status FROM notice").one()
    assert tuple(raw) == ("missing_information", "pending")


def test_a_failed_message_keeps_a_clipped_error_and_no_claim() -> None:
    row = InboundMessage(mailbox="m", folder="INBOX", uidvalidity=1, uid=1, size=1, claimed_by="host:1:a", claim_until=datetime.now(UTC))
    row.fail("x" * (MAX_ERROR_CHARS + 50))
    assert len(row.last_error or "") == MAX_ERROR_CHARS and row.claimed_by is None and row.claim_until is None
    row.quarantine()
    assert row.status == MessageStatus.quarantined


@pytest.mark.parametrize("end", ["sent", "failed"])
def test_a_notice_that_ends_keeps_no_activation_code(end: str) -> None:
    notice = Notice(
        kind=NoticeKind.activation,
        to_address="a@example.ca",
        message_id="<1@x>",
        subject="s",
        raw=b"code ABCD-1234",
        raw_redacted=b"code ****",
    )
    now = datetime.now(UTC)
    notice.mark_sent(now) if end == "sent" else notice.fail("550 no such user", now)
    assert notice.raw == b"code ****" and notice.raw_redacted is None
    assert notice.status == (NoticeStatus.sent if end == "sent" else NoticeStatus.failed)


def test_a_deferred_notice_is_let_go_with_its_next_attempt() -> None:
    notice = Notice(
        kind=NoticeKind.acknowledgment,
        to_address="a@example.ca",
        message_id="<1@x>",
        subject="s",
        raw=b"x",
        claimed_by="h",
        sending_since=datetime.now(UTC),
    )
    now = datetime.now(UTC)
    notice.defer("421 busy", now, now + timedelta(minutes=5))
    assert (notice.attempts, notice.claimed_by, notice.sending_since, notice.next_attempt_at) == (1, None, None, now + timedelta(minutes=5))


def test_a_row_inserted_at_once_is_written_whole_with_its_defaults(session: Session) -> None:
    message = InboundMessage(mailbox="m", folder="INBOX", uidvalidity=1, uid=7, size=10, sender="a@example.ca")
    message.insert(session)
    notice = Notice(kind=NoticeKind.rejection, to_address="a@example.ca", message_id="<n@x>", subject="S", raw=b"R")
    notice.insert(session)
    submission = Submission(message_id=message.id, sha256="ab" * 32, fields={"exporter.legal_name": "Exports Inc."})
    submission.insert(session)
    assert message.id is not None and notice.id is not None and submission.id is not None
    assert notice not in session  # a record of what was written, not a row the session tracks
    session.commit()
    session.expire_all()
    stored = session.get(Notice, notice.id)
    assert stored is not None
    assert (stored.status, stored.attempts, stored.raw, stored.created_at) == (NoticeStatus.pending, 0, b"R", notice.created_at)
    assert session.get(Submission, submission.id).fields == {"exporter.legal_name": "Exports Inc."}  # type: ignore[union-attr]
    assert session.get(InboundMessage, message.id).sender == "a@example.ca"  # type: ignore[union-attr]


def test_rows_inserted_together_are_all_written(session: Session) -> None:
    message = InboundMessage(mailbox="m", folder="INBOX", uidvalidity=1, uid=8, size=10)
    message.insert(session)
    submission = Submission(message_id=message.id, sha256="cd" * 32)
    submission.insert(session)
    words = {"field": "f", "item": "1", "label_en": "L", "label_fr": "É", "message_en": "M", "message_fr": "Mé"}
    rows = [FindingRow(submission_id=submission.id, code=f"c{i}", severity=Severity.error, **words) for i in range(3)]
    FindingRow.insert_all(session, rows)
    FindingRow.insert_all(session, [])
    session.commit()
    assert sorted(row.code for row in session.exec(select(FindingRow))) == ["c0", "c1", "c2"]


def test_no_table_inserted_at_once_has_orm_events() -> None:
    """Its INSERT bypasses the mapper: a before_insert listener (as Application's) would silently not run."""
    tables = [model for model in SQLModel.__subclasses__() if issubclass(model, InsertedAtOnce)]
    assert {model.__name__ for model in tables} >= {"InboundMessage", "Submission", "FindingRow", "Notice"}
    for model in tables:
        dispatch = inspect(model).dispatch
        assert not (dispatch.before_insert or dispatch.after_insert), f"{model.__name__} has insert events"
