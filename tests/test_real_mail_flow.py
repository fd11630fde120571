"""Issue 14 end to end: real servers, the daemon, and what reaches the SMTP sink."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from flow import cli, flow_environment, flow_settings, parsed, run_until_idle, text_of
from servers import ImapAccount, imap_append
from sqlmodel import Session, select

from app.runner import Runner
from core.enums import MessageKind
from core.models import Application, AuditEvent, InboundMessage, Notice, Submission
from demo.forms import fill_form, sample_values
from demo.mailservers import PymapServer, SmtpSink
from demo.run import demo_password
from demo.samples import application_email
from processors.queue import application_detail

CORPUS = Path(__file__).parent / "corpus"
EXCEPTION_NAME = r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:Error|Exception)\b"


@pytest.fixture
def runner(tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> Runner:
    return Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))


def _only_notice(runner: Runner) -> Notice:
    with Session(runner.engine) as session:
        return session.exec(select(Notice)).one()


@pytest.mark.parametrize(
    ("content_type", "filename", "data", "says_en", "says_fr"),
    [
        ("application/pdf", "BSF831.pdf", b"", "the file is empty", "le fichier est vide"),
        ("application/octet-stream", "BSF831.PDF", b"", "the file is empty", "le fichier est vide"),
        ("application/pdf", "BSF831.pdf", fill_form(sample_values("valid"))[:4000], "incomplete", "incomplet"),
        ("application/pdf", "BSF831.pdf", b"%PDF-1.7\n1 0 obj <<>> stream\x00\xff garbage\n%%EOF\n", "damaged", "endommagé"),
    ],
    ids=["empty-application-pdf", "empty-octet-stream-named-pdf", "truncated", "damaged"],
)
def test_an_empty_truncated_or_damaged_attachment_gets_the_unreadable_notice_in_plain_words(
    content_type: str,
    filename: str,
    data: bytes,
    says_en: str,
    says_fr: str,
    runner: Runner,
    pymap_server: ImapAccount,
    smtp_sink: SmtpSink,
) -> None:
    imap_append(pymap_server, application_email(data, sender="a@exporter.example", content_type=content_type, filename=filename))
    run_until_idle(runner)
    ((_, _, raw),) = smtp_sink.wait_for(1)
    assert _only_notice(runner).kind == "unreadable_form"
    text = text_of(parsed(raw))
    assert says_en in text and says_fr in text
    assert not re.search(EXCEPTION_NAME, text), text
    with Session(runner.engine) as session:
        submission = session.exec(select(Submission)).one()
    assert submission.status == "unreadable" and submission.error  # the technical reason is kept for the officer


def test_a_bsf831_with_a_robot_sign_is_queued_recorded_with_its_signal_and_not_answered(
    runner: Runner, pymap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    raw = application_email(fill_form(sample_values("valid")), sender="a@exporter.example", extra_headers={"Precedence": "bulk"})
    imap_append(pymap_server, raw)
    run_until_idle(runner)
    assert smtp_sink.messages == []
    with Session(runner.engine) as session:
        application = session.exec(select(Application)).one()
        row = session.exec(select(InboundMessage)).one()
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "reply_suppressed")).one()
        detail = application_detail(session, application.id or 0)
    assert application.state.value == "pending_review"
    assert row.kind == MessageKind.form
    assert row.classified_by == "a BSF831 attached; answers withheld: header Precedence: bulk"
    assert "acknowledgment" in (audit.detail or "")
    assert detail["versions"][0]["message"]["classified_by"] == row.classified_by


def test_a_bounce_returning_a_pdf_that_is_no_bsf831_is_a_bounce_and_its_pdf_is_not_stored(
    runner: Runner, pymap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    # Mailman's simple_43: an ndr@ bounce (no multipart/report) returning a message with a PDF attached
    imap_append(pymap_server, (CORPUS / "robots" / "flufl_bounce" / "simple_43.txt").read_bytes())
    run_until_idle(runner)
    assert smtp_sink.messages == []
    with Session(runner.engine) as session:
        row = session.exec(select(InboundMessage)).one()
        assert session.exec(select(Submission)).all() == []
    assert row.kind == MessageKind.bounce
    assert row.classified_by == "sender ndr@; its PDFs hold no BSF831"


def test_status_logs_in_to_the_demo_mailbox_with_the_password_the_demo_keeps(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    base = tmp_path / "var" / "demo"
    password = demo_password(base)
    assert demo_password(base) == password  # kept: a second command reads the same one
    assert stat.S_IMODE((base / "imap-password").stat().st_mode) == 0o600
    with PymapServer(base / "imap", username="intake", password=password, hash_rounds=1) as imap:
        # what the demo prints: CERS_MAILBOX__PASSWORD="$(cat var/demo/imap-password)" cers-intake status
        kept = (base / "imap-password").read_text(encoding="utf-8").strip()
        account = ImapAccount("pymap", imap.host, imap.port, "intake", kept, imap.maildir, imap)
        env = {**flow_environment(tmp_path / "var", account, smtp_sink), "CERS_MAILBOX__SECURITY": "none"}
        result = cli(env, "status", "--json")
    mailbox = json.loads(result.stdout)["mailbox"]
    assert mailbox["reachable"] is True and mailbox["error"] is None
