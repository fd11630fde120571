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
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    started = time.perf_counter()
    done, idle_passes = False, 0
    with imap_connection(settings.mailbox) as client:
        while not done and idle_passes < 3:
            report = runner.run_once(client)
            busy = report.fetch.fetched or report.process.processed or report.send.sent
            idle_passes = 0 if busy else idle_passes + 1
            done = drained(runner.engine, messages)
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        with open(profile, "w", encoding="utf-8") as out:  # type: ignore[arg-type]
            out.write(profiler.output_text(unicode=False, color=False, show_all=False))
    return {"seconds": seconds, "drained": done, "peak": peak_rss(), "database": database_summary(runner.engine)}


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
