"""The daemon: a role's stages run in order, pass after pass; once, or in a loop until a stop signal.

A role is a list of stages (ROLES). The default does everything in one process. With `run
--workers N`, one runner fetches (holding the mailbox lease) and moves handled mail, and N worker
runners process recorded messages and send notices, each claiming one row at a time
(app/workers.py). One loop serves every role, with one backoff and one place that catches an
unexpected error.
"""

from __future__ import annotations

import enum
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import structlog
from imapclient import IMAPClient
from sqlalchemy.engine import Engine

from app.stages import (
    AlertReport,
    AlertStage,
    FetchStage,
    MailboxLink,
    ProcessStage,
    PurgeStage,
    SendStage,
    SettleStage,
    Stage,
)
from core.backoff import Backoff
from core.blobs import open_blob_store
from core.claims import new_holder
from core.db import open_database
from core.errors import IntakeError, MailboxError
from core.settings import Settings
from intake.fetcher import FetchReport
from outbox.sender import SendReport
from processors.pipeline import ProcessReport
from processors.retention import PurgeReport

log = structlog.get_logger("runner")
# A fetcher whose workers still have mail in hand looks this often (seconds) for mail to move.
SETTLE_SECONDS = 2.0


class Role(enum.StrEnum):
    all = "all"  # fetch, process and send in this process
    fetcher = "fetcher"  # fetch and move handled mail; workers process and send
    worker = "worker"  # process and send; another process fetches


ROLES: dict[Role, tuple[str, ...]] = {
    Role.all: ("fetch", "process", "settle", "alerts", "send", "purge"),
    Role.fetcher: ("fetch", "settle", "alerts", "purge"),
    Role.worker: ("process", "send"),
}


@dataclass
class PassReport:
    fetch: FetchReport = field(default_factory=FetchReport)
    process: ProcessReport = field(default_factory=ProcessReport)
    send: SendReport = field(default_factory=SendReport)
    alerts: AlertReport = field(default_factory=AlertReport)
    purge: PurgeReport = field(default_factory=PurgeReport)
    errors: list[str] = field(default_factory=list)
    mailbox_failed: bool = False

    @property
    def leased_elsewhere(self) -> bool:
        return self.fetch.leased_elsewhere

    @property
    def busy(self) -> bool:
        """Whether the pass did anything worth a log line (and, for a worker, worth looking again at once)."""
        return bool(self.fetch.fetched or self.process.processed or self.process.failed or self.send.sent or self.send.deferred)

    def add(self, other: PassReport) -> None:
        """Add another pass's counts into this one's."""
        for name in ("fetch", "process", "send", "alerts", "purge"):
            accumulate(getattr(self, name), getattr(other, name))
        self.errors += other.errors
        self.mailbox_failed = self.mailbox_failed or other.mailbox_failed


def accumulate(total: object, part: object) -> None:
    """Add a stage report into a total: counts add up, flags are kept once raised, other values are the latest."""
    for item in fields(part):  # type: ignore[arg-type]
        value = getattr(part, item.name)
        if isinstance(value, bool):
            setattr(total, item.name, getattr(total, item.name) or value)
        elif isinstance(value, int) and item.metadata.get("sum", True):
            setattr(total, item.name, getattr(total, item.name) + value)
        elif value is not None:
            setattr(total, item.name, value)


