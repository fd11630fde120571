"""The daemon: intake, then processing, then sending; once, or in a loop until a stop signal.

A runner has a role. The default does everything in one process. With `run --workers N`, one
runner fetches (holding the mailbox lease) and moves handled mail, and N worker runners process
recorded messages and send notices, each claiming one row at a time (core/workers.py).
"""

from __future__ import annotations

import enum
import signal
import threading
from dataclasses import dataclass, field, fields

import structlog
from imapclient import IMAPClient
from sqlalchemy.engine import Engine

from core.backoff import Backoff
from core.blobs import BlobStore
from core.claims import new_holder
from core.db import make_engine, migrate
from core.errors import IntakeError, MailboxError
from core.settings import Settings
from intake.connection import imap_connection
from intake.fetcher import (
    FetchReport,
    fetch_new_messages,
    has_new_mail,
    has_unmoved,
    settle_messages,
)
from intake.lease import acquire_lease, lease_holder, release_lease
from intake.watch import wait_for_mail
from monitor.alerts import check_alerts
from outbox.sender import SendReport, send_pending
from processors.pipeline import ProcessReport, process_received

log = structlog.get_logger("runner")
# Handled mail is moved in chunks of this many messages at most: in a large maildir folder one
# MOVE costs the server a rewrite of the folder's index, however few messages it moves.
MOVE_EVERY = 500
# A fetcher whose workers still have mail in hand looks this often (seconds) for mail to move.
SETTLE_SECONDS = 2.0


class Role(str, enum.Enum):
    all = "all"  # fetch, process and send in this process
    fetcher = "fetcher"  # fetch and move handled mail; workers process and send
    worker = "worker"  # process and send; another process fetches


@dataclass
class PassReport:
    fetch: FetchReport = field(default_factory=FetchReport)
    process: ProcessReport = field(default_factory=ProcessReport)
    send: SendReport = field(default_factory=SendReport)
    errors: list[str] = field(default_factory=list)
    mailbox_failed: bool = False
    leased_elsewhere: bool = False


def accumulate(total: object, part: object) -> None:
    """Add a stage report's counts into the pass's."""
    for item in fields(part):  # type: ignore[arg-type]
        value = getattr(part, item.name)
        if item.metadata.get("sum", True) and isinstance(value, int) and not isinstance(value, bool):
            setattr(total, item.name, getattr(total, item.name) + value)


