"""Drain benchmarks on a real Dovecot: applications a second end to end, peak memory with 20 MB forms, PostgreSQL workers.

Run: .venv/bin/python bench/drain_bench.py [--sizes 1000,10000,50000 | --messages N | --quick] [--pg-messages N]
         [--skip-postgres] [--skip-memory] [--profile PATH] [--timings] [--keep]   (as root, Dovecot and PostgreSQL installed)
Each figure is printed next to a baseline measured in the same run on the same messages, with their ratio.
The drains run the daemon's own code (Runner.run_once, or the cers-intake command) with settings.toml's settings
except outbox.rate_per_minute = 0: its default of 600 a minute would hold every drain to 10 notices a second.
A drain ends when the database has a row for every message, none left to process and no notice pending.
The SQLite drains are timed in their own process from the first IMAP login; the PostgreSQL ones from the
command's start, so their start-up (and their workers') is included.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from client_messages import (
    apple_mail_inline,
    forwarded_as_attachment,
    gmail_rfc2047_name,
    legacy_charset_headers,
    outlook_rich_text,
    thunderbird_rfc2231_name,
    two_forms,
    webmail_octet_stream,
)
from common import fill_maildir, settings_env
from drain_child import database_summary, drained, tree_cpu
from postgres import PostgresCluster, postgres_missing_reason
from pypdf import PdfWriter
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from servers import DovecotServer, ImapAccount, fresh_account
from stdnum import luhn

from core.db import make_engine, migrate
from core.settings import Settings, load_settings
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email

POOL_SIZE = 200  # forms filled per kind; the others are copies of these given another business number
BIG_PDF_BYTES = 19_500_000  # under processing.max_pdf_bytes, and base64-encoded under mailbox.max_message_bytes
BIG_MESSAGES, MEMORY_MESSAGES = 5, 200
PG_WORKERS = (1, 2, 4)
SETTINGS = {"outbox__rate_per_minute": "0", "logging__format": "json"}
ODD_CLIENTS = (
    outlook_rich_text,
    apple_mail_inline,
    gmail_rfc2047_name,
    thunderbird_rfc2231_name,
    webmail_octet_stream,
    forwarded_as_attachment,
    legacy_charset_headers,
    two_forms,
)
CLI = Path(sys.executable).with_name("cers-intake")
CHILD = Path(__file__).with_name("drain_child.py")
STALL_SECONDS = 120


def business_number(n: int, valid: bool = True) -> str:
    """Form n's exporter business number, distinct for each n; valid=False gives it a wrong check digit."""
    digits = f"{20_000_000 + n}"
    check = int(luhn.calc_check_digit(digits))
    return f"{digits}{check if valid else (check + 1) % 10}RM0001"


def filled(job: tuple[str, int]) -> bytes:
    kind, n = job
    values = sample_values(kind) | {"exporter.business_number": business_number(n, kind == "valid")}
    if kind == "valid":
        values["exporter.legal_name"] = f"Exporter {n} Ltd."
    return fill_form(values)


@dataclass
class Forms:
    """Filled BSF831s, valid or incomplete, each with an exporter business number no other form has."""

    pool: dict[str, list[bytes]]
    numbers: Iterator[int] = field(default_factory=itertools.count)

    def next(self, kind: str) -> bytes:
        n = next(self.numbers)
        copies = self.pool[kind]
        base = n % len(copies)
        old, new = (business_number(number, kind == "valid").encode() for number in (base, n))
        assert copies[base].count(old) == 2  # the field's value and its appearance stream, same length
        return copies[base].replace(old, new)


@dataclass
class Mail:
    """Messages written once to files, and how many forms (applications) each carries."""

    paths: list[Path]
    forms: list[int]

    def head(self, count: int) -> Mail:
        return Mail(self.paths[:count], self.forms[:count])

    @property
    def applications(self) -> int:
        return sum(self.forms)


@dataclass
class Row:
    figure: str
    value: str
    baseline: str
    ratio: float | None = None


