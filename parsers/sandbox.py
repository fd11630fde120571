"""Parsing a PDF in a child process with wall-clock, CPU and memory limits.

A helper process (``python -m parsers.sandbox_server``) is started once and imports the reader;
it parses PDFs in forked readers that set their limits, so a parse costs neither an interpreter
start nor a fork, and never shares the daemon's threads, sockets or database. A reader that runs
out of time, CPU or memory is killed and the PDF is refused with LimitExceeded. A helper that
stops answering is killed and started again on the next PDF.

Up to HELPERS PDFs are read at once, each by a helper of its own; a second helper is started only
when two threads ask at the same time, so a caller that reads one PDF after another has one.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Any

from parsers.errors import LimitExceeded, ParserFault
from parsers.form import ParseResult

HEADER = struct.Struct("!Q")
GRACE_SECONDS = 5.0  # on top of the child's own wall-clock limit, for the helper to answer
SPOOL_BYTES = 1 << 20
# The daemon reads the PDFs of the next messages while it stores one (processors.pipeline.READ_AHEAD):
# a helper for each message read ahead, so that none of them waits for another's form to be read.
HELPERS = 3
# Helpers and their readers run at this niceness: reading ahead, they have time, while the daemon and the
# database server it waits on are the drain's critical path on the same cores (bench/drain_bench.py).
NICENESS = 10


@dataclass(frozen=True)
class Limits:
    timeout_seconds: float = 20.0
    cpu_seconds: int = 10
    memory_mb: int = 1024
    max_pages: int = 50


def parse_sandboxed(data: bytes, limits: Limits) -> ParseResult:
    """parse_pdf(data) run in a limited child process; its FormError, or LimitExceeded on a breach.

    A PDF over SPOOL_BYTES goes to the reader as a file it reads itself, not through two pipes (each
    pipe costs the sender and the receiver a copy of it).
    """
    with contextlib.ExitStack() as stack:
        source: bytes | str = data
        if len(data) > SPOOL_BYTES:
            spool = stack.enter_context(tempfile.NamedTemporaryFile(prefix="cers-pdf-", suffix=".pdf"))
            spool.write(data)
            spool.flush()
            source = spool.name
        slot = _free_slots.get()
        try:
            outcome, payload = slot.helper().ask((source, limits), limits.timeout_seconds + GRACE_SECONDS)
        finally:
            _free_slots.put(slot)
    if outcome == "result":
        return payload
    raise payload


def write_message(stream: IO[bytes], message: Any) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(body)))
    stream.write(body)
    stream.flush()


def read_message(stream: IO[bytes]) -> Any:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError("the sandbox helper closed its pipe")
    (size,) = HEADER.unpack(header)
    body = stream.read(size)
    if len(body) < size:
        raise EOFError("the sandbox helper closed its pipe")
    return pickle.loads(body)  # noqa: S301 - the peer is this package's own helper process, never a remote party


def write_framed(fd: int, message: Any, deadline: float) -> bool:
    """message pickled and framed as write_message frames it, written to the non-blocking fd; False past the deadline."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _write_within(fd, HEADER.pack(len(body)), deadline) and _write_within(fd, body, deadline)


def read_framed(fd: int, deadline: float) -> Any:
    """One framed message from fd, unpickled; b"" when the writer closed its end (it died), None past the deadline."""
    header = _read_exactly(fd, HEADER.size, deadline)
    if not header:
        return header
    body = _read_exactly(fd, HEADER.unpack(header)[0], deadline)
    if not body:
        return body
    return pickle.loads(body)  # noqa: S301 - the peer is this package's own helper or reader process


def _read_exactly(fd: int, size: int, deadline: float) -> bytes | None:
    """size bytes from fd; b"" when it closed first, None past the deadline."""
    chunks, left = [], size
    while left:
        if not _ready(fd, select.POLLIN, deadline):
            return None
        try:
            chunk = os.read(fd, min(left, 1 << 20))
        except BlockingIOError:
            continue
        if not chunk:
            return b""
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_within(fd: int, data: bytes, deadline: float) -> bool:
    """Write all of data to the non-blocking fd; False when the deadline came first. BrokenPipeError when the
    reader is gone."""
    view = memoryview(data)
    while view:
        if not _ready(fd, select.POLLOUT, deadline):
            return False
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            continue
    return True


def _ready(fd: int, event: int, deadline: float) -> bool:
    """Whether fd is ready for event (or closed at the other end) before the deadline. poll, not select: a
    daemon's descriptors may be numbered past select's 1024."""
    wait = deadline - time.monotonic()
    if wait <= 0:
        return False
    poller = select.poll()
    poller.register(fd, event)
    return bool(poller.poll(max(1, int(wait * 1000))))


class _Helper:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "parsers.sandbox_server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True
        )
        assert self.process.stdin is not None
        os.set_blocking(self.process.stdin.fileno(), False)  # a write that would block waits in poll, within the deadline

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, request: Any, timeout: float) -> tuple[str, Any]:
        """Send request and read the answer, both within timeout, on this thread: the pipes are waited on with
        poll. A helper that misses the deadline or breaks the exchange is stopped."""
        requests, answers = self.process.stdin, self.process.stdout
        assert requests is not None and answers is not None
        deadline = time.monotonic() + timeout
        try:
            sent = write_framed(requests.fileno(), request, deadline)
            answer = read_framed(answers.fileno(), deadline) if sent else None
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            self.stop()
            raise ParserFault(f"the PDF sandbox failed: {exc}") from exc
        if answer is None:
            self.stop()
            raise LimitExceeded(f"reading the PDF took longer than {timeout - GRACE_SECONDS:g} seconds")
        if answer == b"":
            self.stop()
            raise ParserFault("the PDF sandbox failed: no answer")
        return answer

    def stop(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class _Slot:
    """One helper process, started when first asked and again after it died; used by one thread at a time."""

    def __init__(self) -> None:
        self.current: _Helper | None = None

    def helper(self) -> _Helper:
        if self.current is None or not self.current.alive():
            if self.current is not None:
                self.current.stop()  # reap it and close its pipes
            self.current = _Helper()
        return self.current

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None


_slots = [_Slot() for _ in range(HELPERS)]
# last in, first out: one thread reading PDF after PDF always gets the same slot, so one helper
_free_slots: queue.LifoQueue[_Slot] = queue.LifoQueue()
for _slot in _slots:
    _free_slots.put(_slot)


def running_helpers() -> list[_Helper]:
    """The helper processes started and still running."""
    return [slot.current for slot in _slots if slot.current is not None and slot.current.alive()]


@atexit.register
def stop_helper() -> None:
    """Stop the helper processes (each also stops by itself when its stdin closes)."""
    for slot in _slots:
        slot.stop()
