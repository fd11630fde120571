"""Robots are never answered, bounces find their notice, replies are capped, replies continue applications."""

from __future__ import annotations

from email.utils import make_msgid
from pathlib import Path

import pytest
from flow import flow_settings, parsed, run_until_idle
from servers import ImapAccount, imap_append
from sqlmodel import Session, select

from app.runner import Runner
from core.enums import MessageKind, NoticeStatus
from core.models import Application, AuditEvent, InboundMessage, Notice
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email, plain_email


@pytest.fixture
def runner(tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> Runner:
    return Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))


def delivery_report(original_message_id: str) -> bytes:
    """A Postfix-style RFC 3464 report returning the headers of our notice."""
    return (
        "From: MAILER-DAEMON@mx.exporter.example (Mail Delivery System)\r\n"
        "To: cers-applications@cbsa-asfc.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid(domain='mx.exporter.example')}\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"\r\n\r\n'
        "--dsn\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--dsn\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.exporter.example\r\n\r\n"
        "Final-Recipient: rfc822; gone@exporter.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        "--dsn\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: cers-applications@cbsa-asfc.example\r\n"
        f"To: gone@exporter.example\r\nMessage-ID: {original_message_id}\r\nSubject: We received\r\n\r\n--dsn--\r\n"
    ).encode()


def exchange_ndr(original: bytes) -> bytes:
    """An Exchange-style non-delivery report carrying the whole original message."""
    return (
        (
            b"From: Microsoft Outlook <postmaster@exporter.onmicrosoft.example>\r\n"
            b"To: cers-applications@cbsa-asfc.example\r\nSubject: Undeliverable: We received your message\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/report; report-type=delivery-status; boundary="ndr"\r\n\r\n'
            b"--ndr\r\nContent-Type: text/plain\r\n\r\nDelivery has failed to these recipients or groups.\r\n"
            b"--ndr\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns;exchange.example\r\n\r\n"
            b"Final-Recipient: rfc822;gone@exporter.example\r\nAction: failed\r\nStatus: 5.4.1\r\n\r\n"
            b"--ndr\r\nContent-Type: message/rfc822\r\n\r\n"
        )
        + original
        + b"\r\n--ndr--\r\n"
    )


@pytest.mark.parametrize("shape", ["rfc3464-headers", "exchange-whole-message"])
def test_a_bounce_of_our_notice_marks_it_undeliverable_and_is_not_answered(
    shape: str, runner: Runner, pymap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    imap_append(pymap_server, application_email(fill_form(sample_values("valid")), sender="gone@exporter.example"))
    run_until_idle(runner)
    ((_, _, raw),) = smtp_sink.wait_for(1)
    ours = parsed(raw)["Message-ID"]
    imap_append(pymap_server, delivery_report(ours) if shape == "rfc3464-headers" else exchange_ndr(raw))
    run_until_idle(runner)
    assert len(smtp_sink.messages) == 1  # the bounce was not answered
    with Session(runner.engine) as session:
        notice = session.exec(select(Notice)).one()
        application = session.exec(select(Application)).one()
        bounce = session.exec(select(InboundMessage).where(InboundMessage.kind == MessageKind.bounce)).one()
    assert notice.status == NoticeStatus.undeliverable and notice.bounce_message_id == bounce.id
    assert application.delivery_problem and "bounced" in application.delivery_problem


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied", "X-Autoreply": "yes", "Subject": "Out of office"},
        {"X-Auto-Response-Suppress": "All", "Auto-Submitted": "auto-generated"},
        {"Precedence": "bulk"},
        {"List-Id": "<exporters.lists.example>", "List-Unsubscribe": "<mailto:leave@lists.example>"},
        {"Return-Path": "<>"},
    ],
    ids=["out-of-office", "exchange-auto", "bulk", "mailing-list", "null-return-path"],
)
def test_robots_are_recorded_and_never_answered(
    headers: dict[str, str], runner: Runner, pymap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    subject = headers.pop("Subject", "hello")
    imap_append(pymap_server, plain_email(sender="robot@exporter.example", subject=subject, body="auto", extra_headers=headers))
    run_until_idle(runner)
    assert smtp_sink.messages == []
    with Session(runner.engine) as session:
        (row,) = session.exec(select(InboundMessage)).all()
    assert row.kind in (MessageKind.auto_reply, MessageKind.list)


def test_suppressed_auto_reply_still_queues_the_form(runner: Runner, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    raw = application_email(
        fill_form(sample_values("valid")), sender="a@exporter.example", extra_headers={"X-Auto-Response-Suppress": "OOF, AutoReply"}
    )
    imap_append(pymap_server, raw)
    run_until_idle(runner)
    assert smtp_sink.messages == []
    with Session(runner.engine) as session:
        assert session.exec(select(Application)).one().state.value == "pending_review"
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "reply_suppressed")).first() is not None


def test_no_sender_gets_more_than_the_daily_number_of_automatic_replies(
    tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    settings = flow_settings(tmp_path / "var", pymap_server, smtp_sink)
    settings = settings.model_copy(update={"processing": settings.processing.model_copy(update={"max_auto_replies_per_day": 2})})
    runner = Runner(settings)
    for n in range(4):
        imap_append(pymap_server, plain_email(sender="Chatty <CHATTY@exporter.example>", subject=f"question {n}", body="?"))
    imap_append(pymap_server, plain_email(sender="other@exporter.example", subject="question", body="?"))
    run_until_idle(runner)
    recipients = sorted(m[1][0].lower() for m in smtp_sink.wait_for(3))
    assert recipients == ["chatty@exporter.example", "chatty@exporter.example", "other@exporter.example"]
    with Session(runner.engine) as session:
        assert len(session.exec(select(InboundMessage)).all()) == 5
        assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "reply_limited")).all()) == 2


def test_a_reply_to_our_notice_continues_the_application(runner: Runner, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    wrong = {**sample_values("valid"), "exporter.business_number": "123456789RM0001"}
    imap_append(pymap_server, application_email(fill_form(wrong), sender="a@erable.example"))
    run_until_idle(runner)
    ((_, _, notice),) = smtp_sink.wait_for(1)
    ours = parsed(notice)
    corrected = application_email(
        fill_form(sample_values("valid")),
        sender="a@erable.example",
        subject=f"Re: {ours['Subject']}",
        extra_headers={"In-Reply-To": ours["Message-ID"], "References": ours["Message-ID"]},
    )
    imap_append(pymap_server, corrected)
    run_until_idle(runner)
    with Session(runner.engine) as session:
        (application,) = session.exec(select(Application)).all()
    assert application.state.value == "pending_review"
    assert application.exporter_business_number == "123456782RM0001"
