"""`cers-intake run --workers N`: this process fetches, N worker processes process and send.

The fetcher holds the mailbox lease, records new mail and moves handled mail out of the folder.
Each worker claims recorded messages and due notices one row at a time, so any number of workers
(here, or started on other machines with the same database) share the work without doing any of it
twice. A worker that stops unexpectedly is started again; what it held is claimed again at once.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from multiprocessing.process import BaseProcess

import structlog

from app.runner import Role, Runner
from core.backoff import Backoff
from core.db import make_engine
from core.log import configure_logging
from core.settings import Settings

log = structlog.get_logger("workers")
CHECK_SECONDS = 1.0
STEADY_SECONDS = 60.0  # a worker that ran this long before stopping is restarted without delay


def run_with_workers(settings: Settings, count: int) -> None:
    """Run the fetcher here and count workers beside it, until SIGTERM or SIGINT."""
    fetcher = Runner(settings, role=Role.fetcher)  # migrates the schema before any worker starts
    pool = WorkerPool(settings, count)
    pool.start()
    watcher = threading.Thread(target=pool.watch, args=(fetcher.stop_event,), name="workers", daemon=True)
    watcher.start()
    try:
        fetcher.run_forever()
    finally:
        fetcher.stop()
        watcher.join()
        pool.stop(grace=settings.parsing.timeout_seconds + 10)


def worker_main(settings: Settings, index: int) -> None:
    configure_logging(settings.logging)
    structlog.contextvars.bind_contextvars(worker=index)
    runner = Runner(settings, make_engine(settings), role=Role.worker)  # the fetcher migrated the schema
    threading.Thread(target=_stop_when_orphaned, args=(runner, os.getppid()), daemon=True).start()
    runner.run_forever()


def _stop_when_orphaned(runner: Runner, parent: int) -> None:
    """A worker whose fetcher was killed outright finishes its row and stops, rather than run on alone."""
    while not runner.stop_event.wait(CHECK_SECONDS):
        if os.getppid() != parent:
            log.warning("the fetcher process is gone; stopping")
            runner.stop()


class WorkerPool:
    def __init__(self, settings: Settings, count: int) -> None:
        self.settings = settings
        self.context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connections or threads
        self.processes: list[BaseProcess | None] = [None] * count
        self.started_at = [0.0] * count
        self.backoffs = [Backoff(initial=1.0, maximum=60.0) for _ in range(count)]
        self.restart_at = [0.0] * count

    def start(self) -> None:
        for index in range(len(self.processes)):
            self._start(index)

    def watch(self, stop: threading.Event) -> None:
        """Start again each worker that stopped, until stop is set."""
        while not stop.wait(CHECK_SECONDS):
            now = time.monotonic()
            for index, process in enumerate(self.processes):
                if process is not None and process.is_alive():
                    continue
                if process is not None:
                    self._stopped(index, process, now)
                if now >= self.restart_at[index]:
                    self._start(index)

    def stop(self, grace: float) -> None:
        """Ask every worker to finish the row in hand and stop; kill those still running after grace seconds."""
        running = [p for p in self.processes if p is not None and p.is_alive()]
        for process in running:
            process.terminate()  # SIGTERM: the worker finishes its row first
        deadline = time.monotonic() + grace
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("worker did not stop in time; killed", pid=process.pid)
                process.kill()
                process.join()

    def _start(self, index: int) -> None:
        process = self.context.Process(target=worker_main, args=(self.settings, index), name=f"cers-intake-worker-{index}")
        process.start()
        self.processes[index], self.started_at[index] = process, time.monotonic()
        log.info("worker started", worker=index, pid=process.pid)

    def _stopped(self, index: int, process: BaseProcess, now: float) -> None:
        if now - self.started_at[index] >= STEADY_SECONDS:
            self.backoffs[index].reset()
        delay = self.backoffs[index].next_delay()
        log.error(
            "worker stopped unexpectedly; starting it again",
            worker=index,
            pid=process.pid,
            exit_code=process.exitcode,
            retry_in=round(delay, 1),
        )
        process.close()
        self.processes[index], self.restart_at[index] = None, now + delay
