"""Forms sent by real mail clients' shapes of MIME reach the queue, on a real IMAP server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import client_messages as clients
import pytest
from flow import flow_settings, run_until_idle
from servers import ImapAccount, imap_append
from sqlmodel import Session, select

from app.runner import Runner
from core.models import Application, InboundMessage, Submission
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink

PDF = fill_form(sample_values("valid"))
CASES: dict[str, tuple[Callable[[bytes], bytes], str | None]] = {
    "outlook-winmail.dat": (clients.outlook_rich_text, "BSF831.pdf"),
    "apple-mail-inline": (clients.apple_mail_inline, "BSF831.pdf"),
    "gmail-rfc2047-name": (clients.gmail_rfc2047_name, "Demande d'accès été.pdf"),
    "thunderbird-rfc2231-name": (clients.thunderbird_rfc2231_name, "Formulaire BSF831 révisé.pdf"),
    "webmail-octet-stream": (clients.webmail_octet_stream, "BSF831.PDF"),
    "forwarded-message": (clients.forwarded_as_attachment, "Demande d'accès été.pdf"),
    "legacy-charsets": (clients.legacy_charset_headers, "résumé.pdf"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_client_shaped_message_reaches_the_queue(case: str, tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    build, filename = CASES[case]
    imap_append(pymap_server, build(PDF))
    runner = Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))
    run_until_idle(runner)
    with Session(runner.engine) as session:
        (submission,) = session.exec(select(Submission)).all()
        (application,) = session.exec(select(Application)).all()
        (message,) = session.exec(select(InboundMessage)).all()
    assert (submission.status, submission.filename) == ("parsed", filename)
    assert application.exporter_business_number == "123456782RM0001"
    assert smtp_sink.wait_for(1)[0][1] == [message.reply_to or message.sender]


def test_legacy_charset_headers_are_decoded(tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    imap_append(pymap_server, clients.legacy_charset_headers(PDF))
    runner = Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))
    run_until_idle(runner)
    with Session(runner.engine) as session:
        (message,) = session.exec(select(InboundMessage)).all()
    assert message.subject == "Demande d'accès à SCDE"
    assert message.sender == "levesque@legacy.example"


def test_each_pdf_in_one_message_is_a_submission(tmp_path: Path, imap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    other = fill_form({**sample_values("valid"), "exporter.business_number": "987654324RM0001", "exporter.legal_name": "Maple Syrup Co."})
    imap_append(imap_server, clients.two_forms(PDF, other))
    runner = Runner(flow_settings(tmp_path / "var", imap_server, smtp_sink))
    run_until_idle(runner)
    with Session(runner.engine) as session:
        applications = session.exec(select(Application).order_by(Application.id)).all()
    assert [a.legal_name for a in applications] == ["Érable Exports Ltée", "Maple Syrup Co."]
    assert len(smtp_sink.wait_for(2)) == 2
