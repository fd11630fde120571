"""An SMTP outage, measured: every notice delivered once after the server returns.

`.venv/bin/python -m pytest -q -s tests/test_outbox_outage.py` prints the figures."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

from outbox_helpers import database, notices, outbox_settings, queue_rejections
from smtp_servers import Handler, smtp_server

from core.enums import NoticeStatus
from core.models import utcnow
from core.settings import OutboxSettings
from demo.mailservers import free_port
from outbox.retry import next_attempt
from outbox.sender import send_pending

OUTAGE_SECONDS = 2.0


def test_outage_every_notice_delivered_once(tmp_path: Path) -> None:
    port = free_port()
    settings = outbox_settings(
        tmp_path, port, outbox__retry_first_seconds="0.1", outbox__retry_max_seconds="0.4", outbox__batch_size="10", smtp__timeout="2"
    )
    engine = database(settings)
    queue_rejections(engine, settings, 20)
    stop = threading.Event()
    reports = []

    def daemon() -> None:  # two senders polling every 0.05 s, as two daemons would
        while not stop.is_set():
            reports.append(send_pending(engine, settings))
            stop.wait(0.05)

    senders = [threading.Thread(target=daemon) for _ in range(2)]
    for sender in senders:
        sender.start()
    down_since = time.monotonic()
    time.sleep(OUTAGE_SECONDS / 2)
    queue_rejections(engine, settings, 10, to="late{}@example.ca")  # more arrive while the server is down
    time.sleep(OUTAGE_SECONDS / 2)
    handler = Handler()
    with smtp_server(handler, port=port):
        outage = time.monotonic() - down_since
        deadline = time.monotonic() + 20
        while any(n.status == NoticeStatus.pending for n in notices(engine)) and time.monotonic() < deadline:
            time.sleep(0.02)
        drained = time.monotonic() - down_since - outage
        stop.set()
        for sender in senders:
            sender.join(10)
    rows = notices(engine)
    copies = handler.bag.copies()
    delivered = sum(1 for row in rows if copies[row.message_id] >= 1)
    twice = sum(1 for count in copies.values() if count > 1)
    tries_while_down = sum(r.deferred for r in reports)
    print(
        f"\noutage test: {len(rows)} notices, SMTP server down {outage:.1f} s, {delivered} delivered, {twice} twice, "
        f"{tries_while_down} deferrals while down, all delivered {drained:.2f} s after the server returned"
    )
    assert delivered == len(rows) == 30 and twice == 0
    assert all(row.status == NoticeStatus.sent for row in rows)
    assert tries_while_down >= 30  # every notice was tried and put back at least once
    assert drained < 5  # a few retry_max_seconds after the server returned, not a whole backoff cycle


def test_default_schedule_for_an_hour_long_outage() -> None:
    """With the default settings, a notice written as a 1-hour outage starts is tried about a dozen
    times and goes out at most retry_max_seconds after the server returns."""
    settings = OutboxSettings()
    start = utcnow()
    outage_end = start + timedelta(hours=1)
    now, attempts = start, 0
    while True:
        attempts += 1
        if now >= outage_end:
            break
        retry = next_attempt(attempts, start, now, settings)
        assert retry is not None
        now = retry
    wait_after = (now - outage_end).total_seconds()
    print(f"\ndefault schedule: 1-hour outage, delivered on attempt {attempts}, {wait_after:.0f} s after the server returned")
    assert wait_after <= settings.retry_max_seconds
    assert 5 <= attempts <= 20
