"""The outbox against real SMTP servers (aiosmtpd) that refuse, drop, or demand TLS."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from outbox_helpers import (
    database,
    notices,
    outbox_settings,
    queue_rejections,
    send_until_done,
)
from smtp_servers import (
    Authenticator,
    BusyThenReady,
    DropAfterData,
    Handler,
    self_signed_certificate,
    smtp_server,
)
from sqlmodel import Session, select

from app.cli import _queue_text
from core.enums import NoticeStatus
from core.models import Application, AuditEvent
from demo.mailservers import SmtpSink, free_port
from outbox.sender import journal_path, send_pending
from processors.queue import list_applications


def test_421_is_retried_after_a_backoff_then_delivered_once(tmp_path: Path) -> None:
    handler = BusyThenReady(refusals=2)
    with smtp_server(handler) as (_, port):
        settings = outbox_settings(tmp_path, port, outbox__retry_first_seconds="0.6", outbox__retry_max_seconds="0.6")
        engine = database(settings)
        queue_rejections(engine, settings, 3)
        first = send_pending(engine, settings)
        assert (first.sent, first.deferred, first.failed) == (1, 2, 0)
        deferred = [n for n in notices(engine) if n.status == NoticeStatus.pending]
        assert all(n.attempts == 1 and "421" in (n.last_error or "") and n.next_attempt_at for n in deferred)
        assert send_pending(engine, settings).sent == 0  # not due yet: at least half of 0.6 s away
        time.sleep(0.65)
        assert send_pending(engine, settings).sent == 2
    assert sorted(handler.bag.copies().values()) == [1, 1, 1]
    assert all(n.status == NoticeStatus.sent and n.last_error is None for n in notices(engine))


def test_550_fails_the_notice_at_once_and_flags_its_application(tmp_path: Path) -> None:
    with SmtpSink(reject_rcpt={"gone@example.ca"}) as sink:
        settings = outbox_settings(tmp_path, sink.port)
        engine = database(settings)
        (notice_id,) = queue_rejections(engine, settings, 1, to="gone@example.ca")
        report = send_pending(engine, settings)
        assert (report.sent, report.failed) == (0, 1)
        assert send_pending(engine, settings).failed == 0  # never tried again
    (notice,) = notices(engine)
    assert notice.status == NoticeStatus.failed and notice.attempts == 1 and "550" in (notice.last_error or "")
    with Session(engine) as session:
        application = session.get(Application, notice.application_id)
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "notice_failed")).one()
    assert application is not None and "550" in (application.delivery_problem or "")
    assert audit.application_id == notice.application_id and f"#{notice_id}" in (audit.detail or "")
    with Session(engine) as session:
        (row,) = list_applications(session)
    assert "550" in row["delivery_problem"] and "a notice could not be delivered" in _queue_text([row])


@pytest.mark.parametrize("server_kept_it", [False, True], ids=["server-lost-it", "server-kept-it"])
def test_connection_dropped_after_data_is_retried(tmp_path: Path, server_kept_it: bool) -> None:
    handler = DropAfterData(drops=1, keep=server_kept_it)
    with smtp_server(handler) as (_, port):
        settings = outbox_settings(tmp_path, port)
        engine = database(settings)
        queue_rejections(engine, settings, 2)
        send_until_done(engine, settings)
    first, second = notices(engine)
    assert first.status == second.status == NoticeStatus.sent
    assert (first.attempts, second.attempts) == (2, 1)
    copies = handler.bag.copies()
    # the one case that repeats: the server kept the message but its answer never arrived
    assert copies[first.message_id] == (2 if server_kept_it else 1)
    assert copies[second.message_id] == 1


def _tls_server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_starttls_with_a_self_signed_certificate_and_login(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    auth = Authenticator("relay-user", "relay-pass")
    handler = Handler()
    with smtp_server(
        handler,
        tls_context=_tls_server_context(cert, key),
        require_starttls=True,
        authenticator=auth,
        auth_required=True,
        auth_require_tls=True,
    ) as (_, port):
        base = {"smtp__security": "starttls", "smtp__username": "relay-user", "smtp__password": "relay-pass"}
        untrusted = outbox_settings(tmp_path, port, **base)
        engine = database(untrusted)
        queue_rejections(engine, untrusted, 1)
        assert send_pending(engine, untrusted).deferred == 1
        (notice,) = notices(engine)
        assert notice.status == NoticeStatus.pending and "CERTIFICATE_VERIFY_FAILED" in (notice.last_error or "")

        plain = outbox_settings(tmp_path, port, smtp__security="none")
        deadline = time.monotonic() + 5
        while send_pending(engine, plain).deferred == 0:  # until the retry is due
            assert time.monotonic() < deadline
            time.sleep(0.02)
        (notice,) = notices(engine)
        assert notice.status == NoticeStatus.pending and "530" in (notice.last_error or "")  # fix the settings: it waits

        trusted = outbox_settings(tmp_path, port, **base, smtp__ca_file=str(cert))
        send_until_done(engine, trusted)
    assert notices(engine)[0].status == NoticeStatus.sent
    assert len(handler.bag.messages) == 1 and auth.logins == ["relay-user"]


def test_implicit_tls(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    handler = Handler()
    with smtp_server(handler, ssl_context=_tls_server_context(cert, key)) as (_, port):
        settings = outbox_settings(tmp_path, port, smtp__security="tls", smtp__ca_file=str(cert))
        engine = database(settings)
        queue_rejections(engine, settings, 2)
        assert send_pending(engine, settings).sent == 2
    assert len(handler.bag.messages) == 2


def test_a_missing_ca_file_is_a_settings_error(tmp_path: Path) -> None:
    from core.errors import SettingsError

    with pytest.raises(SettingsError, match=r"smtp\.ca_file.*no CA bundle file"):
        outbox_settings(tmp_path, 25, smtp__ca_file=str(tmp_path / "missing.pem"))


class SlowHandler(Handler):
    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        import asyncio

        await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


def test_two_senders_never_send_the_same_notice(tmp_path: Path) -> None:
    handler = SlowHandler()
    with smtp_server(handler) as (_, port):
        settings = outbox_settings(tmp_path, port, outbox__batch_size="100")
        engine = database(settings)
        queue_rejections(engine, settings, 40)
        reports = []
        threads = [threading.Thread(target=lambda: reports.append(send_pending(engine, settings))) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert sum(r.sent for r in reports) == 40 and all(r.sent for r in reports), reports
    copies = handler.bag.copies()
    assert len(copies) == 40 and set(copies.values()) == {1}


_CRASHING_SENDER = """
import os, sys
sys.path.insert(0, {tests!r})
import outbox.sender
from processors.queue import list_applications
from outbox_helpers import database, outbox_settings
settings = outbox_settings({storage!r}, {port}, database__url={url!r})
outbox.sender.RECORD_EVERY = 1  # record each acceptance at once: and die then, after the server's 250, before the database hears
outbox.sender._record_sent = lambda engine, accepted: os._exit(17) if accepted else None
outbox.sender.send_pending(database(settings), settings)
"""


def test_a_sender_that_dies_after_acceptance_does_not_send_again(tmp_path: Path) -> None:
    handler = Handler()
    with smtp_server(handler) as (_, port):
        settings = outbox_settings(tmp_path, port)  # claims last 300 s
        engine = database(settings)
        queue_rejections(engine, settings, 2)
        code = _CRASHING_SENDER.format(tests=str(Path(__file__).parent), storage=str(tmp_path), port=port, url=settings.database.url)
        child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert child.returncode == 17, child.stderr
        assert len(handler.bag.messages) == 1
        first = notices(engine)[0]
        assert first.status == NoticeStatus.pending and first.claimed_by  # the database never heard
        assert first.message_id in journal_path(settings).read_text()
        report = send_pending(engine, settings)  # the dead sender's claim is let go: its process is gone
    assert (report.recovered, report.sent) == (1, 1)
    assert all(n.status == NoticeStatus.sent for n in notices(engine))
    assert sorted(handler.bag.copies().values()) == [1, 1]
    assert journal_path(settings).read_text() == ""


def test_a_notice_still_undelivered_at_the_deadline_fails_for_an_officer(tmp_path: Path) -> None:
    settings = outbox_settings(tmp_path, free_port(), outbox__retry_deadline_days=str(0.6 / 86400))
    engine = database(settings)
    queue_rejections(engine, settings, 1)
    reports = send_until_done(engine, settings)
    (notice,) = notices(engine)
    assert notice.status == NoticeStatus.failed and notice.attempts >= 2
    assert (notice.last_error or "").startswith(f"no delivery after {notice.attempts} attempt(s)")
    assert sum(r.failed for r in reports) == 1
    with Session(engine) as session:
        application = session.get(Application, notice.application_id)
    assert application is not None and "no delivery after" in (application.delivery_problem or "")


def test_rate_limit_spaces_messages_on_one_connection(tmp_path: Path) -> None:
    connections = []

    class Counting(Handler):
        async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
            connections.append(hostname)
            session.host_name = hostname
            return responses

    handler = Counting()
    with smtp_server(handler) as (_, port):
        settings = outbox_settings(tmp_path, port, outbox__rate_per_minute="600")
        engine = database(settings)
        queue_rejections(engine, settings, 6)
        started = time.monotonic()
        assert send_pending(engine, settings).sent == 6
        elapsed = time.monotonic() - started
    assert elapsed >= 0.5  # 6 messages at one every 0.1 s
    assert len(connections) == 1


def test_batch_size_limits_one_pass(tmp_path: Path) -> None:
    with SmtpSink() as sink:
        settings = outbox_settings(tmp_path, sink.port, outbox__batch_size="3")
        engine = database(settings)
        queue_rejections(engine, settings, 5)
        assert send_pending(engine, settings).sent == 3
        assert send_pending(engine, settings).sent == 2
    assert os.path.exists(tmp_path)


def test_an_address_with_accents_needs_a_server_with_smtputf8(tmp_path: Path) -> None:
    modern, old = Handler(), Handler()
    with smtp_server(modern, enable_SMTPUTF8=True) as (_, port):
        settings = outbox_settings(tmp_path, port)
        engine = database(settings)
        queue_rejections(engine, settings, 1, to="josé{}@érable.example")
        assert send_pending(engine, settings).sent == 1
    assert modern.bag.messages[0][0] == ["josé0@érable.example"]
    with smtp_server(old, enable_SMTPUTF8=False) as (_, port):
        settings = outbox_settings(tmp_path, port)
        queue_rejections(engine, settings, 1, to="josé{}@érable.example")
        assert send_pending(engine, settings).failed == 1
    notice = notices(engine)[-1]
    assert notice.status == NoticeStatus.failed and "SMTPUTF8" in (notice.last_error or "")


def test_a_claim_held_elsewhere_is_respected_until_it_expires(tmp_path: Path) -> None:
    from core.models import utcnow
    from outbox.claims import claim_next

    with SmtpSink() as sink:
        settings = outbox_settings(tmp_path, sink.port)
        engine = database(settings)
        queue_rejections(engine, settings, 1)
        assert claim_next(engine, "another-host:4242:abcd", utcnow(), 0.5) is not None
        assert send_pending(engine, settings).sent == 0
        time.sleep(0.55)
        assert send_pending(engine, settings).sent == 1
        assert len(sink.wait_for(1)) == 1


def test_an_unreachable_server_defers_each_due_notice_once_a_batch(tmp_path: Path) -> None:
    settings = outbox_settings(tmp_path, free_port(), outbox__retry_first_seconds="0.001", outbox__retry_max_seconds="0.001")
    engine = database(settings)
    queue_rejections(engine, settings, 3)
    report = send_pending(engine, settings)  # each is due again almost at once, but waits for the next batch
    assert (report.deferred, report.sent, report.failed) == (3, 0, 0)
    assert [n.attempts for n in notices(engine)] == [1, 1, 1]
    assert all("cannot connect to the SMTP server" in (n.last_error or "") for n in notices(engine))
