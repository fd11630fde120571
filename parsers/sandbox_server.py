"""The sandbox helper: reads PDFs on stdin, parses each in a forked child under limits, answers on stdout.

Run by parsers.sandbox; not a command for people. Each answer is ("result", ParseResult) or
("error", FormError).
"""

from __future__ import annotations

import logging
import os
import pickle
import resource
import select
import signal
import sys
import time
from typing import Any

from core.errors import FormError
from parsers.errors import DamagedPdf, LimitExceeded, ParserFault
from parsers.read import parse_pdf
from parsers.sandbox import Limits, read_message, write_message


def main() -> None:
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a broken file's many warnings are not news
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed by a library goes to stderr, never into the answers
    while True:
        try:
            data, limits = read_message(requests)
        except EOFError:
            return
        write_message(answers, run_one(data, limits))


def run_one(data: bytes, limits: Limits) -> tuple[str, Any]:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        _child(writer, data, limits)
        os._exit(0)
    os.close(writer)
    try:
        body = _read_until(reader, time.monotonic() + limits.timeout_seconds)
    finally:
        os.close(reader)
    if body is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return "error", LimitExceeded(f"reading the PDF took longer than {limits.timeout_seconds:g} seconds")
    _, status = os.waitpid(pid, 0)
    if body:
        try:
            return pickle.loads(body)  # type: ignore[no-any-return]
        except Exception:  # a child killed mid-write leaves a truncated answer
            pass
    return "error", _death(status, limits)


def _read_until(fd: int, deadline: float) -> bytes | None:
    """Everything the child writes until it closes the pipe; None past the deadline."""
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _death(status: int, limits: Limits) -> FormError:
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
        return LimitExceeded(f"reading the PDF used more than {limits.cpu_seconds} CPU seconds")
    if os.WIFSIGNALED(status):
        return LimitExceeded(f"the PDF reader was stopped by signal {os.WTERMSIG(status)} (over {limits.memory_mb} MB of memory?)")
    return ParserFault(f"the PDF reader stopped unexpectedly (exit status {os.waitstatus_to_exitcode(status)})")


def _child(writer: int, data: bytes, limits: Limits) -> None:
    _limit(resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1)
    memory = limits.memory_mb * 1024 * 1024
    _limit(resource.RLIMIT_AS, memory, memory)
    _limit(resource.RLIMIT_CORE, 0, 0)
    outcome: tuple[str, Any]
    try:
        outcome = ("result", parse_pdf(data, max_pages=limits.max_pages))
    except FormError as exc:
        outcome = ("error", exc)
    except MemoryError:
        outcome = ("error", LimitExceeded(f"reading the PDF needed more than {limits.memory_mb} MB of memory"))
    except RecursionError:
        outcome = ("error", DamagedPdf("the PDF nests its objects too deeply"))
    except Exception as exc:  # reported, not raised: the parent decides what an unexpected failure costs
        outcome = ("error", ParserFault(f"the PDF reader failed: {type(exc).__name__}: {exc}"[:500]))
    try:
        body = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        body = pickle.dumps(("error", ParserFault(f"the result could not be sent: {type(exc).__name__}")))
    with os.fdopen(writer, "wb") as stream:
        stream.write(body)


def _limit(which: int, soft: int, hard: int) -> None:
    _, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
        soft = min(soft, hard)
    resource.setrlimit(which, (soft, hard))


if __name__ == "__main__":
    main()
