"""A sender killed while handing a notice to the SMTP server: the notice is left for an officer, never resent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from outbox_helpers import database, notices, outbox_settings, queue_rejections
from sqlmodel import Session, select

from core.db import session_scope
from core.enums import NoticeStatus
from core.models import Application, AuditEvent, Notice, utcnow
from demo.mailservers import SmtpSink
from outbox.sender import INTERRUPTED, send_pending


def test_a_notice_interrupted_mid_send_is_flagged_not_resent(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    settings = outbox_settings(tmp_path / "var", smtp_sink.port)
    engine = database(settings)
    interrupted, untouched = queue_rejections(engine, settings, 2)
    with session_scope(engine) as session:
        notice = session.get(Notice, interrupted)
        assert notice is not None
        # what a sender leaves when it dies between starting DATA and recording the answer
        notice.sending_since = utcnow() - timedelta(seconds=5)
        notice.claimed_by, notice.claim_until = "elsewhere:1:dead", utcnow() - timedelta(seconds=1)
        session.add(notice)

    report = send_pending(engine, settings)

    assert (report.sent, report.failed) == (1, 1)
    assert [m[1] for m in smtp_sink.wait_for(1)] == [["applicant1@example.ca"]]
    by_id = {n.id: n for n in notices(engine)}
    assert by_id[untouched].status == NoticeStatus.sent
    assert by_id[interrupted].status == NoticeStatus.failed and by_id[interrupted].last_error == INTERRUPTED
    with Session(engine) as session:
        application = session.get(Application, by_id[interrupted].application_id)
        assert application is not None and "may or may not have been delivered" in (application.delivery_problem or "")
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "notice_failed")).first() is not None
    assert send_pending(engine, settings).sent == 0
    assert len(smtp_sink.messages) == 1


def test_a_live_claim_mid_send_is_left_alone(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    settings = outbox_settings(tmp_path / "var", smtp_sink.port)
    engine = database(settings)
    (notice_id,) = queue_rejections(engine, settings, 1)
    with session_scope(engine) as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        notice.sending_since = utcnow()
        notice.claimed_by, notice.claim_until = "elsewhere:1:alive", utcnow() + timedelta(minutes=5)
        session.add(notice)
    report = send_pending(engine, settings)
    assert (report.sent, report.failed) == (0, 0)
    assert notices(engine)[0].status == NoticeStatus.pending
