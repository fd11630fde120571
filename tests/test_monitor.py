"""The monitor: status with IMAP STATUS counts, /metrics and /healthz over real HTTP, dashboard data, alerts."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import flow
import uvicorn
from fastapi import FastAPI
from flow import cli, flow_environment
from outbox_helpers import database, outbox_settings, queue_rejections
from prometheus_client.parser import text_string_to_metric_families
from servers import ImapAccount, connect, imap_append
from sqlalchemy.engine import Engine
from sqlmodel import delete, select

from app.cli import _status_text
from app.runner import Runner
from core.db import session_scope
from core.enums import AppState
from core.models import Application, BacklogSnapshot, InboundMessage, MailboxState, Submission, utcnow
from core.settings import Settings
from demo.mailservers import SmtpSink, free_port
from monitor.alerts import check_alerts
from monitor.dashboard import dashboard_data
from monitor.history import backlog_history
from monitor.status import backlog_status
from outbox.sender import send_pending

STATUS_KEYS = {
    "queue",
    "oldest_open_age_business_days",
    "service_level_business_days",
    "past_service_level",
    "outbox",
    "messages_waiting",
    "quarantined_messages",
    "last_poll_at",
    "last_send_at",
}


def _mark_polled(engine: Engine, settings: Settings, at: datetime | None = None) -> None:
    """Record a successful poll, as the fetcher does."""
    with session_scope(engine) as session:
        state = session.exec(select(MailboxState)).first() or MailboxState(mailbox=settings.mailbox.name, folder=settings.mailbox.folder)
        state.last_poll_at = at or utcnow()
        session.add(state)


def test_status_counts_the_mailbox_with_imap_status(tmp_path: Path, pymap_server: ImapAccount) -> None:
    for n in range(3):
        imap_append(pymap_server, f"Subject: {n}\r\nFrom: a@example.ca\r\n\r\nbody {n}\r\n".encode())
    with connect(pymap_server) as client:
        client.select_folder("INBOX")
        client.add_flags(client.search(["ALL"])[:1], [b"\\Seen"])
    with SmtpSink() as sink:
        env = flow_environment(tmp_path / "var", pymap_server, sink)
        summary = json.loads(cli(env, "status", "--json").stdout)
    text = _status_text(summary)
    assert set(summary) >= STATUS_KEYS
    assert summary["mailbox"] == {"reachable": True, "folder": "INBOX", "messages": 3, "unseen": 2, "error": None}
    assert {"pending", "failed", "sent", "retrying", "failed_recently"} <= set(summary["outbox"])
    assert "last_successful_poll_at" in summary and "last_successful_send_at" in summary
    assert "mailbox INBOX: 3 message(s), 2 unseen" in text


@contextmanager
def _silent_server() -> Iterator[int]:
    """Accepts TCP connections and never says a word (an IMAP server that hangs)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_status_says_when_the_mailbox_cannot_be_reached(tmp_path: Path) -> None:
    with _silent_server() as port:
        env = {
            **flow.database_environment(),
            "CERS_STORAGE__PATH": str(tmp_path / "var"),
            "CERS_MAILBOX__PORT": str(port),
            "CERS_MONITOR__IMAP_STATUS_TIMEOUT": "0.5",
        }
        result = cli(env, "status")
        settings = outbox_settings(tmp_path / "direct", free_port(), mailbox__port=str(port), monitor__imap_status_timeout="0.5")
        started = time.monotonic()
        with session_scope(database(settings)) as session:
            as_json = backlog_status(session, settings)
        elapsed = time.monotonic() - started
    assert result.returncode == 0 and "mailbox INBOX: cannot be reached" in result.stdout
    assert "queue: received 0" in result.stdout
    assert elapsed < 3  # the short timeout, not the 30 s of mailbox.timeout
    assert as_json["mailbox"]["reachable"] is False and as_json["mailbox"]["messages"] is None
    assert "timed out" in as_json["mailbox"]["error"]


