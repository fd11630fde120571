"""The daemon: intake, then processing, then sending; once, or in a loop until a stop signal."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field

import structlog
from sqlalchemy.engine import Engine

from core.blobs import BlobStore
from core.db import make_engine, migrate
from core.errors import IntakeError
from core.settings import Settings
from intake.connection import imap_connection
from intake.fetcher import FetchReport, fetch_new_messages
from outbox.sender import SendReport, send_pending
from processors.pipeline import ProcessReport, process_received

log = structlog.get_logger("runner")


@dataclass
class PassReport:
    fetch: FetchReport = field(default_factory=FetchReport)
    process: ProcessReport = field(default_factory=ProcessReport)
    send: SendReport = field(default_factory=SendReport)
    errors: list[str] = field(default_factory=list)


class Runner:
    """Owns the engine and blob store for one settings object."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings)
        self.blobs = BlobStore(settings.blob_dir)
        migrate(self.engine)
        self.stop_event = threading.Event()

    def run_once(self) -> PassReport:
        report = PassReport()
        try:
            with imap_connection(self.settings.mailbox) as client:
                report.fetch = fetch_new_messages(
                    client, settings=self.settings.mailbox, engine=self.engine, blobs=self.blobs
                )
        except IntakeError as exc:
            report.errors.append(str(exc))
            log.error("intake failed", error=str(exc))
        report.process = process_received(self.engine, self.settings, self.blobs)
        report.send = send_pending(self.engine, self.settings.smtp)
        if report.send.deferred and not report.send.sent:
            report.errors.append(f"{report.send.deferred} notice(s) could not be sent yet")
        busy = report.fetch.fetched or report.process.processed or report.send.sent or report.send.deferred
        (log.info if busy else log.debug)(
            "pass done",
            fetched=report.fetch.fetched,
            processed=report.process.processed,
            quarantined=report.process.quarantined,
            sent=report.send.sent,
            deferred=report.send.deferred,
        )
        return report

    def run_forever(self) -> None:
        """Poll at the set interval until SIGTERM or SIGINT; the pass in hand is finished first."""
        self._install_signal_handlers()
        log.info("daemon started", mailbox=self.settings.mailbox.name, interval=self.settings.mailbox.poll_interval)
        while not self.stop_event.is_set():
            self.run_once()
            self.stop_event.wait(self.settings.mailbox.poll_interval)
        log.info("daemon stopped")

    def stop(self) -> None:
        self.stop_event.set()

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop())
