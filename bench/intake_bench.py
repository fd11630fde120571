"""Intake benchmarks on a real Dovecot: poll cost with 50,000 processed messages, and IDLE pick-up delay.

Run: .venv/bin/python bench/intake_bench.py [--messages 50000] [--samples 20]   (as root, Dovecot installed)
Each figure is printed next to a baseline measured in the same run, with their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from common import fill_maildir, settings_for
from imapclient import IMAPClient
from servers import DovecotServer, fresh_account
from sqlalchemy import insert

from app.runner import Runner
from core.db import session_scope
from core.models import InboundMessage, MailboxState
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email, plain_email
from intake.connection import imap_connection
from intake.fetcher import fetch_new_messages


def processed_long_ago(count: int) -> Iterator[bytes]:
    body = plain_email(sender="old@example.ca", subject="processed long ago", body="x")
    for n in range(count):
        yield body.replace(b"processed long ago", f"processed long ago {n}".encode())


def timed_polls(runner: Runner, rounds: int) -> list[float]:
    times = []
    with imap_connection(runner.settings.mailbox) as client:
        for _ in range(rounds):
            started = time.perf_counter()
            fetch_new_messages(client, settings=runner.settings.mailbox, engine=runner.engine, blobs=runner.blobs)
            times.append(time.perf_counter() - started)
    return times


def poll_cost(server: DovecotServer, sink: SmtpSink, work: Path, count: int, rounds: int) -> None:
    empty = fresh_account("dovecot", server)
    full = fresh_account("dovecot", server)
    fill_maildir(full, processed_long_ago(count))
    runners = {}
    for name, account in (("empty", empty), ("full", full)):
        runner = Runner(settings_for(account, sink, work / name, processed_folder=""))
        runners[name] = runner
    with IMAPClient(full.host, full.port, ssl=False) as client:
        client.login(full.username, full.password)
        uidvalidity = int(client.select_folder("INBOX")[b"UIDVALIDITY"])
        uids = client.search("ALL")
    full_runner = runners["full"]
    with session_scope(full_runner.engine) as session:
        session.execute(
            insert(InboundMessage),
            [
                {
                    "mailbox": "applications",
                    "folder": "INBOX",
                    "uidvalidity": uidvalidity,
                    "uid": uid,
                    "sha256": f"{uid:064x}",
                    "size": 1,
                    "status": "processed",
                    "moved": True,
                    "attempts": 0,
                    "received_at": time_now(),
                }
                for uid in uids
            ],
        )
        session.add(MailboxState(mailbox="applications", folder="INBOX", uidvalidity=uidvalidity, last_uid=max(uids)))
    empty_times = timed_polls(runners["empty"], rounds)
    full_times = timed_polls(full_runner, rounds)
    with IMAPClient(full.host, full.port, ssl=False) as client:
        client.login(full.username, full.password)
        client.select_folder("INBOX")
        started = time.perf_counter()
        for _ in range(rounds):
            client.search("ALL")
        naive = (time.perf_counter() - started) / rounds
    e, f = statistics.median(empty_times), statistics.median(full_times)
    print(f"poll cost, {len(uids)} processed messages in the folder vs an empty folder ({rounds} polls each, median):")
    print(f"  empty folder          {e * 1000:8.2f} ms   (baseline)")
    print(f"  {len(uids)} processed     {f * 1000:8.2f} ms   ratio {f / e:5.2f}")
    print(f"  (a SEARCH ALL alone on the full folder takes {naive * 1000:.2f} ms, {naive / e:.1f}x an empty poll)")


def time_now():  # type: ignore[no-untyped-def]
    from core.models import utcnow

    return utcnow()


def pickup_delay(server: DovecotServer, sink: SmtpSink, work: Path, samples: int) -> None:
    account = fresh_account("dovecot", server)
    runner = Runner(settings_for(account, sink, work / "pickup", poll_interval="120", lease_seconds="600"))
    pdf = fill_form(sample_values("valid"))
    thread = threading.Thread(target=runner.run_forever, daemon=True)
    thread.start()
    time.sleep(1.5)
    delays, raw_idle = [], []
    watcher = IMAPClient(account.host, account.port, ssl=False)
    watcher.login(account.username, account.password)
    watcher.select_folder("INBOX")
    appender = IMAPClient(account.host, account.port, ssl=False)
    appender.login(account.username, account.password)
    try:
        for n in range(samples):
            sink.clear()
            watcher.idle()
            started = time.perf_counter()
            appender.append("INBOX", application_email(pdf, sender=f"a{n}@exporter.example"))
            while not any(r[1] == b"EXISTS" for r in watcher.idle_check(timeout=5)):
                pass
            raw_idle.append(time.perf_counter() - started)
            watcher.idle_done()
            sink.wait_for(1, timeout=30)
            delays.append(time.perf_counter() - started)
            time.sleep(0.3)
    finally:
        runner.stop()
        thread.join(timeout=15)
        watcher.logout()
        appender.logout()
    q = lambda values, p: statistics.quantiles(values, n=100)[p - 1]  # noqa: E731
    print(f"pick-up delay under IDLE, APPEND to acknowledgment accepted by the SMTP sink ({samples} samples):")
    print(f"  bare IDLE notification  p50 {statistics.median(raw_idle) * 1000:7.1f} ms  p95 {q(raw_idle, 95) * 1000:7.1f} ms  (baseline)")
    print(
        f"  cers-intake pick-up     p50 {statistics.median(delays) * 1000:7.1f} ms  p95 {q(delays, 95) * 1000:7.1f} ms  "
        f"ratio p50 {statistics.median(delays) / statistics.median(raw_idle):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cers-bench-"))
    with DovecotServer() as server, SmtpSink() as sink:
        pickup_delay(server, sink, work, args.samples)
        poll_cost(server, sink, work, args.messages, args.rounds)


if __name__ == "__main__":
    main()
