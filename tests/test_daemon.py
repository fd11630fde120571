"""The daemon: IDLE pick-up, new-mail-only polling, the mailbox lease, reconnection and clean stops."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flow import flow_environment, flow_settings, run_until_idle
from imapclient import IMAPClient
from servers import ImapAccount, connect, imap_append
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool
from sqlmodel import Session, select

from app.runner import Runner
from core.db import IDLE_PING_SECONDS
from core.enums import MessageStatus
from core.models import InboundMessage, MailboxState
from core.settings import Settings
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email, plain_email
from intake.lease import acquire_lease


def with_mailbox(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"mailbox": settings.mailbox.model_copy(update=changes)})


@contextmanager
def daemon_thread(runner: Runner) -> Iterator[threading.Thread]:
    thread = threading.Thread(target=runner.run_forever, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        runner.stop()
        thread.join(timeout=15)
        assert not thread.is_alive(), "daemon did not stop"


def test_idle_picks_up_new_mail_within_about_a_second(tmp_path: Path, imap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    settings = with_mailbox(flow_settings(tmp_path / "var", imap_server, smtp_sink), poll_interval=120)
    runner = Runner(settings)
    delays = []
    with daemon_thread(runner):
        time.sleep(1.5)  # the first pass is done and the daemon is idling
        for count in (1, 2, 3):
            started = time.monotonic()
            imap_append(imap_server, plain_email(sender=f"q{count}@example.ca", subject="question", body="hello"))
            smtp_sink.wait_for(count, timeout=10)
            delays.append(time.monotonic() - started)
    # Without IDLE the daemon would sleep its 120 s poll interval; the servers' IDLE wakes in 0.5-0.9 s.
    assert max(delays) < 5, delays


class RecordingClient:
    """An IMAPClient wrapper that records the SEARCH criteria and FETCHed UIDs a pass asks for."""

    def __init__(self, client: IMAPClient) -> None:
        self._client, self.searches, self.fetched = client, [], []

    def search(self, criteria: object) -> list[int]:
        self.searches.append(criteria)
        return self._client.search(criteria)

    def fetch(self, uids: list[int], items: list[bytes]) -> dict:
        self.fetched.extend(uids)
        return self._client.fetch(uids, items)

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)


def test_each_pass_asks_only_for_uids_above_the_last_one(tmp_path: Path, imap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    settings = with_mailbox(flow_settings(tmp_path / "var", imap_server, smtp_sink), processed_folder="")
    runner = Runner(settings)
    for n in range(3):
        imap_append(imap_server, plain_email(sender=f"q{n}@example.ca", subject="question", body="hello"))
    assert runner.run_once().fetch.fetched == 3
    with Session(runner.engine) as session:
        last_uid = session.exec(select(MailboxState)).one().last_uid
    imap_append(imap_server, plain_email(sender="new@example.ca", subject="question", body="hello"))
    with connect(imap_server) as raw_client:
        client = RecordingClient(raw_client)
        again = runner.run_once(client)  # type: ignore[arg-type]
    assert (again.fetch.fetched, again.fetch.duplicates) == (1, 0)
    # the next batch's range first; it holds fewer than a batch, so all that is above (the backlog's end)
    window = f"{last_uid + 1}:{last_uid + settings.mailbox.batch_size + 1}"
    assert client.searches == [["UID", window], ["UID", f"{last_uid + 1}:*"]]
    assert set(client.fetched) == {last_uid + 1}  # the three handled messages were never fetched again
    with connect(imap_server) as check:
        check.select_folder("INBOX")
        assert len(check.search("ALL")) == 4  # left in place


def test_without_idle_the_daemon_polls(tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    settings = with_mailbox(flow_settings(tmp_path / "var", pymap_server, smtp_sink), idle=False, poll_interval=1)
    runner = Runner(settings)
    with daemon_thread(runner):
        time.sleep(0.5)
        imap_append(pymap_server, plain_email(sender="q@example.ca", subject="question", body="hello"))
        assert smtp_sink.wait_for(1, timeout=10)[0][1] == ["q@example.ca"]


def test_uidvalidity_change_rereads_the_folder_without_duplicates(tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    settings = with_mailbox(flow_settings(tmp_path / "var", pymap_server, smtp_sink), processed_folder="")
    runner = Runner(settings)
    imap_append(pymap_server, plain_email(sender="q@example.ca", subject="question", body="hello"))
    run_until_idle(runner)
    with Session(runner.engine) as session:
        state = session.exec(select(MailboxState)).one()
        state.uidvalidity = 1  # as if the server had renumbered the folder
        session.add(state)
        session.commit()
    report = runner.run_once()
    assert (report.fetch.fetched, report.fetch.duplicates) == (0, 1)
    with Session(runner.engine) as session:
        assert len(session.exec(select(InboundMessage)).all()) == 1
    assert len(smtp_sink.messages) == 1


def test_one_fetcher_per_mailbox(tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    settings = flow_settings(tmp_path / "var", pymap_server, smtp_sink)
    first, second = Runner(settings), Runner(settings)
    assert acquire_lease(first.engine, settings.mailbox.name, settings.mailbox.folder, first.holder, 60)
    imap_append(pymap_server, plain_email(sender="q@example.ca", subject="question", body="hello"))
    report = second.run_once()
    assert report.leased_elsewhere and report.fetch.fetched == 0
    assert first.run_once().fetch.fetched == 1


def test_oversized_message_is_quarantined_without_download(tmp_path: Path, imap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    settings = with_mailbox(flow_settings(tmp_path / "var", imap_server, smtp_sink), max_message_bytes=20_000)
    runner = Runner(settings)
    imap_append(imap_server, application_email(fill_form(sample_values("valid")), sender="big@example.ca", subject="huge"))
    imap_append(imap_server, plain_email(sender="small@example.ca", subject="small", body="hello"))
    run_until_idle(runner)
    with Session(runner.engine) as session:
        rows = {row.subject: row for row in session.exec(select(InboundMessage))}
    assert rows["huge"].status == MessageStatus.quarantined and rows["huge"].sha256 is None
    assert rows["huge"].sender == "big@example.ca" and "over the 20000-byte limit" in (rows["huge"].last_error or "")
    with connect(imap_server) as client:
        counts = {folder: len(client.select_folder(folder) and client.search("ALL")) for folder in ("INBOX", "Processed", "Quarantine")}
    assert counts == {"INBOX": 0, "Processed": 1, "Quarantine": 1}


def test_daemon_reconnects_after_the_imap_server_restarts(tmp_path: Path, dovecot_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    settings = with_mailbox(flow_settings(tmp_path / "var", dovecot_server, smtp_sink), poll_interval=1, reconnect_max_seconds=2)
    runner = Runner(settings)
    with daemon_thread(runner):
        imap_append(dovecot_server, plain_email(sender="before@example.ca", subject="one", body="x"))
        smtp_sink.wait_for(1, timeout=10)
        dovecot_server.server.restart()  # type: ignore[union-attr]
        imap_append(dovecot_server, plain_email(sender="after@example.ca", subject="two", body="x"))
        messages = smtp_sink.wait_for(2, timeout=20)
    assert [m[1] for m in messages] == [["before@example.ca"], ["after@example.ca"]]


def test_sigterm_stops_the_daemon_cleanly_and_releases_the_lease(tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    env = flow_environment(tmp_path / "var", pymap_server, smtp_sink)
    script = Path(sys.executable).with_name("cers-intake")
    daemon = subprocess.Popen([str(script), "run"], env={**env, "PATH": "/usr/bin:/bin"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        imap_append(pymap_server, plain_email(sender="q@example.ca", subject="question", body="hello"))
        smtp_sink.wait_for(1, timeout=20)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=15) == 0
    finally:
        daemon.kill()
    assert b"daemon stopped" in daemon.stderr.read()  # type: ignore[union-attr]
    runner = Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))
    with Session(runner.engine) as session:
        assert session.exec(select(MailboxState)).one().lease_holder is None


def test_an_unexpected_error_in_a_pass_does_not_end_the_daemon(
    tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    import app.stages

    settings = with_mailbox(flow_settings(tmp_path / "var", pymap_server, smtp_sink), poll_interval=1, reconnect_max_seconds=1)
    runner = Runner(settings)
    real, calls = app.stages.process_received, []

    def database_busy_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE", {}, Exception("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr(app.stages, "process_received", database_busy_once)
    imap_append(pymap_server, plain_email(sender="q@example.ca", subject="question", body="hello"))
    with daemon_thread(runner):
        assert smtp_sink.wait_for(1, timeout=15)[0][1] == ["q@example.ca"]
    assert len(calls) >= 2


def test_a_database_connection_closed_while_the_daemon_waits_is_replaced_unnoticed(
    tmp_path: Path, dovecot_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    """PostgreSQL ends idle sessions on a restart, a failover or an idle timeout: the next pass takes a new connection
    instead of failing its first statement (on SQLite there is no server to close them; the same flow runs)."""
    runner = Runner(flow_settings(tmp_path / "var", dovecot_server, smtp_sink))
    imap_append(dovecot_server, plain_email(sender="before@example.ca", subject="one", body="hello"))
    run_until_idle(runner)
    closed = close_other_sessions(runner.engine)
    if runner.engine.dialect.name == "postgresql":
        assert closed >= 1  # the daemon's pooled connections, now closed by the server
    time.sleep(IDLE_PING_SECONDS + 0.2)
    imap_append(dovecot_server, plain_email(sender="after@example.ca", subject="two", body="hello"))
    reports = run_until_idle(runner)
    assert [error for report in reports for error in report.errors] == []
    with Session(runner.engine) as session:
        rows = session.exec(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert [(row.subject, row.status, row.attempts, row.last_error) for row in rows] == [
        ("one", MessageStatus.processed, 1, None),
        ("two", MessageStatus.processed, 1, None),
    ]
    assert [recipients for _, recipients, _ in smtp_sink.wait_for(2, timeout=10)] == [["before@example.ca"], ["after@example.ca"]]


def close_other_sessions(engine: Engine) -> int:
    """Have PostgreSQL end every session of engine's database but the one asking; how many it ended."""
    if engine.dialect.name != "postgresql":
        return 0
    outsider = create_engine(engine.url, poolclass=NullPool)
    try:
        with outsider.begin() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        outsider.dispose()
    return int(ended)