@contextmanager
def _serve(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_metrics_and_healthz_over_http(tmp_path: Path) -> None:
    from monitor.routes import router

    settings = outbox_settings(tmp_path, free_port(), monitor__max_poll_age_seconds="60")
    engine = database(settings)
    queue_rejections(engine, settings, 2)
    send_pending(engine, settings)  # nothing listens: both wait to retry
    app = FastAPI()
    app.state.settings, app.state.engine = settings, engine
    app.include_router(router)
    with _serve(app) as base:
        status, body = _get(f"{base}/healthz")
        assert status == 503 and json.loads(body)["status"] == "stale"
        _mark_polled(engine, settings, utcnow() - timedelta(seconds=120))
        assert _get(f"{base}/healthz")[0] == 503  # polled, but too long ago
        _mark_polled(engine, settings)
        status, body = _get(f"{base}/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, text = _get(f"{base}/metrics")
    assert status == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for family in text_string_to_metric_families(text) for s in family.samples
    }
    assert samples[("cers_applications", (("state", "rejected"),))] == 2
    assert samples[("cers_notices", (("status", "pending"),))] == 2
    assert samples[("cers_notices_retrying", ())] == 2
    assert samples[("cers_last_poll_timestamp_seconds", ())] > time.time() - 60


def test_dashboard_data_lists_what_needs_attention(tmp_path: Path) -> None:
    with SmtpSink(reject_rcpt={"applicant0@example.ca"}) as sink:
        settings = outbox_settings(tmp_path, sink.port, mailbox__port=str(free_port()))
        engine = database(settings)
        queue_rejections(engine, settings, 2)
        send_pending(engine, settings)
    with session_scope(engine) as session:
        session.add(Application(state=AppState.pending_review, due_on=date.today() - timedelta(days=3), legal_name="Late Ltd"))
    with session_scope(engine) as session:
        data = dashboard_data(session, settings)
    assert data["status"]["mailbox"]["reachable"] is False
    assert [a["legal_name"] for a in data["overdue"]] == ["Late Ltd"]
    assert len(data["failed_notices"]) == 1 and "550" in data["failed_notices"][0]["last_error"]
    assert len(data["delivery_problems"]) == 1 and data["status"]["delivery_problems"] == 1
    assert data["health"]["status"] == "stale"
    json.dumps(data)  # the page and the API can serialise it as is


def test_alert_is_sent_once_then_a_recovery_message(tmp_path: Path) -> None:
    with SmtpSink() as sink:
        settings = outbox_settings(
            tmp_path,
            sink.port,
            monitor__alert_to="watch@cbsa.example",
            monitor__alert_period_minutes=str(0.6 / 60),
            monitor__max_poll_age_seconds="60",
        )
        engine = database(settings)
        assert check_alerts(engine, settings) == ["alert:poll_stale"]  # never polled
        assert check_alerts(engine, settings) == []  # still firing: no second email
        send_pending(engine, settings)
        _mark_polled(engine, settings)
        assert check_alerts(engine, settings) == []  # cleared, but the period since the alert has not passed
        with session_scope(engine) as session:
            assert backlog_status(session, settings, check_mailbox=False)["alerts"][0]["condition"] == "poll_stale"
        time.sleep(0.65)
        assert check_alerts(engine, settings) == ["recovered:poll_stale"]
        time.sleep(0.65)
        assert check_alerts(engine, settings) == []  # cleared and told: nothing more
        send_pending(engine, settings)
        messages = sink.wait_for(2)
    subjects = [m[2].decode() for m in messages]
    assert len(messages) == 2 and all(m[1] == ["watch@cbsa.example"] for m in messages)
    assert "ALERT: the mailbox has not been polled" in subjects[0]
    assert "RECOVERED: the mailbox has not been polled" in subjects[1]
    assert "Auto-Submitted: auto-generated" in subjects[0]


def test_backlog_and_failed_notices_raise_alerts(tmp_path: Path) -> None:
    with SmtpSink(reject_rcpt={"applicant0@example.ca"}) as sink:
        settings = outbox_settings(tmp_path, sink.port, monitor__alert_to="watch@cbsa.example", monitor__backlog_threshold="2")
        engine = database(settings)
        _mark_polled(engine, settings)
        with session_scope(engine) as session:
            for _ in range(3):
                session.add(Application(state=AppState.pending_review))
        queue_rejections(engine, settings, 1)
        send_pending(engine, settings)  # 550: the notice fails
        assert sorted(check_alerts(engine, settings)) == ["alert:backlog", "alert:notices_failed"]
        send_pending(engine, settings)
        bodies = [m[2].decode() for m in sink.wait_for(2)]
    assert any("3 open application(s) (threshold 2)" in b for b in bodies)
    assert any("1 notice(s) failed in the last 24 h" in b for b in bodies)


def test_the_daemon_pass_checks_alerts(tmp_path: Path) -> None:
    with SmtpSink() as sink:
        settings = outbox_settings(tmp_path, sink.port, mailbox__port=str(free_port()), monitor__alert_to="watch@cbsa.example")
        report = Runner(settings).run_once()  # the IMAP server is not there: never polled
        assert report.errors
        (message,) = sink.wait_for(1)
    assert message[1] == ["watch@cbsa.example"] and b"ALERT" in message[2]


def test_history_counts_days_in_the_console_time_zone(tmp_path: Path) -> None:
    """A form read at 21:30 in Toronto (02:30 UTC the next day) counts on Toronto's day, not on the next UTC day."""
    settings = outbox_settings(tmp_path, free_port(), mailbox__port=str(free_port()))
    engine = database(settings)
    with session_scope(engine) as session:
        message = InboundMessage(mailbox="applications", folder="INBOX", uidvalidity=1, uid=1, size=1)
        session.add(message)
        session.flush()
        for day in (20, 21):  # 19 Nov 21:30 and 20 Nov 21:30 in Toronto
            session.add(Submission(message_id=message.id or 0, sha256="0" * 64, created_at=datetime(2026, 11, day, 2, 30, tzinfo=UTC)))
    received = {}
    for zone in (ZoneInfo("America/Toronto"), UTC):
        with session_scope(engine) as session:
            session.execute(delete(BacklogSnapshot))  # the past days are kept once computed: compute them again
            received[str(zone)] = {entry["day"]: entry["received"] for entry in backlog_history(session, date(2026, 11, 20), zone)}
    assert (received["America/Toronto"]["2026-11-19"], received["America/Toronto"]["2026-11-20"]) == (1, 1)
    assert (received["UTC"]["2026-11-19"], received["UTC"]["2026-11-20"]) == (0, 1)
