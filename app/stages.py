"""The daemon's stages. Each does one kind of work when run and says what it did.

A stage is an object with a `name` (the PassReport field its counts go to), `during_backlog`
(whether it runs between the batches of a backlog or only once the backlog is worked through) and
`run(stop) -> report`. A role is a list of stages (app/runner.py ROLES); the runner runs them in
order, pass after pass. The fetch and settle stages share one `MailboxLink`: the IMAP connection
and the lease on the watched folder.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import structlog
from imapclient import IMAPClient
from sqlalchemy.engine import Engine

from core.blobs import BlobStore
from core.settings import Settings
from intake.connection import close_connection, open_connection
from intake.fetcher import (
    MOVE_CHUNK,
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
from processors.retention import PurgeReport, purge

log = structlog.get_logger("runner")
PURGE_EVERY_SECONDS = 24 * 3600.0
ShouldStop = Callable[[], bool]


class Stage(Protocol):
    name: str
    report: str  # the PassReport field its counts go to
    needs_mailbox: bool  # a mailbox that failed earlier in the pass skips it
    during_backlog: bool  # False: it runs only on the pass that finishes a backlog

    def run(self, stop: ShouldStop) -> object: ...


@dataclass
class AlertReport:
    queued: int = 0  # alert and recovery emails queued


class MailboxLink:
    """The connection to the watched folder and the lease on it, for the stages that touch the mailbox.

    The connection is opened when first needed and kept; a lent one (`lend`) is used but never
    closed here. `close()` gives both up: every way out of a run that took the lease goes through it.
    """

    def __init__(self, settings: Settings, engine: Engine, holder: str) -> None:
        self.settings, self.engine, self.holder = settings, engine, holder
        self._client: IMAPClient | None = None
        self._owned = False
        self.holds_lease = False
        self.more = False  # the last fetch left new mail for the next pass
        self.since_move = 0  # messages recorded since handled mail was last moved
        self.uidvalidity: int | None = None

    def client(self) -> IMAPClient:
        if self._client is None:
            self._client, self._owned = open_connection(self.settings.mailbox), True
        return self._client

    @property
    def connected(self) -> bool:
        return self._client is not None

    def lend(self, client: IMAPClient | None) -> None:
        if client is not None:
            self.drop()
            self._client, self._owned = client, False

    def drop(self) -> None:
        """Forget the connection (logging out of an own one), e.g. after the server failed."""
        if self._client is not None and self._owned:
            close_connection(self._client)
        self._client, self._owned = None, False

    def take_lease(self) -> bool:
        """Take or renew the lease; a fetcher that had it and lost it says so."""
        mailbox = self.settings.mailbox
        held = acquire_lease(self.engine, mailbox.name, mailbox.folder, self.holder, mailbox.lease_seconds)
        if not held:
            holder, until = lease_holder(self.engine, mailbox.name, mailbox.folder)
            if self.holds_lease:
                log.warning("mailbox lease lost to another fetcher; this one stops fetching", holder=holder, until=str(until))
                self.drop()
            else:
                log.info("mailbox is held by another fetcher", holder=holder, until=str(until))
        self.holds_lease = held
        return held

    def close(self) -> None:
        """Release the lease (if held) and the connection."""
        mailbox = self.settings.mailbox
        if self.holds_lease:
            release_lease(self.engine, mailbox.name, mailbox.folder, self.holder)
            self.holds_lease = False
        self.more, self.since_move = False, 0
        self.drop()

    def has_new_mail(self) -> bool:
        return has_new_mail(self.client(), settings=self.settings.mailbox, engine=self.engine)

    def has_unmoved(self) -> bool:
        return has_unmoved(self.engine, self.settings.mailbox)

    def wait_for_mail(self, timeout: float, stop: threading.Event) -> None:
        """IDLE (or a plain wait) on the folder for timeout seconds, or until new mail or stop."""
        wait_for_mail(self.client(), timeout, stop, look=self.has_new_mail, use_idle=self.settings.mailbox.idle)


class FetchStage:
    """Record one batch of new mail (archived and committed), under the mailbox lease."""

    name = "fetch"
    report = "fetch"
    needs_mailbox = True
    during_backlog = True

    def __init__(self, link: MailboxLink, blobs: BlobStore) -> None:
        self.link, self.blobs = link, blobs

    def run(self, stop: ShouldStop) -> FetchReport:
        link = self.link
        if not link.take_lease():
            link.more = False
            return FetchReport(leased_elsewhere=True)
        mailbox = link.settings.mailbox
        report = fetch_new_messages(
            link.client(), settings=mailbox, engine=link.engine, blobs=self.blobs, should_stop=stop, limit=mailbox.batch_size
        )
        link.more, link.uidvalidity = report.more, report.uidvalidity
        link.since_move += report.fetched + report.quarantined
        return report


class SettleStage:
    """Move handled mail out of the folder: once a backlog is through, or every MOVE_CHUNK messages."""

    name = "settle"
    report = "fetch"
    needs_mailbox = True
    during_backlog = True

    def __init__(self, link: MailboxLink) -> None:
        self.link = link

    def run(self, stop: ShouldStop) -> FetchReport:
        link = self.link
        if not link.holds_lease or (link.more and link.since_move < MOVE_CHUNK and not stop()):
            return FetchReport()
        moved = settle_messages(link.client(), settings=link.settings.mailbox, engine=link.engine, uidvalidity=link.uidvalidity)
        link.since_move = 0
        return FetchReport(moved=moved)


class ProcessStage:
    """Claim recorded messages one at a time and process each (read, validate, queue, answer)."""

    name = "process"
    report = "process"
    needs_mailbox = False
    during_backlog = True

    def __init__(self, settings: Settings, engine: Engine, blobs: BlobStore, holder: str) -> None:
        self.settings, self.engine, self.blobs, self.holder = settings, engine, blobs, holder

    def run(self, stop: ShouldStop) -> ProcessReport:
        return process_received(self.engine, self.settings, self.blobs, should_stop=stop, holder=self.holder)


class SendStage:
    """Send the due notices over one SMTP connection."""

    name = "send"
    report = "send"
    needs_mailbox = False
    during_backlog = True

    def __init__(self, settings: Settings, engine: Engine, holder: str) -> None:
        self.settings, self.engine, self.holder = settings, engine, holder

    def run(self, stop: ShouldStop) -> SendReport:
        return send_pending(self.engine, self.settings, holder=self.holder)


class AlertStage:
    """Queue the monitor's alert and recovery emails that are due."""

    name = "alerts"
    report = "alerts"
    needs_mailbox = False
    during_backlog = False

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine

    def run(self, stop: ShouldStop) -> AlertReport:
        return AlertReport(queued=len(check_alerts(self.engine, self.settings)))


class PurgeStage:
    """Once a day, purge the personal information past retention (processors/retention.py).

    The first pass of a process purges; then once every PURGE_EVERY_SECONDS. A purge that finds
    nothing costs a few reads and writes nothing."""

    name = "purge"
    report = "purge"
    needs_mailbox = False
    during_backlog = False

    def __init__(self, settings: Settings, engine: Engine, blobs: BlobStore, *, every: float = PURGE_EVERY_SECONDS) -> None:
        self.settings, self.engine, self.blobs, self.every = settings, engine, blobs, every
        self.next_at = 0.0

    def run(self, stop: ShouldStop) -> PurgeReport:
        if time.monotonic() < self.next_at or stop():
            return PurgeReport()
        self.next_at = time.monotonic() + self.every
        return purge(self.engine, self.settings.retention, self.blobs)
