"""Kill the daemon with SIGKILL at random points while it drains a real Dovecot; nothing is lost or doubled."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from flow import daemon_environment, flow_settings, parsed
from servers import ImapAccount, connect
from sqlmodel import Session, select

from app.runner import Runner
from core.enums import MessageKind, MessageStatus, NoticeStatus
from core.models import InboundMessage, Notice, Submission
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email, plain_email
from outbox.sender import INTERRUPTED

MESSAGES = 200
SEED = int(os.environ.get("INTAKE_FAULT_SEED", random.randrange(1 << 30)))


def drain_messages() -> list[bytes]:
    """A mix of valid forms, incomplete forms and mail without a form, each with its own Message-ID."""
    valid = fill_form(sample_values("valid"))
    incomplete = fill_form(sample_values("incomplete"))
    out = []
    for n in range(MESSAGES):
        sender = f"applicant{n}@exporter{n % 17}.example"
        if n % 4 == 0:
            out.append(application_email(valid, sender=sender, subject=f"form {n}"))
        elif n % 4 == 1:
            out.append(application_email(incomplete, sender=sender, subject=f"incomplete {n}"))
        else:
            out.append(plain_email(sender=sender, subject=f"question {n}", body="How do I apply?"))
    return out


def start_daemon(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).with_name("cers-intake")
    with open(log, "ab") as handle:
        return subprocess.Popen([str(script), "run"], env=env, stdout=handle, stderr=handle)


def inbox_empty(imap: ImapAccount) -> bool:
    with connect(imap) as client:
        client.select_folder("INBOX")
        return not client.search("ALL")


def settled(runner: Runner, imap: ImapAccount) -> bool:
    with Session(runner.engine) as session:
        rows = session.exec(select(InboundMessage)).all()
        pending = session.exec(select(Notice).where(Notice.status == NoticeStatus.pending)).all()
    done = all(row.status != MessageStatus.received and row.moved for row in rows)
    return len(rows) == MESSAGES and done and not pending and inbox_empty(imap)


@pytest.mark.parametrize("restart_imap", [False, True], ids=["sigkill", "sigkill-and-imap-restart"])
def test_sigkill_at_random_points_loses_and_doubles_nothing(
    restart_imap: bool, tmp_path: Path, dovecot_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    rng = random.Random(SEED)
    with connect(dovecot_server) as client:
        for raw in drain_messages():
            client.append("INBOX", raw)
    env = daemon_environment(
        tmp_path / "var",
        dovecot_server,
        smtp_sink,
        CERS_MAILBOX__POLL_INTERVAL="0.3",
        CERS_MAILBOX__BATCH_SIZE="10",
        CERS_MAILBOX__RECONNECT_MAX_SECONDS="1",
        CERS_MAILBOX__LEASE_SECONDS="2",
        CERS_PROCESSING__MAX_AUTO_REPLIES_PER_DAY="1000",
        CERS_OUTBOX__RATE_PER_MINUTE="0",
        CERS_OUTBOX__CLAIM_SECONDS="2",
        CERS_OUTBOX__RETRY_FIRST_SECONDS="1",
    )
    runner = Runner(flow_settings(tmp_path / "var", dovecot_server, smtp_sink))
    log = tmp_path / "daemon.log"
    kills, deadline = 0, time.monotonic() + 300
    while time.monotonic() < deadline:
        daemon = start_daemon(env, log)
        time.sleep(rng.uniform(1.5, 5.0))
        if restart_imap and kills == 2:
            dovecot_server.server.restart()  # type: ignore[union-attr]
        if settled(runner, dovecot_server):
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=15)
            break
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=15)
        kills += 1
    else:
        pytest.fail(f"not drained after {kills} kills (seed {SEED}); log: {log.read_text()[-3000:]}")

    with Session(runner.engine) as session:
        rows = session.exec(select(InboundMessage)).all()
        submissions = session.exec(select(Submission)).all()
        notices = session.exec(select(Notice)).all()
    subjects = Counter(row.subject for row in rows)
    assert len(rows) == MESSAGES and max(subjects.values()) == 1, f"seed {SEED}"
    forms = [row for row in rows if row.kind == MessageKind.form]
    assert len(forms) == MESSAGES // 2
    assert Counter(s.message_id for s in submissions) == Counter(row.id for row in forms), f"seed {SEED}"
    assert all(s.application_id is not None for s in submissions)
    assert sum(row.kind == MessageKind.correspondence for row in rows) == MESSAGES // 2
    assert all(row.status == MessageStatus.processed for row in rows), f"seed {SEED}"
    delivered = Counter(parsed(raw)["Message-ID"] for _, _, raw in smtp_sink.messages)
    assert max(delivered.values()) == 1, f"a notice was sent twice (seed {SEED}, {kills} kills)"
    assert len(notices) == MESSAGES, f"seed {SEED}"
    # a notice whose sender was killed while handing it to the server is left for an officer, never resent
    interrupted = {n.message_id for n in notices if n.status == NoticeStatus.failed and n.last_error == INTERRUPTED}
    assert all(n.status == NoticeStatus.sent for n in notices if n.message_id not in interrupted), f"seed {SEED}"
    assert {n.message_id for n in notices} - interrupted <= set(delivered), f"seed {SEED}"
    assert len(interrupted) <= kills
    with connect(dovecot_server) as client:
        client.select_folder("Processed")
        assert len(client.search("ALL")) == MESSAGES
