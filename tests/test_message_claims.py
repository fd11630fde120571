"""Message claims: a claim held by a worker elsewhere is respected until it runs out;
a message that keeps stopping its worker is quarantined, and takes no other message with it."""

from __future__ import annotations

import socket
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from flow import flow_settings
from servers import ImapAccount, imap_append
from sqlalchemy import event
from sqlmodel import Session, select

import processors.pipeline
from app.runner import Runner
from core.enums import MessageStatus
from core.models import AuditEvent, InboundMessage, utcnow
from demo.mailservers import SmtpSink
from demo.samples import plain_email
from intake.connection import imap_connection
from intake.fetcher import fetch_new_messages
from processors.pipeline import process_received
from processors.queue import status_summary


def recorded(runner: Runner, imap: ImapAccount, subject: str) -> int:
    imap_append(imap, plain_email(sender="q@example.ca", subject=subject, body="hello"))
    with imap_connection(runner.settings.mailbox) as client:
        fetch_new_messages(client, settings=runner.settings.mailbox, engine=runner.engine, blobs=runner.blobs)
    with Session(runner.engine) as session:
        row = session.exec(select(InboundMessage).where(InboundMessage.subject == subject)).one()
    assert row.id is not None
    return row.id


def set_claim(runner: Runner, row_id: int, holder: str, seconds_left: float, attempts: int) -> None:
    with Session(runner.engine) as session:
        row = session.get(InboundMessage, row_id)
        assert row is not None
        row.claimed_by, row.claim_until, row.attempts = holder, utcnow() + timedelta(seconds=seconds_left), attempts
        session.add(row)
        session.commit()


def row_of(runner: Runner, row_id: int) -> InboundMessage:
    with Session(runner.engine) as session:
        row = session.get(InboundMessage, row_id)
        assert row is not None
        return row


def test_a_live_claim_is_left_alone_and_an_expired_one_is_taken_over(
    tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    runner = Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))
    row_id = recorded(runner, pymap_server, "question")
    set_claim(runner, row_id, "another-host:4242:feedbeef", 60, attempts=1)  # a worker on another machine has it
    assert process_received(runner.engine, runner.settings, runner.blobs).processed == 0
    assert row_of(runner, row_id).status == MessageStatus.received
    with Session(runner.engine) as session:
        assert status_summary(session)["messages_waiting"] == 1

    set_claim(runner, row_id, "another-host:4242:feedbeef", -1, attempts=1)  # that worker died; its claim ran out
    assert process_received(runner.engine, runner.settings, runner.blobs).processed == 1
    row = row_of(runner, row_id)
    assert (row.status, row.attempts, row.claimed_by) == (MessageStatus.processed, 2, None)
    with Session(runner.engine) as session:
        assert status_summary(session)["messages_waiting"] == 0


def test_a_message_that_stopped_its_worker_every_time_is_quarantined(
    tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    runner = Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))
    row_id = recorded(runner, pymap_server, "poison")
    attempts = runner.settings.processing.max_attempts
    set_claim(runner, row_id, "another-host:4242:feedbeef", -1, attempts=attempts)
    assert process_received(runner.engine, runner.settings, runner.blobs).quarantined == 1
    row = row_of(runner, row_id)
    assert row.status == MessageStatus.quarantined and f"processing stopped {attempts} times" in (row.last_error or "")
    with Session(runner.engine) as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "quarantine_message")).one()


def test_a_claim_left_by_a_dead_process_on_this_host_is_taken_over_at_once(
    tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    runner = Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))
    row_id = recorded(runner, pymap_server, "question")
    exited = subprocess.Popen(["true"])  # its process id belongs to no running process once it has been waited for
    exited.wait()
    set_claim(runner, row_id, f"{socket.gethostname()}:{exited.pid}:0000", 300, attempts=1)
    assert process_received(runner.engine, runner.settings, runner.blobs).processed == 1


class WorkerKilled(BaseException):
    """Stands for the worker's process dying mid-message: nothing in the pipeline catches it."""


def test_a_message_that_kills_its_worker_takes_no_other_message_with_it(
    tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The messages after the killer are read ahead once, on the killer's first try; from then on the killer is alone."""
    runner = Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))
    killer = recorded(runner, pymap_server, "killer")
    innocent = recorded(runner, pymap_server, "innocent")
    second = recorded(runner, pymap_server, "second innocent")  # read ahead beside the first (READ_AHEAD)
    real = processors.pipeline.process_message

    def kill_on_killer(session, settings, row, reading):  # type: ignore[no-untyped-def]
        if row.subject == "killer":
            raise WorkerKilled
        return real(session, settings, row, reading)

    monkeypatch.setattr(processors.pipeline, "process_message", kill_on_killer)
    exited = subprocess.Popen(["true"])
    exited.wait()
    dead = f"{socket.gethostname()}:{exited.pid}:0000"  # the killed worker's claims name a process that is gone
    for _ in range(runner.settings.processing.max_attempts):
        with pytest.raises(WorkerKilled):
            process_received(runner.engine, runner.settings, runner.blobs)
        for row_id in (killer, innocent, second):
            if (row := row_of(runner, row_id)).claimed_by:
                set_claim(runner, row_id, dead, 300, attempts=row.attempts)
    report = process_received(runner.engine, runner.settings, runner.blobs)
    assert (report.quarantined, report.processed) == (1, 2)
    assert row_of(runner, killer).status == MessageStatus.quarantined
    assert (row_of(runner, innocent).status, row_of(runner, innocent).attempts) == (MessageStatus.processed, 2)
    assert (row_of(runner, second).status, row_of(runner, second).attempts) == (MessageStatus.processed, 2)


def test_each_message_is_stored_in_the_transaction_that_claims_the_next_one(
    tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    """One commit a message, not two: the claim the next turn starts with is made where the message is stored."""
    runner = Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))
    rows = [recorded(runner, pymap_server, f"question {n}") for n in range(6)]
    commits: list[int] = []
    event.listen(runner.engine, "commit", lambda _connection: commits.append(1))
    assert process_received(runner.engine, runner.settings, runner.blobs).processed == 6
    # the first claims (one, then READ_AHEAD read ahead), then one commit a message; two before them free dead claims
    assert len(commits) <= 1 + processors.pipeline.READ_AHEAD + len(rows) + 2
    for row_id in rows:
        row = row_of(runner, row_id)
        assert (row.status, row.attempts, row.claimed_by) == (MessageStatus.processed, 1, None)
