"""Purge benchmark: N aged applications seeded straight into the database (no IMAP), then one purge.

Each application has one raw message (with its PDF) and one PDF in the blob store, one version,
two findings, two notices, a decision and three audit rows, all three years old. Prints the purge's
time and the database and blob-store sizes before and after.

    .venv/bin/python bench/purge_bench.py [--applications 10000] [--backend filesystem|database] [--postgresql]
"""

from __future__ import annotations

import argparse
import base64
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from postgres import PostgresCluster

from core.blobs import BlobStore, open_blob_store
from core.db import open_database
from core.models import Application as App
from core.models import AuditEvent, Decision, FindingRow, InboundMessage, Notice, Submission, utcnow
from core.settings import load_settings
from processors.retention import purge

PDF_BYTES = 16 * 1024
NOTICE_BYTES = 6 * 1024
BATCH = 1000


def database_bytes(engine: Engine, storage: Path) -> int:
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    return sum(p.stat().st_size for p in storage.glob("cers-intake.sqlite3*"))


def seed(engine: Engine, blobs: BlobStore, count: int) -> None:
    at = utcnow() - timedelta(days=3 * 366)
    base_pdf = b"%PDF-1.7\n" + bytes(range(256)) * (PDF_BYTES // 256)
    for start in range(1, count + 1, BATCH):
        numbers = range(start, min(start + BATCH, count + 1))
        messages, apps, submissions, findings, notices, decisions, audit = [], [], [], [], [], [], []
        with engine.begin() as connection:
            for n in numbers:
                email = f"person{n}@exporter{n}.example"
                pdf = base_pdf + f"%{n}\n".encode()
                raw = (
                    f"From: Person {n} <{email}>\r\nTo: cers@cbsa-asfc.example\r\nSubject: BSF831 of Company {n}\r\n"
                    f"Message-ID: <m{n}@exporter{n}.example>\r\nMIME-Version: 1.0\r\nContent-Type: application/pdf\r\n"
                    f"Content-Transfer-Encoding: base64\r\n\r\n"
                ).encode() + base64.encodebytes(pdf)
                session_free = blobs.put(raw, ".eml")
                pdf_digest = blobs.put(pdf, ".pdf")
                messages.append(
                    {"id": n, "mailbox": "applications", "folder": "INBOX", "uidvalidity": 1, "uid": n, "sha256": session_free,
                     "size": len(raw), "sender": email, "subject": f"BSF831 of Company {n}", "message_id": f"<m{n}@exporter{n}.example>",
                     "kind": "form", "status": "processed", "moved": True, "attempts": 1, "received_at": at}
                )  # fmt: skip
                apps.append(
                    {"id": n, "state": "rejected" if n % 2 else "approved", "exporter_business_number": f"{n:09d}RM0001",
                     "exporter_email": email, "legal_name": f"Company {n} Ltd", "language": "en", "sender": email,
                     "received_at": at, "updated_at": at, "reissue_needed": False, "on_hold": False}
                )  # fmt: skip
                fields = {"exporter.legal_name": f"Company {n} Ltd", "exporter.email": email, "contact.name": f"Person {n}"}
                submissions.append(
                    {"id": n, "message_id": n, "application_id": n, "sha256": pdf_digest, "filename": f"BSF831 Company {n}.pdf",
                     "status": "parsed", "fields": fields, "provenance": {k: "acroform" for k in fields}, "created_at": at}
                )  # fmt: skip
                for k in range(2):
                    findings.append(
                        {"submission_id": n, "application_id": n, "code": f"c{k}", "field": "exporter.email", "item": "7b",
                         "label_en": "Email", "label_fr": "Courriel", "severity": "warning",
                         "message_en": f"{email} looks odd", "message_fr": f"{email} semble étrange"}
                    )  # fmt: skip
                    notices.append(
                        {"kind": "acknowledgment", "application_id": n, "inbound_message_id": n, "to_address": email,
                         "message_id": f"<n{n}.{k}@cbsa-asfc.example>", "subject": f"Company {n}",
                         "raw": f"To: {email}\r\n\r\nDear Person {n}".encode() + b"." * NOTICE_BYTES,
                         "status": "sent", "attempts": 1, "created_at": at, "sent_at": at}
                    )  # fmt: skip
                decisions.append({"application_id": n, "officer": "o.tremblay", "action": "reject", "reason": f"Company {n}", "at": at})
                audit += [
                    {"application_id": n, "actor": "cers-intake", "action": a, "detail": f"Company {n} {email}", "at": at}
                    for a in ("received", "queued", "reject")
                ]
            for model, rows in (
                (InboundMessage, messages),
                (App, apps),
                (Submission, submissions),
                (FindingRow, findings),
                (Notice, notices),
                (Decision, decisions),
                (AuditEvent, audit),
            ):
                connection.execute(insert(model.__table__), rows)  # type: ignore[attr-defined]
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT setval('application_id_seq', (SELECT max(id) FROM application))"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--backend", choices=("filesystem", "database"), default="filesystem")
    parser.add_argument("--postgresql", action="store_true", help="a throwaway PostgreSQL cluster instead of SQLite")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cers-purge-"))
    cluster = PostgresCluster().start() if args.postgresql else None
    try:
        env = {"CERS_SETTINGS": str(ROOT / "settings.toml"), "CERS_STORAGE__PATH": str(work), "CERS_STORAGE__BACKEND": args.backend}
        if cluster is not None:
            cluster.execute("CREATE DATABASE purge_bench")
            env["CERS_DATABASE__URL"] = cluster.url("purge_bench")
        settings = load_settings(environ=env)
        engine = open_database(settings)
        blobs = open_blob_store(settings, engine)
        started = time.perf_counter()
        seed(engine, blobs, args.applications)
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        seeded = time.perf_counter() - started
        db_before, blobs_before = database_bytes(engine, work), blobs.total_bytes()
        started = time.perf_counter()
        report = purge(engine, settings.retention, blobs)
        seconds = time.perf_counter() - started
        db_after, blobs_after = database_bytes(engine, work), blobs.total_bytes()
        mib = 1024 * 1024
        print(
            f"database: {engine.dialect.name}; storage.backend = {args.backend}; {args.applications} applications seeded in {seeded:.1f} s"
        )
        print(f"purge: {seconds:.1f} s ({args.applications / seconds:.0f} applications/s)")
        print(f"  {report.counts()}")
        print(f"database size: {db_before / mib:.1f} MiB before, {db_after / mib:.1f} MiB after")
        print(f"blob store: {blobs_before / mib:.1f} MiB before, {blobs_after / mib:.1f} MiB after")
        if engine.dialect.name == "sqlite":
            print("(SQLite's file keeps its size: freed pages are zeroed by secure_delete and reused; VACUUM shrinks it)")
        engine.dispose()
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
