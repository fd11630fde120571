"""The accepted journal: a notice's Message-ID is written the moment the SMTP server accepts it,
before the database is told, and put on disk (fsync) right after. A sender that dies between the
two leaves the line behind; the next batch reads it and records the notice as sent instead of
sending it again.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO

from core.models import utcnow


class AcceptedJournal:
    """An append-only file of `message-id<TAB>accepted-at` lines, locked while written or read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._appender: IO[str] | None = None
        self._syncer: ThreadPoolExecutor | None = None
        self._syncing: list[Future[None]] = []

    @contextmanager
    def _locked(self) -> Iterator[IO[str]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def record(self, message_id: str, at: datetime | None = None) -> None:
        """Append one accepted Message-ID; it is in the kernel when this returns, and on disk moments later.

        The file stays open between calls: the moment between the server's answer and the write() that
        puts the line in the kernel (where it outlives the process) is kept short. The fsync that makes
        it outlive the machine too runs on the journal's own thread, so that the next notice's claim and
        hand-over do not wait for the disk; close() waits for it."""
        line = f"{message_id}\t{(at or utcnow()).isoformat()}\n"
        handle = self.open()
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.write(line)
            handle.flush()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
        if self._syncing and not (self._syncing[-1].running() or self._syncing[-1].done()):
            return  # an fsync that has not started yet puts this line on disk too
        if self._syncer is None:
            self._syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="accepted-journal")
        self._syncing.append(self._syncer.submit(os.fsync, handle.fileno()))

    def wait_durable(self) -> None:
        """Wait until every line recorded so far is on disk; an fsync's failure is raised here."""
        syncing, self._syncing = self._syncing, []
        for future in syncing:
            future.result()

    def open(self) -> IO[str]:
        """Open the file for appending (done before sending, so that record() has only to write)."""
        if self._appender is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._appender = self.path.open("a", encoding="utf-8")
        return self._appender

    def close(self) -> None:
        """Wait for the lines recorded to be on disk, then close the file."""
        try:
            self.wait_durable()
        finally:
            if self._syncer is not None:
                self._syncer.shutdown()
                self._syncer = None
            if self._appender is not None:
                self._appender.close()
                self._appender = None

    @contextmanager
    def entries(self) -> Iterator[dict[str, datetime]]:
        """The journaled acceptances, under the lock; the file is emptied when the block succeeds."""
        if not self.path.exists():
            yield {}
            return
        with self._locked() as handle:
            handle.seek(0)
            found: dict[str, datetime] = {}
            for line in handle.read().splitlines():
                message_id, _, at = line.partition("\t")
                if message_id:
                    try:
                        found[message_id] = datetime.fromisoformat(at)
                    except ValueError:
                        found[message_id] = utcnow()
            yield found
            handle.truncate(0)
            handle.flush()
            os.fsync(handle.fileno())
