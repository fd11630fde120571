"""Processing recorded messages: isolation, quarantine, unreadable attachments, secrets kept out of logs."""

from __future__ import annotations

from pathlib import Path

import pytest
from flow import flow_settings, parsed, run_until_idle, text_of
from servers import ImapAccount, connect, imap_append
from sqlmodel import Session, select
from structlog.testing import capture_logs

import processors.pipeline
from app.runner import Runner
from core.db import session_scope
from core.enums import MessageStatus, NoticeStatus
from core.errors import DecisionError
from core.models import AuditEvent, InboundMessage, Notice, Submission
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email, plain_email
from processors.decisions import approve, reject, request_info


@pytest.fixture
def runner(tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> Runner:
    return Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))


def test_a_failing_message_is_retried_then_quarantined_and_others_go_on(
    runner: Runner, pymap_server: ImapAccount, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    imap_append(pymap_server, plain_email(sender="bad@example.ca", subject="poison", body="x"))
    imap_append(pymap_server, plain_email(sender="good@example.ca", subject="fine", body="x"))
    real = processors.pipeline.process_message

    def fail_on_poison(session, settings, row, reading):  # type: ignore[no-untyped-def]
        if row.subject == "poison":
            raise RuntimeError("boom")
        return real(session, settings, row, reading)

    monkeypatch.setattr(processors.pipeline, "process_message", fail_on_poison)
    reports = [runner.run_once() for _ in range(3)]
    assert [r.process.failed for r in reports] == [1, 1, 0]
    assert reports[2].process.quarantined == 1
    with Session(runner.engine) as session:
        rows = {row.subject: row for row in session.exec(select(InboundMessage))}
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "quarantine_message")).all()
    assert rows["poison"].status == MessageStatus.quarantined
    assert rows["poison"].attempts == 3 and "boom" in (rows["poison"].last_error or "")
    assert rows["fine"].status == MessageStatus.processed
    assert len(audit) == 1
    with connect(pymap_server) as client:
        counts = {folder: len(client.select_folder(folder) and client.search("ALL")) for folder in ("INBOX", "Processed", "Quarantine")}
    assert counts == {"INBOX": 0, "Processed": 1, "Quarantine": 1}
    assert [m[1] for m in smtp_sink.wait_for(1)] == [["good@example.ca"]]


def test_unreadable_pdf_costs_one_attachment_and_is_answered(runner: Runner, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    broken = b"%PDF-1.7\n" + b"\x00garbage" * 200
    imap_append(pymap_server, application_email(broken, sender="a@exporter.example", filename="scan.pdf"))
    run_until_idle(runner)
    ((_, rcpts, raw),) = smtp_sink.wait_for(1)
    assert rcpts == ["a@exporter.example"]
    assert '"scan.pdf" could not be read' in text_of(parsed(raw))
    with Session(runner.engine) as session:
        (submission,) = session.exec(select(Submission)).all()
        (message,) = session.exec(select(InboundMessage)).all()
    assert submission.status == "unreadable" and submission.application_id is None
    assert message.status == MessageStatus.processed


def test_resubmission_after_missing_information_continues_the_application(
    runner: Runner, pymap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    imap_append(pymap_server, application_email(fill_form({**sample_values("valid"), "exporter.email": None}), sender="a@erable.example"))
    run_until_idle(runner)
    imap_append(pymap_server, application_email(fill_form(sample_values("valid")), sender="a@erable.example"))
    run_until_idle(runner)
    from processors.queue import application_detail, list_applications

    with Session(runner.engine) as session:
        (row,) = list_applications(session)
        detail = application_detail(session, row["id"])
    assert row["state"] == "pending_review"
    assert len(detail["versions"]) == 2
    assert [e["to_state"] for e in detail["audit"] if e["to_state"]] == ["needs_info", "pending_review"]


def test_decisions_need_an_officer_and_follow_the_state_machine(runner: Runner, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    imap_append(pymap_server, application_email(fill_form({**sample_values("valid"), "exporter.email": None}), sender="a@erable.example"))
    run_until_idle(runner)
    with session_scope(runner.engine) as session:
        with pytest.raises(DecisionError, match="only pending_review"):
            approve(session, runner.settings, 1, officer="o.tremblay")
        with pytest.raises(DecisionError, match="officer name"):
            reject(session, runner.settings, 1, officer=" ", reason="x", reason_fr="x (fr)")
        request_info(
            session,
            runner.settings,
            1,
            officer="o.tremblay",
            message="Please give the exporter email.",
            message_fr="Please give the exporter email. (fr)",
        )
        reject(session, runner.settings, 1, officer="o.tremblay", reason="No reply.", reason_fr="No reply. (fr)")
        with pytest.raises(DecisionError, match="rejected: it cannot become"):
            request_info(session, runner.settings, 1, officer="o.tremblay", message="again", message_fr="again (fr)")
    run_until_idle(runner)
    bodies = [text_of(parsed(m[2])) for m in smtp_sink.wait_for(3)]
    assert any("Please give the exporter email." in b for b in bodies)
    assert any("No reply." in b for b in bodies)


def test_activation_code_never_reaches_logs_and_is_redacted_once_sent(
    runner: Runner, pymap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    imap_append(pymap_server, application_email(fill_form(sample_values("valid")), sender="a@erable.example"))
    run_until_idle(runner)
    with capture_logs() as logs:
        with session_scope(runner.engine) as session:
            approve(session, runner.settings, 1, officer="o.tremblay")
        with Session(runner.engine) as session:
            pending = session.exec(select(Notice).where(Notice.kind == "activation")).one()
            assert pending.status == NoticeStatus.pending and b"Activation code: " in pending.raw
        run_until_idle(runner)
    activation = [m for m in smtp_sink.wait_for(2) if m[1] == ["exports@erable.example"]]
    body = text_of(parsed(activation[0][2]))
    code = body.split("Activation code: ")[1].split()[0]
    assert code not in repr(logs)
    with Session(runner.engine) as session:
        sent = session.exec(select(Notice).where(Notice.kind == "activation")).one()
    assert sent.status == NoticeStatus.sent
    assert code.encode() not in sent.raw and sent.raw_redacted is None
    assert b"not kept after sending" in sent.raw


def test_smtp_refusal_fails_the_notice_and_an_outage_defers_it(tmp_path: Path, pymap_server: ImapAccount) -> None:
    with SmtpSink(reject_rcpt={"refused@example.ca"}) as sink:
        quick_retry = {"retry_first_seconds": 0.01, "retry_max_seconds": 0.01}
        settings = flow_settings(tmp_path / "var", pymap_server, sink)
        runner = Runner(settings.model_copy(update={"outbox": settings.outbox.model_copy(update=quick_retry)}))
        imap_append(pymap_server, plain_email(sender="refused@example.ca", subject="q", body="x"))
        run_until_idle(runner)
    with Session(runner.engine) as session:
        notice = session.exec(select(Notice)).one()
    assert notice.status == NoticeStatus.failed and "550" in (notice.last_error or "")

    imap_append(pymap_server, plain_email(sender="ok@example.ca", subject="q2", body="x"))
    report = runner.run_once()  # the sink is stopped: the SMTP server is down
    assert report.send.deferred == 1 and report.errors
    with SmtpSink(port=runner.settings.smtp.port) as sink:
        assert runner.run_once().send.sent == 1
        assert sink.wait_for(1)[0][1] == ["ok@example.ca"]