class Runner:
    """Owns the engine, the blob store, the mailbox link and the stages of one role."""

    def __init__(self, settings: Settings, engine: Engine | None = None, *, role: Role = Role.all) -> None:
        self.settings = settings
        self.engine = engine or open_database(settings)
        self.blobs = open_blob_store(settings, self.engine)
        self.role = role
        self.stop_event = threading.Event()
        self.holder = new_holder()
        self.link = MailboxLink(settings, self.engine, self.holder)
        self.stages: list[Stage] = [self._stage(name) for name in ROLES[role]]

    def run_once(self, client: IMAPClient | None = None) -> PassReport:
        """Passes until the mailbox's backlog is through; then the lease and connection are given up. Uses client, or connects."""
        total = PassReport()
        self.link.lend(client)
        try:
            while True:
                report = self.run_pass()
                total.add(report)
                if not report.fetch.more or report.mailbox_failed or self.stop_event.is_set():
                    break
        finally:
            self.link.close()
        self._log_pass(total)
        return total

    def run_pass(self) -> PassReport:
        """Each stage of the role once, in order. A mailbox that fails ends its stages' part of the pass, not the others'."""
        report = PassReport()
        for stage in self.stages:
            if report.mailbox_failed and stage.needs_mailbox:
                continue
            if not stage.during_backlog and report.fetch.more:
                continue
            try:
                part = stage.run(self.stop_event.is_set)
            except IntakeError as exc:
                report.errors.append(str(exc))
                if stage.needs_mailbox:
                    report.mailbox_failed = True
                    self.link.drop()
                log.error("stage failed", stage=stage.name, error=str(exc))
                continue
            accumulate(getattr(report, stage.report), part)
        if report.send.deferred and not report.send.sent:
            report.errors.append(f"{report.send.deferred} notice(s) could not be sent yet")
        return report

    def run_forever(self) -> None:
        """Passes until SIGTERM or SIGINT: the next at once while a backlog lasts, else after waiting for mail."""
        self._install_signal_handlers()
        backoff = Backoff(initial=1.0, maximum=self.settings.mailbox.reconnect_max_seconds)
        log.info("daemon started", role=self.role.value, mailbox=self.settings.mailbox.name, folder=self.settings.mailbox.folder)
        try:
            while not self.stop_event.is_set():
                try:
                    report = self.run_pass()
                    self._log_pass(report)
                    if report.mailbox_failed:
                        delay = backoff.next_delay()
                        log.warning("mailbox unavailable", error="; ".join(report.errors), retry_in=round(delay, 1))
                        self.stop_event.wait(delay)
                        continue
                    backoff.reset()
                    if not report.fetch.more:
                        self._wait(report)
                except MailboxError as exc:  # the connection failed between passes (IDLE, a look for new mail)
                    delay = backoff.next_delay()
                    log.warning("mailbox unavailable", error=str(exc), retry_in=round(delay, 1))
                    self.link.drop()
                    self.stop_event.wait(delay)
                except Exception as exc:  # a database or disk that fails for a while must not end the daemon
                    delay = backoff.next_delay()
                    log.error("pass failed", error=f"{type(exc).__name__}: {exc}", retry_in=round(delay, 1), exc_info=True)
                    self.link.drop()
                    self.stop_event.wait(delay)
        finally:
            self.link.close()
            log.info("daemon stopped")

    def stop(self) -> None:
        self.stop_event.set()

    def _wait(self, report: PassReport) -> None:
        """Between passes: IDLE on the folder while holding the lease; otherwise a plain wait."""
        if self.stop_event.is_set():
            return
        mailbox = self.settings.mailbox
        if self.link.holds_lease:
            if self.link.has_new_mail():  # mail that came during the pass was announced while other commands ran
                return
            # mail that other processes handle is moved soon after they finish it
            settling = "process" not in ROLES[self.role] and self.link.has_unmoved()
            self.link.wait_for_mail(SETTLE_SECONDS if settling else mailbox.poll_interval, self.stop_event)
        elif "fetch" in ROLES[self.role]:  # another fetcher holds the mailbox
            self.stop_event.wait(mailbox.poll_interval)
        elif not report.busy:
            self.stop_event.wait(self.settings.processing.worker_poll_seconds)

    def _stage(self, name: str) -> Stage:
        settings, engine = self.settings, self.engine
        makers: dict[str, Callable[[], Stage]] = {
            "fetch": lambda: FetchStage(self.link, self.blobs),
            "settle": lambda: SettleStage(self.link),
            "process": lambda: ProcessStage(settings, engine, self.blobs, self.holder),
            "send": lambda: SendStage(settings, engine, self.holder),
            "alerts": lambda: AlertStage(settings, engine),
            "purge": lambda: PurgeStage(settings, engine, self.blobs),
        }
        return makers[name]()

    def _log_pass(self, report: PassReport) -> None:
        (log.info if report.busy else log.debug)(
            "pass done",
            fetched=report.fetch.fetched,
            processed=report.process.processed,
            quarantined=report.process.quarantined + report.fetch.quarantined,
            sent=report.send.sent,
            deferred=report.send.deferred,
        )

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop())
