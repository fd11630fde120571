"""`run --workers 4` over 1,000 messages on a real Dovecot: each message processed once, one worker killed midway."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from flow import daemon_environment, flow_settings, parsed
from servers import ImapAccount, connect
from sqlmodel import Session, func, select
from stdnum import luhn

from app.runner import Runner
from core.enums import MessageKind, MessageStatus, NoticeStatus
from core.models import Application, InboundMessage, Notice, Submission
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email, plain_email

MESSAGES = 1000
EXPORTERS = 20


def business_number(n: int) -> str:
    base = f"{87000000 + n:08d}"
    return f"{base}{luhn.calc_check_digit(base)}RM0001"


def messages() -> list[bytes]:
    """Valid forms from 20 exporters (several forms each), incomplete forms, and mail without a form."""
    valid = [fill_form({**sample_values("valid"), "exporter.business_number": business_number(n)}) for n in range(EXPORTERS)]
    incomplete = fill_form(sample_values("incomplete"))
    out = []
    for n in range(MESSAGES):
        sender = f"applicant{n}@exporter{n % 23}.example"
        if n % 4 in (0, 1):
            exporter = (n // 4 * 2 + n % 4) % EXPORTERS
            # an exporter's forms come from its own address: only then do they continue one application
            out.append(application_email(valid[exporter], sender=f"forms@exporter{exporter}.example", subject=f"form {n}"))
        elif n % 4 == 2:
            out.append(application_email(incomplete, sender="forms@incomplete.example", subject=f"incomplete {n}"))
        else:
            out.append(plain_email(sender=sender, subject=f"question {n}", body="How do I apply?"))
    return out


def events(log: Path) -> list[dict]:
    lines = log.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def drained(runner: Runner, imap: ImapAccount) -> bool:
    with Session(runner.engine) as session:
        rows = session.exec(select(InboundMessage)).all()
        pending = session.exec(select(func.count()).select_from(Notice).where(Notice.status == NoticeStatus.pending)).one()
    if len(rows) < MESSAGES or pending or not all(row.status != MessageStatus.received and row.moved for row in rows):
        return False
    with connect(imap) as client:
        client.select_folder("INBOX")
        return not client.search("ALL")


def processed_count(runner: Runner) -> int:
    with Session(runner.engine) as session:
        return session.exec(select(func.count()).select_from(InboundMessage).where(InboundMessage.status == MessageStatus.processed)).one()


def test_four_workers_process_each_of_a_thousand_messages_once(tmp_path: Path, dovecot_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    with connect(dovecot_server) as client:
        for raw in messages():
            client.append("INBOX", raw)
    env = daemon_environment(
        tmp_path / "var",
        dovecot_server,
        smtp_sink,
        CERS_LOGGING__FORMAT="json",
        CERS_LOGGING__LEVEL="info",
        CERS_MAILBOX__BATCH_SIZE="50",
        CERS_PROCESSING__MAX_AUTO_REPLIES_PER_DAY="1000",
        CERS_OUTBOX__RATE_PER_MINUTE="0",
    )
    runner = Runner(flow_settings(tmp_path / "var", dovecot_server, smtp_sink))
    log = tmp_path / "daemon.log"
    with open(log, "ab") as handle:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).with_name("cers-intake")), "run", "--workers", "4"], env=env, stdout=handle, stderr=handle
        )
    try:
        killed = None
        deadline = time.monotonic() + 600
        while not drained(runner, dovecot_server):
            assert daemon.poll() is None, f"the daemon stopped: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"not drained in 600 s: {log.read_text()[-3000:]}"
            if killed is None and processed_count(runner) >= MESSAGES // 5:
                killed = next(e["pid"] for e in events(log) if e["event"] == "worker started" and e.get("worker") == 1)
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.5)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    assert daemon.returncode == 0, log.read_text()[-3000:]
    logged = events(log)
    assert killed is not None and any(e["event"] == "worker stopped unexpectedly; starting it again" and e["pid"] == killed for e in logged)

    with Session(runner.engine) as session:
        rows = session.exec(select(InboundMessage)).all()
        submissions = session.exec(select(Submission)).all()
        applications = session.exec(select(Application)).all()
        notices = session.exec(select(Notice)).all()
    assert len(rows) == MESSAGES and max(Counter(row.subject for row in rows).values()) == 1
    assert all(row.status == MessageStatus.processed and row.claimed_by is None for row in rows)
    forms = [row for row in rows if row.kind == MessageKind.form]
    assert Counter(s.message_id for s in submissions) == Counter(row.id for row in forms)
    # forms of one exporter continue one application, however the workers shared them
    assert len(applications) == EXPORTERS + 1
    processed_by = {e["message_row"]: e.get("worker") for e in logged if e["event"] == "message processed"}
    done = Counter(e["message_row"] for e in logged if e["event"] == "message processed")
    assert max(done.values()) == 1
    # the killed worker may have committed its last message and died before logging it
    assert len({row.id for row in rows} - set(done)) <= 1
    assert set(processed_by.values()) == {0, 1, 2, 3}
    assert not any(e.get("worker") is None and e["event"] == "message processed" for e in logged)
    delivered = Counter(parsed(raw)["Message-ID"] for _, _, raw in smtp_sink.messages)
    assert len(notices) == MESSAGES and all(n.status == NoticeStatus.sent for n in notices)
    assert len(delivered) == MESSAGES and max(delivered.values()) == 1
    with connect(dovecot_server) as client:
        client.select_folder("Processed")
        assert len(client.search("ALL")) == MESSAGES
