"""The embedded mail servers and the test servers work as the rest of the suite expects."""

from __future__ import annotations

import mailbox
import smtplib
from pathlib import Path

import pytest
from servers import DovecotServer, ImapAccount, connect, imap_append

from demo import mailservers
from demo.mailservers import PymapServer, SmtpSink, free_port

RAW = (
    b"From: Exporter <exporter@example.com>\r\n"
    b"To: intake@example.org\r\n"
    b"Subject: BSF831 for shipment 42\r\n"
    b"Message-ID: <42@example.com>\r\n"
    b"\r\n"
    b"Please find the form attached.\r\n"
)


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_imap_append_search_fetch_create_move(imap_server: ImapAccount) -> None:
    uid = imap_append(imap_server, RAW)
    assert uid == 1
    with connect(imap_server) as client:
        assert client.has_capability("MOVE")
        assert [name for _, _, name in client.list_folders()] == ["INBOX"]
        client.select_folder("INBOX")
        assert client.search(["SUBJECT", "shipment 42"]) == [1]
        body = client.fetch([1], ["BODY.PEEK[]", "FLAGS"])[1]
        assert crlf(body[b"BODY[]"]) == RAW
        assert b"\\Seen" not in body[b"FLAGS"]

        client.create_folder("Processed")
        assert "Processed" in [name for _, _, name in client.list_folders()]
        client.move([1], "Processed")
        assert client.search() == []
        client.select_folder("Processed")
        assert client.search(["HEADER", "Message-ID", "<42@example.com>"]) == [1]


@pytest.mark.parametrize("turn", ["first", "second"])
def test_each_test_gets_an_empty_mailbox(imap_server: ImapAccount, turn: str) -> None:
    with connect(imap_server) as client:
        assert [name for _, _, name in client.list_folders()] == ["INBOX"]
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
        client.create_folder("Leftover")
        client.append("INBOX", RAW)


def test_wrong_password_is_refused(imap_server: ImapAccount) -> None:
    imap_server.password = "wrong"
    with pytest.raises(Exception, match=r"(?i)auth|fail|invalid"):
        connect(imap_server)


def test_dovecot_restart_keeps_mail(dovecot_instance: DovecotServer) -> None:
    port = dovecot_instance.port
    imap_append(dovecot_instance, RAW)
    dovecot_instance.restart()
    assert dovecot_instance.port == port
    with connect(dovecot_instance) as client:
        assert client.select_folder("INBOX")[b"EXISTS"] >= 1
    assert (dovecot_instance.maildir / "cur").is_dir()


def test_pymap_start_error_includes_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fail = ["/bin/sh", "-c", "echo no backend here >&2; exit 3"]
    monkeypatch.setattr(mailservers, "_pymap_command", lambda: fail)
    with pytest.raises(RuntimeError, match="no backend here"):
        PymapServer(tmp_path).start()


def test_pymap_refuses_a_port_in_use(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    with pytest.raises(RuntimeError, match="already in use"):
        PymapServer(tmp_path, port=smtp_sink.port).start()


def test_smtp_sink_receives_and_files_messages(tmp_path: Path) -> None:
    sent = tmp_path / "sent"
    with SmtpSink(maildir=sent) as sink:
        assert sink.port > 0
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
            smtp.sendmail("bot@example.org", ["exporter@example.com"], RAW)
        [(mail_from, rcpt_tos, content)] = sink.wait_for(1)
    assert mail_from == "bot@example.org"
    assert rcpt_tos == ["exporter@example.com"]
    assert content == RAW
    [filed] = mailbox.Maildir(sent, create=False)
    assert filed["Subject"] == "BSF831 for shipment 42"


def test_smtp_sink_fixture_and_fixed_port(smtp_sink: SmtpSink) -> None:
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as smtp:
        smtp.sendmail("a@example.org", ["b@example.org", "c@example.org"], RAW)
    assert smtp_sink.wait_for(1)[0][1] == ["b@example.org", "c@example.org"]
    port = free_port()
    with SmtpSink(port=port) as fixed:
        assert fixed.port == port


def test_smtp_sink_rejects_configured_recipients() -> None:
    with SmtpSink(reject_rcpt={"Gone@example.com"}) as sink:
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                smtp.sendmail("bot@example.org", ["gone@example.com"], RAW)
            assert refused.value.recipients["gone@example.com"][0] == 550
            partial = smtp.sendmail("bot@example.org", ["gone@example.com", "ok@example.com"], RAW)
        assert partial["gone@example.com"][0] == 550
        [(_, rcpt_tos, _)] = sink.wait_for(1)
        assert rcpt_tos == ["ok@example.com"]


def test_smtp_sink_wait_for_times_out() -> None:
    with SmtpSink() as sink, pytest.raises(TimeoutError):
        sink.wait_for(1, timeout=0.05)