class Runner:
    """Owns the engine, the blob store and the mailbox lease for one settings object."""

    def __init__(self, settings: Settings, engine: Engine | None = None, *, role: Role = Role.all, migrate_schema: bool = True) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings)
        self.blobs = BlobStore(settings.blob_dir)
        if migrate_schema:
            migrate(self.engine)
        self.role = role
        self.stop_event = threading.Event()
        self.holder = new_holder()

    def run_once(self, client: IMAPClient | None = None) -> PassReport:
        """One pass of this runner's role: fetch, process, settle moves on the server, send. Uses client, or connects."""
        report = PassReport()
        if self.role != Role.worker:
            if self._take_lease():
                self._mailbox_pass(report, client)
            else:
                report.leased_elsewhere = True
                holder, until = lease_holder(self.engine, self.settings.mailbox.name, self.settings.mailbox.folder)
                log.info("mailbox is held by another fetcher", holder=holder, until=str(until))
            check_alerts(self.engine, self.settings)
        if self.role == Role.fetcher:
            return report
        if self.role == Role.worker or report.leased_elsewhere:  # messages another process fetched are claimed here too
            accumulate(report.process, self._process())
        accumulate(report.send, send_pending(self.engine, self.settings, holder=self.holder))
        if report.send.deferred and not report.send.sent:
            report.errors.append(f"{report.send.deferred} notice(s) could not be sent yet")
        busy = report.fetch.fetched or report.process.processed or report.send.sent or report.send.deferred
        (log.info if busy else log.debug)(
            "pass done",
            fetched=report.fetch.fetched,
            processed=report.process.processed,
            quarantined=report.process.quarantined + report.fetch.quarantined,
            sent=report.send.sent,
            deferred=report.send.deferred,
        )
        return report

    def run_forever(self) -> None:
        """Passes until SIGTERM or SIGINT: woken by IDLE, else every poll interval; reconnects with backoff."""
        self._install_signal_handlers()
        if self.role == Role.worker:
            self._work()
            return
        mailbox = self.settings.mailbox
        backoff = Backoff(initial=1.0, maximum=mailbox.reconnect_max_seconds)
        log.info("daemon started", mailbox=mailbox.name, folder=mailbox.folder)
        try:
            while not self.stop_event.is_set():
                try:
                    with imap_connection(mailbox) as client:
                        backoff.reset()
                        self._serve(client)
                except MailboxError as exc:
                    delay = backoff.next_delay()
                    log.warning("mailbox unavailable", error=str(exc), retry_in=round(delay, 1))
                    self._process_and_send_without_mailbox()
                    self.stop_event.wait(delay)
                except Exception as exc:  # a database or disk that fails for a while must not end the daemon
                    delay = backoff.next_delay()
                    log.error("pass failed", error=f"{type(exc).__name__}: {exc}", retry_in=round(delay, 1), exc_info=True)
                    self.stop_event.wait(delay)
        finally:
            release_lease(self.engine, mailbox.name, mailbox.folder, self.holder)
            log.info("daemon stopped")

    def stop(self) -> None:
        self.stop_event.set()

    def _work(self) -> None:
        """A worker's loop: claim and process recorded messages, send due notices, look again shortly."""
        backoff = Backoff(initial=1.0, maximum=self.settings.mailbox.reconnect_max_seconds)
        log.info("worker started")
        while not self.stop_event.is_set():
            try:
                report = self.run_once()
                backoff.reset()
                if not (report.process.processed or report.process.failed or report.send.sent):
                    self.stop_event.wait(self.settings.processing.worker_poll_seconds)
            except Exception as exc:  # a database that fails for a while must not end the worker
                delay = backoff.next_delay()
                log.error("worker pass failed", error=f"{type(exc).__name__}: {exc}", retry_in=round(delay, 1), exc_info=True)
                self.stop_event.wait(delay)
        log.info("worker stopped")

    def _process(self) -> ProcessReport:
        return process_received(self.engine, self.settings, self.blobs, should_stop=self.stop_event.is_set, holder=self.holder)

    def _serve(self, client: IMAPClient) -> None:
        mailbox = self.settings.mailbox
        while not self.stop_event.is_set():
            report = self.run_once(client)
            if report.mailbox_failed:
                raise MailboxError("; ".join(report.errors))
            if self.stop_event.is_set():
                return
            # mail that came during the pass was announced while other commands ran: look before idling
            if not report.leased_elsewhere and has_new_mail(client, settings=mailbox, engine=self.engine):
                continue
            settling = self.role == Role.fetcher and not report.leased_elsewhere and has_unmoved(self.engine, mailbox)
            wait_for_mail(
                client,
                SETTLE_SECONDS if settling else mailbox.poll_interval,
                self.stop_event,
                look=lambda: has_new_mail(client, settings=mailbox, engine=self.engine),
                use_idle=mailbox.idle and not report.leased_elsewhere,
            )

    def _mailbox_pass(self, report: PassReport, client: IMAPClient | None) -> None:
        try:
            if client is None:
                with imap_connection(self.settings.mailbox) as own:
                    self._fetch_process_settle(report, own)
            else:
                self._fetch_process_settle(report, client)
        except IntakeError as exc:
            report.errors.append(str(exc))
            report.mailbox_failed = True
            log.error("intake failed", error=str(exc))
            if self.role == Role.all:
                report.process = self._process()

    def _fetch_process_settle(self, report: PassReport, client: IMAPClient) -> None:
        """A backlog is worked through one batch at a time: fetch, process, move, send, then the next."""
        mailbox, stop = self.settings.mailbox, self.stop_event.is_set
        since_move = 0
        while True:
            fetched = fetch_new_messages(
                client, settings=mailbox, engine=self.engine, blobs=self.blobs, should_stop=stop, limit=mailbox.batch_size
            )
            processed = self._process() if self.role == Role.all else ProcessReport()
            since_move += fetched.fetched + fetched.quarantined
            if not fetched.more or stop() or since_move >= MOVE_EVERY:
                fetched.moved += settle_messages(client, settings=mailbox, engine=self.engine, uidvalidity=fetched.uidvalidity)
                since_move = 0
            accumulate(report.fetch, fetched)
            accumulate(report.process, processed)
            if not fetched.more or stop():
                return
            self._take_lease()
            if self.role == Role.all:
                accumulate(report.send, send_pending(self.engine, self.settings, holder=self.holder))

    def _process_and_send_without_mailbox(self) -> None:
        """Work that needs no IMAP goes on while the server is away."""
        try:
            check_alerts(self.engine, self.settings)
            if self.role == Role.all:
                self._process()
                send_pending(self.engine, self.settings, holder=self.holder)
        except Exception as exc:  # the reconnection loop goes on; the next attempt retries this work
            log.error("work without the mailbox failed", error=f"{type(exc).__name__}: {exc}")

    def _take_lease(self) -> bool:
        mailbox = self.settings.mailbox
        return acquire_lease(self.engine, mailbox.name, mailbox.folder, self.holder, mailbox.lease_seconds)

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop())