def with_sender(raw: bytes, address: str) -> bytes:
    """The message with the address of its From header, its first line in tests/client_messages.py, replaced."""
    first, rest = raw.split(b"\r\n", 1)
    assert first.startswith(b"From: ")
    return re.sub(rb"[^\s<]+@[^\s>]+", address.encode(), first, count=1) + b"\r\n" + rest


def application(i: int, forms: Forms) -> tuple[bytes, int]:
    """Message i of the mix and its number of forms: 3 in 5 a valid form, 1 an incomplete one, 1 from an odd client.

    Every message has a sender of its own: processing.max_auto_replies_per_day caps notices per address.
    """
    address = f"applicant{i}@exporter{i}.example"
    slot = i % 5
    if slot < 4:
        pdf = forms.next("valid" if slot < 3 else "incomplete")
        return application_email(pdf, sender=f"Applicant {i} <{address}>", subject=f"BSF831 application {i}"), 1
    client = ODD_CLIENTS[i // 5 % len(ODD_CLIENTS)]
    if client is two_forms:
        return with_sender(two_forms(forms.next("valid"), forms.next("valid")), address), 2
    return with_sender(client(forms.next("valid")), address), 1


def mb(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def rate(applications: int, seconds: float) -> str:
    return f"{applications / seconds:,.1f} apps/s ({seconds:,.1f} s)"


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, summed (pages they share counted in each)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # it exited meanwhile
            continue
        rss = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total += int(rss.group(1)) * 1024 if rss else 0
    return total


def cpu_summary(used: dict[int, tuple[str, float]], root: int, seconds: float) -> str:
    """'CPU: main 12.0 s, workers 10.1 + 9.8 s, readers 14.2 s (3), PostgreSQL 8.0 s; 1.6 cores busy'."""
    by_kind: dict[str, list[float]] = {}
    for pid, (kind, cpu) in used.items():
        by_kind.setdefault("main" if pid == root else ("worker" if kind == "daemon" else kind), []).append(cpu)
    parts = [f"main {sum(by_kind.get('main', [0])):.1f} s"]
    if by_kind.get("worker"):
        parts.append("workers " + " + ".join(f"{cpu:.1f}" for cpu in sorted(by_kind["worker"], reverse=True)) + " s")
    if by_kind.get("reader"):
        parts.append(f"PDF readers {sum(by_kind['reader']):.1f} s ({len(by_kind['reader'])})")
    if by_kind.get("postgres"):
        parts.append(f"PostgreSQL {sum(by_kind['postgres']):.1f} s")
    total = sum(cpu for _, cpu in used.values())
    return f"CPU: {', '.join(parts)}; {total / seconds:.2f} cores busy on average"


def child_env(env: dict[str, str]) -> dict[str, str]:
    """This process's environment without its own CERS_ variables, plus env."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("CERS_")}, **env}


def read_json_lines(stream: IO[bytes], lines: list[dict[str, Any]]) -> None:
    for raw in stream:
        try:
            item = json.loads(raw)
        except ValueError:
            continue
        if isinstance(item, dict):
            lines.append(item)


def log_summary(path: Path) -> str:
    """Warnings and errors of a daemon's JSON log, by event; other stderr lines are counted."""
    events: Counter[str] = Counter()
    other = 0
    for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            other += bool(line.strip())
        elif entry.get("level") in ("warning", "error", "critical"):
            events[f"{entry['level']}: {entry.get('event')}"] += 1
    found = ", ".join(f"{event} x{count}" for event, count in events.most_common()) or "no warning or error"
    return f"log: {found}" + (f"; {other} other stderr line(s)" if other else "")


def check(label: str, database: dict[str, dict[str, int]], mail: Mail, accepted: int, log: Path) -> str:
    """What a drain left, and anything that differs from every message processed and every form answered."""
    applications = sum(database["applications"].values())
    unexpected = []
    if database["messages"] != {"processed": len(mail.paths)}:
        unexpected.append(f"messages {database['messages']}, expected {len(mail.paths)} processed")
    if applications != mail.applications:
        unexpected.append(f"{applications} applications, expected {mail.applications}")
    if database["notices"] != {"sent": mail.applications}:
        unexpected.append(f"notices {database['notices']}, expected {mail.applications} sent")
    if accepted != database["notices"].get("sent", 0):
        unexpected.append(f"the SMTP sink accepted {accepted}")
    counts = "; ".join(f"{name} {', '.join(f'{k} {v}' for k, v in sorted(rows.items()))}" for name, rows in database.items())
    line = f"{label}: {counts}; SMTP sink accepted {accepted}; {log_summary(log)}"
    return line + ("\n    UNEXPECTED: " + "; ".join(unexpected) if unexpected else "")


@dataclass
class Bench:
    server: DovecotServer
    sink: SmtpSink
    work: Path
    progress: Progress
    notes: list[str] = field(default_factory=list)
    timings: bool = False  # each drain also writes NAME.timings.json in the work directory

    def account(self, mail: Mail) -> ImapAccount:
        """A fresh Dovecot account whose INBOX holds the mail."""
        account = fresh_account("dovecot", self.server)
        fill_maildir(account, mail.paths)
        return account

    def env(self, account: ImapAccount, name: str, **settings: str) -> dict[str, str]:
        return settings_env(account, self.sink.port, self.work / name, **SETTINGS, **settings)

    def run_child(
        self,
        label: str,
        total: int,
        env: dict[str, str],
        args: list[str],
        log: Path,
        watch: Callable[[], int] | None = None,
        sample: bool = False,
    ) -> dict[str, Any]:
        """Run drain_child.py in the daemon's environment; its result. Progress from watch(), else from the child.

        With sample, the result also has tree_peak: the most its process tree held, sampled every 10 ms.
        """
        lines: list[dict[str, Any]] = []
        task = self.progress.add_task(label, total=total)
        tree_peak, shown = 0, 0.0
        with log.open("ab") as stderr:
            child = subprocess.Popen([sys.executable, str(CHILD), *args], env=child_env(env), stdout=subprocess.PIPE, stderr=stderr)
            assert child.stdout is not None
            reader = threading.Thread(target=read_json_lines, args=(child.stdout, lines), daemon=True)
            reader.start()
            done = watch or (lambda: next((line["progress"] for line in reversed(lines) if "progress" in line), 0))
            while child.poll() is None:
                if sample:
                    tree_peak = max(tree_peak, tree_rss(child.pid))
                if time.monotonic() - shown > 0.5:
                    self.progress.update(task, completed=done())
                    shown = time.monotonic()
                time.sleep(0.01 if sample else 0.5)
            reader.join()
        self.progress.update(task, completed=done())
        if child.returncode or not lines or "result" not in lines[-1]:
            raise RuntimeError(f"{label}: drain_child.py exited with status {child.returncode}; see {log}")
        return {**lines[-1]["result"], "tree_peak": tree_peak}

    def floor(self, mail: Mail, name: str, sample: bool = False) -> dict[str, Any]:
        """Fetch, parse and read every form of mail without the daemon, in a fresh account."""
        account = self.account(mail)
        env = self.env(account, name)
        batch_size = load_settings(environ=env).mailbox.batch_size
        args = ["floor", str(batch_size)]
        result = self.run_child(f"{name}: messages read", len(mail.paths), env, args, self.work / f"{name}.log", sample=sample)
        if result["messages"] != len(mail.paths) or result["pdfs"] != mail.applications:
            self.notes.append(
                f"{name}: UNEXPECTED: read {result['messages']} messages and {result['pdfs']} PDFs, "
                f"expected {len(mail.paths)} and {mail.applications}"
            )
        return result

    def drain(self, mail: Mail, name: str, profile: Path | None = None, sample: bool = False) -> dict[str, Any]:
        """Drain mail with Runner.run_once in its own process, from a fresh account into a fresh SQLite database."""
        account = self.account(mail)
        self.sink.clear()
        log = self.work / f"{name}.log"
        args = ["drain", str(len(mail.paths)), *([str(profile)] if profile else [])]
        env = self.env(account, name)
        if profile or self.timings:  # where the time went, by stage, by function and by SQL statement
            env["BENCH_QUERIES"] = str((profile or log).with_suffix(".timings.json"))
        result = self.run_child(
            f"{name}: notices accepted",
            mail.applications,
            env,
            args,
            log,
            watch=lambda: len(self.sink.messages),
            sample=sample,
        )
        if not result["drained"]:
            self.notes.append(f"{name}: UNEXPECTED: the drain stopped after three passes that did nothing, before the end")
        used = {int(pid): (kind, cpu) for pid, (kind, cpu) in result["cpu"].items()}
        self.notes.append(f"{name}: {cpu_summary(used, result['pid'], result['seconds'])}")
        self.notes.append(check(name, result["database"], mail, len(self.sink.messages), log))
        return result

    def postgres_drain(self, cluster: PostgresCluster, mail: Mail, name: str, options: list[str], **settings: str) -> float:
        """Seconds from starting `cers-intake run [options]` until it has drained mail into a fresh PostgreSQL database."""
        cluster.execute(f"CREATE DATABASE {name}")
        account = self.account(mail)
        env = self.env(account, name, database__url=cluster.url(name), **settings)
        engine = make_engine(load_settings(environ=env))
        migrate(engine)
        self.sink.clear()
        log = self.work / f"{name}.log"
        task = self.progress.add_task(f"{name}: notices accepted", total=mail.applications)
        try:
            with log.open("wb") as out:
                started = time.perf_counter()
                daemon = subprocess.Popen(
                    [str(CLI), "run", *options], env=child_env(env), stdout=out, stderr=subprocess.STDOUT, cwd=self.work
                )
                postmaster = int((cluster.base_dir / "data" / "postmaster.pid").read_text().split()[0])
                # sampled every 0.2 s, each process's own time (a child that exits was seen alive); the cluster's
                # processes started before this drain count only what they use during it
                before = tree_cpu(postmaster, waited=False)
                used: dict[int, tuple[str, float]] = {}
                try:
                    seen, last_change = 0, started
                    # counting rows costs the database more as the tables grow: only once every notice is out
                    while len(self.sink.messages) < mail.applications or not drained(engine, len(mail.paths)):
                        used |= tree_cpu(daemon.pid, waited=False) | tree_cpu(postmaster, waited=False)
                        if daemon.poll() is not None:
                            raise RuntimeError(
                                f"cers-intake run {' '.join(options)} exited with status {daemon.returncode} before the end; see {log}"
                            )
                        if len(self.sink.messages) != seen:
                            seen, last_change = len(self.sink.messages), time.perf_counter()
                        elif time.perf_counter() - last_change > STALL_SECONDS:
                            raise RuntimeError(f"no notice accepted for {STALL_SECONDS} s; see {log}")
                        self.progress.update(task, completed=seen)
                        time.sleep(0.2)
                    seconds = time.perf_counter() - started
                    used |= tree_cpu(daemon.pid, waited=False) | tree_cpu(postmaster, waited=False)
                    used = {pid: (kind, cpu - before.get(pid, (kind, 0.0))[1]) for pid, (kind, cpu) in used.items()}
                finally:
                    daemon.send_signal(signal.SIGTERM)
                    try:
                        stopped = f"exit status {daemon.wait(60)} after SIGTERM"
                    except subprocess.TimeoutExpired:
                        daemon.kill()
                        daemon.wait()
                        stopped = "still running 60 s after SIGTERM: killed"
            self.progress.update(task, completed=len(self.sink.messages))
            self.notes.append(check(name, database_summary(engine), mail, len(self.sink.messages), log) + f"; {stopped}")
            self.notes.append(f"{name}: {cpu_summary(used, daemon.pid, seconds)}")
        finally:
            engine.dispose()
        return seconds


def fill_pool(size: int, progress: Progress) -> tuple[Forms, str]:
    """Fill size forms of each kind on every core; also says how long filling took."""
    jobs = [(kind, n) for kind in ("valid", "incomplete") for n in range(size)]
    task = progress.add_task("filling forms", total=len(jobs))
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool() as pool:
        pdfs = []
        for pdf in pool.imap(filled, jobs, chunksize=4):
            pdfs.append(pdf)
            progress.advance(task)
    seconds = time.perf_counter() - started
    forms = Forms({"valid": pdfs[:size], "incomplete": pdfs[size:]})
    return (
        forms,
        f"{len(jobs)} forms filled with fill_form in {seconds:.1f} s on {os.cpu_count()} processes "
        f"({seconds / len(jobs) * 1000:.0f} ms wall each)",
    )


def write_mail(directory: Path, count: int, forms: Forms, progress: Progress) -> Mail:
    directory.mkdir(parents=True)
    mail = Mail([], [])
    for i in progress.track(range(count), description="writing messages"):
        raw, carried = application(i, forms)
        path = directory / f"{i:06d}.eml"
        path.write_bytes(raw)
        mail.paths.append(path)
        mail.forms.append(carried)
    return mail


def memory_mail(directory: Path, mail: Mail, forms: Forms, settings: Settings) -> Mail:
    """The first MEMORY_MESSAGES of mail, with BIG_MESSAGES valid forms carrying a BIG_PDF_BYTES file spread among them."""
    directory.mkdir(parents=True)
    big = mail.head(MEMORY_MESSAGES)
    noise = os.urandom(BIG_PDF_BYTES)  # incompressible, as a photo or a scan would be
    for k in range(BIG_MESSAGES):
        form = forms.next("valid")
        writer = PdfWriter(clone_from=io.BytesIO(form))
        writer.add_attachment("site-survey.bin", noise[: BIG_PDF_BYTES - len(form)])
        buffer = io.BytesIO()
        writer.write(buffer)
        pdf = buffer.getvalue()
        raw = application_email(pdf, sender=f"Surveyor {k} <surveyor{k}@large-exporter.example>", subject="BSF831 with survey")
        if len(pdf) > settings.processing.max_pdf_bytes or len(raw) > settings.mailbox.max_message_bytes:
            raise SystemExit(f"a large message ({len(raw)} bytes, PDF {len(pdf)}) would be refused by the settings' limits")
        path = directory / f"big-{k}.eml"
        path.write_bytes(raw)
        at = min(len(big.paths), 20 + k * (MEMORY_MESSAGES // BIG_MESSAGES + 1))
        big.paths.insert(at, path)
        big.forms.insert(at, 1)
    return big


def seconds_per_application(curve: list[tuple[int, float]], first: int, last: int) -> float:
    """Seconds per notice sent between the first and the last count of notices, from a drain's (sent, seconds) curve."""

    def at(count: int) -> float:
        return next(seconds for sent, seconds in curve if sent >= count)

    return (at(last) - at(first)) / (last - first)


def drain_figures(bench: Bench, mail: Mail, sizes: list[int], repeat: int = 1) -> tuple[list[Row], dict[str, Any]]:
    """A floor and a drain for each size, and how the cost of an application moves as the store grows.

    With repeat, each size's floor and drain run that many times, one after the other, and its row is the
    pair whose ratio is the median (of an even number, the higher of the middle two): this machine's speed
    moves from one minute to the next, and the floor with it."""
    rows: list[Row] = []
    floor: dict[str, Any] = {}
    curves: dict[int, list[tuple[int, float]]] = {}
    for size in sizes:
        part = mail.head(size)
        pairs = []
        for run in range(1, repeat + 1):
            suffix = f"_{run}" if repeat > 1 else ""  # each drain its own account and database
            floor_run = bench.floor(part, f"floor_{size}{suffix}")
            drain_run = bench.drain(part, f"drain_{size}{suffix}")
            pairs.append((drain_run["seconds"] / floor_run["seconds"], floor_run, drain_run))
        pairs.sort(key=lambda pair: pair[0])
        _, floor, drain = pairs[len(pairs) // 2]
        if repeat > 1:
            ratios = ", ".join(f"{ratio:.2f}" for ratio, _, _ in pairs)
            bench.notes.append(f"drain_{size}: {repeat} pairs of floor and drain, ratios {ratios}; the row is the median pair")
        curves[size] = drain["curve"]
        row = Row(
            f"drain, SQLite, 1 process ({size:,} messages, {part.applications:,} applications)",
            rate(part.applications, drain["seconds"]),
            f"floor {rate(floor['pdfs'], floor['seconds'])}",
            drain["seconds"] / floor["seconds"],
        )
        rows.append(row)
    largest = max(sizes)
    window = min(1000, largest // 5)
    total = curves[largest][-1][0]
    if total >= 5 * window:  # the windows leave out the start (connecting, the first batch) and the end (the last moves)
        early = seconds_per_application(curves[largest], window, 2 * window)
        late = seconds_per_application(curves[largest], total - 2 * window, total - window)
        rows.append(
            Row(
                f"time per application, notices {total - 2 * window:,}-{total - window:,} of the {largest:,}-message drain",
                f"{late * 1000:.1f} ms",
                f"notices {window:,}-{2 * window:,}: {early * 1000:.1f} ms",
                late / early,
            )
        )
    return rows, floor


def memory_figures(bench: Bench, mail: Mail) -> list[Row]:
    floor = bench.floor(mail, "memory-floor", sample=True)
    drain = bench.drain(mail, "memory-drain", sample=True)
    what = f"{len(mail.paths)} messages, {BIG_MESSAGES} with a {BIG_PDF_BYTES / 1e6:.1f} MB PDF"
    return [
        Row(f"peak RSS, draining process ({what})", mb(drain["peak"]), f"floor {mb(floor['peak'])}", drain["peak"] / floor["peak"]),
        Row(
            "peak RSS, draining process + children, summed (sampled every 10 ms)",
            mb(drain["tree_peak"]),
            f"floor {mb(floor['tree_peak'])}",
            drain["tree_peak"] / floor["tree_peak"],
        ),
    ]


def postgres_figures(bench: Bench, mail: Mail, floor: dict[str, Any]) -> list[Row]:
    reason = postgres_missing_reason()
    if reason:
        bench.notes.append(f"PostgreSQL part skipped: {reason}")
        return []
    help_text = subprocess.run([str(CLI), "run", "--help"], check=False, capture_output=True, text=True, env=child_env({})).stdout
    has_workers = "--workers" in help_text
    what = f"{len(mail.paths)} messages, {mail.applications} applications"
    rows = []
    cluster = PostgresCluster().start()
    try:
        try:
            plain = bench.postgres_drain(cluster, mail, "pg_run", [])
        except RuntimeError as exc:
            bench.notes.append(f"pg_run: FAILED: {exc}")
            return [Row(f"drain, PostgreSQL, `cers-intake run` ({what})", "failed", str(exc))]
        floor_per_app = floor["seconds"] / floor["pdfs"]
        rows.append(
            Row(
                f"drain, PostgreSQL, `cers-intake run` ({what})",
                rate(mail.applications, plain),
                f"floor {rate(floor['pdfs'], floor['seconds'])}",
                plain / mail.applications / floor_per_app,
            )
        )
        # storage.backend = "database": raw mail and PDFs in the stored_blob table instead of files
        try:
            in_database = bench.postgres_drain(cluster, mail, "pg_run_blobs_in_db", [], storage__backend="database")
            rows.append(
                Row(
                    f"drain, PostgreSQL, `cers-intake run`, storage.backend = database ({what})",
                    rate(mail.applications, in_database),
                    f"filesystem {rate(mail.applications, plain)}",
                    in_database / plain,
                )
            )
        except RuntimeError as exc:
            bench.notes.append(f"pg_run_blobs_in_db: FAILED: {exc}")
        for workers in PG_WORKERS:
            figure = f"drain, PostgreSQL, `cers-intake run --workers {workers}`"
            if not has_workers:
                rows.append(Row(figure, "untested", "this cers-intake has no `run --workers`"))
                continue
            try:
                seconds = bench.postgres_drain(cluster, mail, f"pg_workers_{workers}", ["--workers", str(workers)])
            except RuntimeError as exc:
                bench.notes.append(f"pg_workers_{workers}: FAILED: {exc}")
                rows.append(Row(figure, "failed", str(exc)))
                continue
            rows.append(Row(figure, rate(mail.applications, seconds), f"`run` {rate(mail.applications, plain)}", seconds / plain))
    finally:
        cluster.stop()
    return rows


def machine(load_at_start: float) -> str:
    """Cores, CPU, Python, and the 1-minute load average before the run: other work on the machine skews every figure."""
    model = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    return (
        f"machine: {os.cpu_count()} cores, {model.group(1) if model else 'CPU model unknown'}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"load average {load_at_start:.2f} before the run"
    )


def print_table(rows: list[Row], notes: list[str], load_at_start: float) -> None:
    header = Row("figure", "value", "baseline (same run)")
    cells = [
        (r.figure, r.value, r.baseline, "ratio" if r is header else "" if r.ratio is None else f"{r.ratio:.2f}") for r in [header, *rows]
    ]
    widths = [max(len(cell[i]) for cell in cells) for i in range(4)]
    for n, cell in enumerate(cells):
        print("  ".join(text.ljust(width) for text, width in zip(cell, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * width for width in widths))
    print("ratio: figure / baseline, in time per application or in bytes (lower is better)")
    print(machine(load_at_start))
    print("settings: settings.toml, except outbox.rate_per_minute = 0 (no limit)")
    for note in notes:
        print(note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="1000,10000,50000",
        help="drain on SQLite each of these numbers of messages into a fresh store",
    )
    parser.add_argument("--messages", type=int, help="one drain of this many messages on SQLite instead of --sizes")
    parser.add_argument("--quick", action="store_true", help="a small smoke run: 300 messages")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each size's floor and drain this many times, alternated, and show the pair with the median ratio (odd: 3, 5)",
    )
    parser.add_argument("--pg-messages", type=int, help="messages drained on PostgreSQL (default: min(messages, 2000))")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--profile",
        type=Path,
        help="also drain the same messages under pyinstrument and write its text profile here, and each SQL statement's calls "
        "and seconds beside it (PATH with the suffix .queries.json)",
    )
    parser.add_argument(
        "--timings", action="store_true", help="each drain writes NAME.timings.json (stages, functions, SQL) in the work directory (kept)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases, mail)")
    args = parser.parse_args()
    sizes = [300] if args.quick else [args.messages] if args.messages else sorted(int(size) for size in args.sizes.split(","))
    count = max(sizes)
    load_at_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="cers-drain-"))
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True)
    )
    rows: list[Row] = []
    with progress:
        forms, filling = fill_pool(min(POOL_SIZE, count), progress)
        mail = write_mail(work / "mail", count, forms, progress)
        with DovecotServer(base_dir=work / "dovecot") as server, SmtpSink() as sink:
            bench = Bench(
                server,
                sink,
                work,
                progress,
                notes=[f"setup: {filling}; the other forms are copies with another business number"],
                timings=args.timings,
            )
            drain_rows, floor = drain_figures(bench, mail, sizes, max(1, args.repeat))
            rows += drain_rows
            if args.profile:
                profiled = bench.drain(mail, "profile", profile=args.profile.resolve())
                bench.notes.append(f"profile: {args.profile} (that drain took {profiled['seconds']:.1f} s under pyinstrument)")
            if not args.skip_memory:
                rows += memory_figures(bench, memory_mail(work / "big", mail, forms, load_settings(ROOT / "settings.toml", environ={})))
            if not args.skip_postgres:
                rows += postgres_figures(bench, mail.head(args.pg_messages or min(count, 2000)), floor)
    print_table(rows, bench.notes, load_at_start)
    if args.keep or args.timings:
        print(f"work directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
