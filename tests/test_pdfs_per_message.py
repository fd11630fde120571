"""Bounded work per message: only the first processing.max_pdfs_per_message PDFs are read; the sender is told."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from flow import flow_settings, parsed, run_until_idle, text_of
from servers import ImapAccount, imap_append
from sqlalchemy import func
from sqlmodel import Session, select

from app.runner import Runner
from core.enums import NoticeKind
from core.models import AuditEvent, Notice, Submission
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email
from outbox.render import render_one

SENDER = "Claire Roy <claire.roy@erable.example>"
NBSP = "\u00a0"


def many_copies(count: int) -> bytes:
    """One message carrying count copies of a valid form, each under its own file name."""
    pdf = fill_form(sample_values("valid"))
    message = email.message_from_bytes(application_email(pdf, sender=SENDER, filename="copy-1.pdf"), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    for n in range(2, count + 1):
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"copy-{n}.pdf")
    return message.as_bytes()


def test_only_the_first_ten_pdfs_are_read_and_the_sender_is_told(tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    runner = Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))
    assert runner.settings.processing.max_pdfs_per_message == 10
    imap_append(pymap_server, many_copies(12))
    run_until_idle(runner)

    with Session(runner.engine) as session:
        assert session.exec(select(func.count()).select_from(Submission)).one() == 10
        filenames = {s.filename for s in session.exec(select(Submission))}
        assert filenames == {f"copy-{n}.pdf" for n in range(1, 11)}
        (notice,) = session.exec(select(Notice).where(Notice.kind == NoticeKind.pdfs_not_read)).all()
        (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == "pdfs_not_read")).all()
    assert notice.to_address == "claire.roy@erable.example"
    assert "10" in (event.detail or "") and "2" in (event.detail or "")

    mails = smtp_sink.wait_for(1)
    told = [
        text_of(parsed(raw))
        for _, rcpts, raw in mails
        if rcpts == ["claire.roy@erable.example"] and "were not read" in text_of(parsed(raw))
    ]
    assert len(told) == 1, [text_of(parsed(m[2]))[:200] for m in mails]
    body = told[0]
    assert "12 PDF files" in body and "first 10" in body and "other 2" in body and "one form per message" in body.lower()
    assert f"les 10{NBSP}premiers" in body or "10 premiers" in body
    assert "copy-11.pdf" not in body and "copy-12.pdf" not in body


@pytest.mark.unit
@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_notice_names_counts_only_and_french_uses_non_breaking_spaces(language: str) -> None:
    context = {"pdfs_total": 12, "pdfs_read": 10, "pdfs_not_read": 2}
    rendered = render_one("pdfs_not_read", language, context)
    assert "12" in rendered.body and "10" in rendered.body and "2" in rendered.body
    assert "{{" not in rendered.body and "{%" not in rendered.body
    if language == "fr":
        text = rendered.subject + "\n" + rendered.body
        for mark in (":", ";", "?", "!", "»"):
            assert f" {mark}" not in text, f"an ordinary space before {mark!r}"
        assert "« " not in text
    one = render_one("pdfs_not_read", language, {"pdfs_total": 11, "pdfs_read": 10, "pdfs_not_read": 1})
    assert "1 other PDFs" not in one.body and "1 autres" not in one.body
