"""The measured processes of bench/drain_bench.py: the daemon draining the inbox, and the floor reading the same mail.

Run by drain_bench.py with a daemon's CERS_ environment:
    drain_child.py drain MESSAGES [PROFILE_PATH]     drain_child.py floor BATCH_SIZE
Prints JSON lines on stdout ({"progress": n} while it works), the last one {"result": {...}}.
Each mode imports only what it runs, here rather than at the top: its peak memory is a measured figure.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any


def drain(messages: int, profile: str | None) -> dict[str, Any]:
    """Runner.run_once until the database has every message processed and no notice pending."""
    from app.runner import Runner
    from core.log import configure_logging
    from core.settings import load_settings
    from intake.connection import imap_connection

    settings = load_settings()
    configure_logging(settings.logging)
    runner = Runner(settings)
    queries = _query_statistics() if os.environ.get("BENCH_QUERIES") else None
    timings = _time_calls(runner) if queries is not None else None
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    started = time.perf_counter()
    done, idle_passes, fetched = False, 0, 0
    curve: list[tuple[int, float]] = []  # (notices sent so far, seconds since the start) after each pass
    run_pass = runner.run_pass

    def pass_on_the_curve() -> Any:
        report = run_pass()
        curve.append(((curve[-1][0] if curve else 0) + report.send.sent, time.perf_counter() - started))
        return report

    runner.run_pass = pass_on_the_curve  # type: ignore[method-assign]
    with imap_connection(settings.mailbox) as client:
        while not done and idle_passes < 3:
            report = runner.run_once(client)
            busy = report.fetch.fetched or report.process.processed or report.send.sent
            idle_passes = 0 if busy else idle_passes + 1
            fetched += report.fetch.fetched + report.fetch.quarantined + report.fetch.duplicates
            # counting rows costs more as the tables grow: only once every message is in, not after each pass
            done = fetched >= messages and drained(runner.engine, messages)
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        with open(profile, "w", encoding="utf-8") as out:  # type: ignore[arg-type]
            out.write(profiler.output_text(unicode=False, color=False, show_all=False))
    if queries is not None:
        ranked = sorted(queries.values(), key=lambda q: -q["seconds"])
        Path(os.environ["BENCH_QUERIES"]).write_text(json.dumps({"seconds": seconds, "calls": timings, "queries": ranked}, indent=1))
    return {
        "seconds": seconds,
        "drained": done,
        "peak": peak_rss(),
        "database": database_summary(runner.engine),
        "curve": curve,
        "pid": os.getpid(),
        "cpu": tree_cpu(os.getpid()),  # this process and its PDF readers, still running
    }


# where a drain's time goes, measured without a profiler's overhead: (module, attribute) as the caller looks it up
TIMED = [
    ("processors.pipeline", "parse_sandboxed"),
    ("processors.pipeline", "message_language"),
    ("processors.pipeline", "parse_message"),
    ("processors.pipeline", "under_daily_limit"),
    ("processors.pipeline", "queue_notice"),
    ("outbox.sender", "hand_over"),
    ("outbox.sender", "mark_sent"),
    ("outbox.sender", "claim_next"),
    ("processors.message_claims", "claim_next"),
    ("core.blobs", "BlobStore.put"),
    ("outbox.journal", "AcceptedJournal.record"),
    ("sqlalchemy.orm.session", "Session.commit"),
    ("sqlalchemy.engine.base", "Connection.commit"),
]


def _time_calls(runner: Any) -> dict[str, dict[str, float]]:
    """Wrap each stage's run and each function of TIMED to add up its calls, seconds and CPU seconds of the calling thread."""
    import importlib

    totals: dict[str, dict[str, float]] = {}

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started, thread_started = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                entry = totals.setdefault(name, {"calls": 0, "seconds": 0.0, "cpu": 0.0})
                entry["calls"] += 1
                entry["seconds"] += time.perf_counter() - started
                entry["cpu"] += time.thread_time() - thread_started

        return wrapper

    for stage in runner.stages:
        stage.run = timed(f"stage {stage.name}", stage.run)
    for module_name, attribute in TIMED:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        if hasattr(owner, name):
            setattr(owner, name, timed(f"{module_name}.{attribute}", getattr(owner, name)))
    return totals


