"""The sandbox helper: reads PDFs on stdin, parses each in a forked reader under limits, answers on stdout.

Run by parsers.sandbox; not a command for people. Each answer is ("result", ParseResult) or
("error", FormError).

The reader is a child forked from this helper with a memory limit; it parses one PDF at a time,
with a CPU limit counted from the start of each PDF and a wall-clock limit kept by this helper,
which kills it on a breach. One reader serves up to READER_USES PDFs: forking for every PDF cost
more than reading a typical form. A reader that grew past a quarter of its memory limit is replaced,
and a PDF that killed a reader, or ran it out of memory, after it had read others is tried again in
a fresh one, so that one PDF's verdict never depends on what was read before it.
"""

from __future__ import annotations

import gc
import logging
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import IO, Any

from core.errors import FormError
from parsers.errors import DamagedPdf, LimitExceeded, ParserFault
from parsers.read import parse_pdf
from parsers.sandbox import NICENESS, Limits, read_framed, read_message, write_message

READER_USES = 200


def main() -> None:
    os.nice(NICENESS)  # its readers inherit it
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a broken file's many warnings are not news
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed by a library goes to stderr, never into the answers
    gc.freeze()  # readers share this process's memory; a collection in one would copy all of it
    reader: Reader | None = None
    while True:
        try:
            data, limits = read_message(requests)
        except EOFError:
            return
        reader, answer = run_one(reader, data, limits)
        write_message(answers, answer)


class Reader:
    """A forked child that parses the PDFs written to its pipe, one at a time."""

    def __init__(self, limits: Limits) -> None:
        self.limits, self.uses = limits, 0
        request_out, request_in = os.pipe()
        answer_out, answer_in = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(request_in)
            os.close(answer_out)
            _reader_loop(os.fdopen(request_out, "rb"), os.fdopen(answer_in, "wb"), limits)
            os._exit(0)
        os.close(request_out)
        os.close(answer_in)
        self.requests: IO[bytes] = os.fdopen(request_in, "wb")
        self.answers = answer_out

    def ask(self, data: bytes) -> tuple[str, Any]:
        """Parse data in this reader; the answer, or the reason it died or ran out of time (then it is gone)."""
        self.uses += 1
        try:
            write_message(self.requests, data)
        except OSError:  # it died while idle: that says nothing about this PDF
            return "gone", None
        body = _read_answer(self.answers, time.monotonic() + self.limits.timeout_seconds)
        if body is None:
            self.close(kill=True)
            return "timeout", LimitExceeded(f"reading the PDF took longer than {self.limits.timeout_seconds:g} seconds")
        if not body:
            return "died", _death(self.close(), self.limits)
        return "answer", body

    def close(self, kill: bool = False) -> int:
        """Stop the reader (it exits when its request pipe closes); its wait status."""
        if kill:
            os.kill(self.pid, signal.SIGKILL)
        self.requests.close()
        os.close(self.answers)
        return os.waitpid(self.pid, 0)[1]


def run_one(reader: Reader | None, data: bytes, limits: Limits) -> tuple[Reader | None, tuple[str, Any]]:
    """Parse data in reader (or a fresh one); the reader to use next, and the answer."""
    if reader is not None and (reader.limits != limits or reader.uses >= READER_USES):
        reader.close()
        reader = None
    fresh = reader is None
    reader = reader or Reader(limits)
    kind, payload = reader.ask(data)
    if kind == "gone":  # a reader that died idle says nothing about this PDF; a fresh one that did cannot read it
        status = reader.close(kill=True)
        return run_one(None, data, limits) if not fresh else (None, ("error", _death(status, limits)))
    if kind == "died" and not fresh:  # perhaps what earlier PDFs left behind: ask a fresh reader
        return run_one(None, data, limits)
    if kind in ("timeout", "died"):
        return None, ("error", payload)
    answer, memory_failure, peak_kb = payload
    if memory_failure and not fresh:  # perhaps what earlier PDFs left behind: ask a fresh reader
        reader.close()
        return run_one(None, data, limits)
    if peak_kb * 1024 > limits.memory_mb * 1024 * 1024 // 4:
        reader.close()
        reader = None
    return reader, answer


def _read_answer(fd: int, deadline: float) -> Any | None:
    """One framed answer from the reader, unpickled; b"" when it closed its pipe (died), None past the deadline."""
    try:
        return read_framed(fd, deadline)
    except Exception:  # noqa: BLE001 - an answer that does not unpickle is as good as none
        return b""


def _death(status: int, limits: Limits) -> FormError:
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
        return LimitExceeded(f"reading the PDF used more than {limits.cpu_seconds} CPU seconds")
    if os.WIFSIGNALED(status):
        return LimitExceeded(f"the PDF reader was stopped by signal {os.WTERMSIG(status)} (over {limits.memory_mb} MB of memory?)")
    return ParserFault(f"the PDF reader stopped unexpectedly (exit status {os.waitstatus_to_exitcode(status)})")


def _reader_loop(requests: IO[bytes], answers: IO[bytes], limits: Limits) -> None:
    memory = limits.memory_mb * 1024 * 1024
    _limit(resource.RLIMIT_AS, memory, memory)
    _limit(resource.RLIMIT_CORE, 0, 0)
    while True:
        try:
            data = read_message(requests)
        except EOFError:
            return
        usage = resource.getrusage(resource.RUSAGE_SELF)
        spent = int(usage.ru_utime + usage.ru_stime) + 1
        _limit(resource.RLIMIT_CPU, spent + limits.cpu_seconds, resource.RLIM_INFINITY)
        outcome, memory_failure = _parse(data, limits)
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            write_message(answers, (outcome, memory_failure, peak_kb))
        except Exception as exc:  # noqa: BLE001 - a result that cannot be pickled is answered with a ParserFault instead
            write_message(answers, (("error", ParserFault(f"the result could not be sent: {type(exc).__name__}")), False, peak_kb))


def _parse(source: bytes | str, limits: Limits) -> tuple[tuple[str, Any], bool]:
    """The outcome of parsing the PDF (its bytes, or the file a large one was spooled to by parse_sandboxed),
    and whether it failed for want of memory. Reading the file is under the same limits as parsing it."""
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        return ("result", parse_pdf(data, max_pages=limits.max_pages)), False
    except FormError as exc:
        return ("error", exc), False
    except MemoryError:
        return ("error", LimitExceeded(f"reading the PDF needed more than {limits.memory_mb} MB of memory")), True
    except RecursionError:
        return ("error", DamagedPdf("the PDF nests its objects too deeply")), False
    except Exception as exc:  # noqa: BLE001 - reported, not raised: the parent decides what an unexpected failure costs
        return ("error", ParserFault(f"the PDF reader failed: {type(exc).__name__}: {exc}"[:500])), False


def _limit(which: int, soft: int, hard: int) -> None:
    _, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:
        hard = current_hard if hard == resource.RLIM_INFINITY else min(hard, current_hard)
        soft = min(soft, hard)
    resource.setrlimit(which, (soft, hard))


if __name__ == "__main__":
    main()