def _query_statistics() -> dict[str, dict[str, Any]]:
    """Every SQL statement any engine runs, by its text with literals left out: how often, and the seconds it took."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    statistics: dict[str, dict[str, Any]] = {}

    @event.listens_for(Engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        conn.info["query_started"] = time.perf_counter()

    @event.listens_for(Engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        key = re.sub(r"\s+", " ", re.sub(r"\d+", "N", statement))[:400]
        entry = statistics.setdefault(key, {"sql": key, "calls": 0, "seconds": 0.0})
        entry["calls"] += 1
        entry["seconds"] += time.perf_counter() - conn.info.pop("query_started", time.perf_counter())

    return statistics


def floor(batch_size: int) -> dict[str, Any]:
    """The least any intake must do: fetch each message, parse it, find its PDFs and read their fields."""
    import io

    from imapclient import IMAPClient
    from pypdf import PdfReader

    from mail.mime import find_pdfs, parse_message

    started = time.perf_counter()
    messages = pdfs = 0
    with IMAPClient(os.environ["CERS_MAILBOX__HOST"], int(os.environ["CERS_MAILBOX__PORT"]), ssl=False) as client:
        client.login(os.environ["CERS_MAILBOX__USERNAME"], os.environ["CERS_MAILBOX__PASSWORD"])
        client.select_folder("INBOX")
        uids = client.search("ALL")
        for start in range(0, len(uids), batch_size):
            for data in client.fetch(uids[start : start + batch_size], [b"BODY.PEEK[]"]).values():
                for pdf in find_pdfs(parse_message(data[b"BODY[]"]).message):
                    PdfReader(io.BytesIO(pdf.data)).get_fields()
                    pdfs += 1
                messages += 1
            emit({"progress": messages})
    return {"seconds": time.perf_counter() - started, "messages": messages, "pdfs": pdfs, "peak": peak_rss()}


def drained(engine: Any, messages: int) -> bool:
    """Every message has a row, none is waiting to be processed, and no notice is waiting to be sent."""
    from sqlalchemy import func
    from sqlmodel import Session, select

    from core.enums import MessageStatus, NoticeStatus
    from core.models import InboundMessage, Notice

    with Session(engine) as session:
        rows = session.exec(select(func.count()).select_from(InboundMessage)).one()
        received = session.exec(select(func.count()).where(InboundMessage.status == MessageStatus.received)).one()
        pending = session.exec(select(func.count()).where(Notice.status == NoticeStatus.pending)).one()
    return rows >= messages and not received and not pending


def database_summary(engine: Any) -> dict[str, dict[str, int]]:
    """Row counts by status (and notices by kind) of what a drain leaves."""
    from sqlalchemy import func
    from sqlmodel import Session, select

    from core.models import Application, InboundMessage, Notice, Submission

    columns = {
        "messages": InboundMessage.status,
        "applications": Application.state,
        "submissions": Submission.status,
        "notices": Notice.status,
        "notice kinds": Notice.kind,
    }
    summary = {}
    with Session(engine) as session:
        for name, column in columns.items():
            rows = session.exec(select(column, func.count()).group_by(column)).all()
            summary[name] = {str(getattr(key, "value", key)): count for key, count in rows}
    return summary


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int, waited: bool = True) -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) used so far by a process and each of its descendants, with what each is.

    waited adds what each has of the children it waited for, which have exited: right for one look at the end
    (the PDF readers the sandbox replaced), but counted twice by a caller that also saw those children alive."""
    found: dict[int, tuple[str, float]] = {}
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
            command = Path(f"/proc/{current}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # it exited meanwhile
            continue
        kind = "reader" if "sandbox_server" in command else ("postgres" if "postgres" in command else "daemon")
        # utime, stime, and cutime, cstime: the children it has waited for
        found[current] = (kind, sum(int(value) for value in fields[11 : 15 if waited else 13]) / CLOCK_TICKS)
    return found


def peak_rss() -> int:
    """This process's peak resident set size in bytes (VmHWM: its ru_maxrss starts at its parent's peak)."""
    peak = re.search(r"^VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    assert peak is not None
    return int(peak.group(1)) * 1024


def emit(line: dict[str, Any]) -> None:
    print(json.dumps(line), flush=True)


def main() -> None:
    mode, number, *rest = sys.argv[1:]
    if mode == "drain":
        result = drain(int(number), rest[0] if rest else None)
    elif mode == "floor":
        result = floor(int(number))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    emit({"result": result})


if __name__ == "__main__":
    main()
