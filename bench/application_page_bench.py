"""The console's application page with 50 versions: (a) from 50 messages, (b) from one message with 50 PDFs.

Run: .venv/bin/python bench/application_page_bench.py [--versions N] [--rounds N] [--pdf-kb N]
Rows are inserted with SQL into a fresh SQLite database in a temporary folder, and the raw messages
written to its blob store (each PDF attachment --pdf-kb of random bytes, so parsing a message costs
what a real one does). Every figure is measured in this run on the same database: p50 and p95 in
milliseconds over --rounds requests after one warm-up. The baselines: the page of an application
with one version from one small message, and one parse of the 50-PDF message. Target: p95 under 200 ms.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import structlog
from argon2 import PasswordHasher
from common import timed
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlmodel import Session, col

from console.app import create_app
from core.blobs import BlobStore
from core.db import open_database
from core.enums import AppState, MessageKind, MessageStatus, SubmissionStatus
from core.models import Application, InboundMessage, Officer, OfficerRole, Submission
from core.settings import load_settings

PASSWORD = "benchmark password"
TARGET_P95_MS = 200.0


def raw_message(n: int, pdfs: int, pdf_kb: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Claire Roy <claire.roy{n}@erable.example>"
    message["To"] = "cers-applications@cbsa-asfc.example"
    message["Subject"] = f"BSF831 application {n}"
    message["Message-ID"] = f"<bench-{n}@erable.example>"
    message["Authentication-Results"] = "mx.cbsa-asfc.example; spf=pass smtp.mailfrom=erable.example; dkim=pass"
    message.set_content("Please find our application form attached.\n" * 20)
    for p in range(pdfs):
        data = b"%PDF-1.7\n" + os.urandom(pdf_kb * 1024)
        message.add_attachment(data, maintype="application", subtype="pdf", filename=f"BSF831-{n}-{p}.pdf")
    return message.as_bytes()


def seed(session: Session, blobs: BlobStore, *, versions: int, messages: int, pdf_kb: int, first_uid: int) -> int:
    """One application with `versions` versions spread over `messages` messages; its id."""
    received = datetime(2026, 3, 2, 14, tzinfo=UTC)
    application_id = session.execute(
        insert(Application).returning(col(Application.id)),
        [
            {
                "state": AppState.pending_review.value,
                "exporter_business_number": "123456782RM0001",
                "exporter_email": "exports@erable.example",
                "legal_name": "Érable Exports Ltée",
                "language": "en",
                "sender": "claire.roy@erable.example",
                "received_at": received,
                "updated_at": received,
                "due_on": (received + timedelta(days=7)).date(),
            }
        ],
    ).scalar_one()
    per_message = -(-versions // messages)
    message_ids = []
    for m in range(messages):
        raw = raw_message(first_uid + m, per_message, pdf_kb)
        row_id = session.execute(
            insert(InboundMessage).returning(col(InboundMessage.id)),
            [
                {
                    "mailbox": "applications",
                    "folder": "INBOX",
                    "uidvalidity": 1,
                    "uid": first_uid + m,
                    "sha256": blobs.put(raw, ".eml"),
                    "size": len(raw),
                    "sender": "claire.roy@erable.example",
                    "subject": f"BSF831 application {first_uid + m}",
                    "kind": MessageKind.form.value,
                    "status": MessageStatus.processed.value,
                    "received_at": received + timedelta(minutes=m),
                }
            ],
        ).scalar_one()
        message_ids.append(row_id)
    fields = {"exporter.legal_name": "Érable Exports Ltée", "exporter.business_number": "123456782RM0001"}
    rows = [
        {
            "message_id": message_ids[v // per_message],
            "application_id": application_id,
            "sha256": f"{v:064x}",
            "filename": f"BSF831-{v}.pdf",
            "status": SubmissionStatus.parsed.value,
            "revision": "bsf831-en",
            "method": "acroform",
            "fields": fields,
            "provenance": {key: "acroform" for key in fields},
        }
        for v in range(versions)
    ]
    submission_ids = session.execute(insert(Submission).returning(col(Submission.id)), rows).scalars().all()
    application = session.get(Application, application_id)
    assert application is not None
    application.latest_submission_id = max(submission_ids)
    session.add(application)
    session.commit()
    return int(application_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--pdf-kb", type=int, default=200, help="size of each PDF attachment in KiB")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(environ={"CERS_SETTINGS": str(ROOT / "settings.toml"), "CERS_STORAGE__PATH": folder})
        engine = open_database(settings)
        blobs = BlobStore(settings.blob_dir)
        app = create_app(settings, engine, secret_key="b" * 40)
        started = time.perf_counter()
        with Session(engine) as session:
            single = seed(session, blobs, versions=1, messages=1, pdf_kb=args.pdf_kb, first_uid=1)
            spread = seed(session, blobs, versions=args.versions, messages=args.versions, pdf_kb=args.pdf_kb, first_uid=100)
            bundled = seed(session, blobs, versions=args.versions, messages=1, pdf_kb=args.pdf_kb, first_uid=10_000)
            session.add(Officer(name="olga", role=OfficerRole.officer, password_hash=PasswordHasher().hash(PASSWORD)))
            session.commit()
        elapsed = time.perf_counter() - started
        print(f"seeded 3 applications ({args.versions} versions each but the first, PDFs of {args.pdf_kb} KiB) in {elapsed:.1f} s")

        client = TestClient(app)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text).group(1)  # type: ignore[union-attr]
        client.post("/sign-in", data={"name": "olga", "password": PASSWORD, "csrf_token": token})
        for application_id in (single, spread, bundled):
            assert client.get(f"/applications/{application_id}").status_code == 200

        bundle = next(p for p in Path(folder).rglob("*.eml") if p.stat().st_size > args.versions * args.pdf_kb * 1024)
        raw = bundle.read_bytes()
        cases: list[tuple[str, Callable[[], object]]] = [
            ("baseline: GET /applications/ID, 1 version", lambda: client.get(f"/applications/{single}")),
            (f"baseline: one parse of the {args.versions}-PDF message", lambda: email.message_from_bytes(raw, policy=email.policy.default)),
            (f"(a) {args.versions} versions from {args.versions} messages", lambda: client.get(f"/applications/{spread}")),
            ("(a) same, oldest version shown", lambda: client.get(f"/applications/{spread}?version=1")),
            (f"(b) {args.versions} versions from 1 message", lambda: client.get(f"/applications/{bundled}")),
            ("(b) same, oldest version shown", lambda: client.get(f"/applications/{bundled}?version=1")),
        ]
        results = [(name, *timed(run, args.rounds)) for name, run in cases]
    baseline = results[0][1]
    print(f"{'':<48} {'p50 ms':>8} {'p95 ms':>8} {'p50 / baseline':>15}")
    for name, p50, p95 in results:
        print(f"{name:<48} {p50:>8.2f} {p95:>8.2f} {p50 / baseline:>14.1f}x")
    worst = max(p95 for name, _, p95 in results if name.startswith("("))
    verdict = "met" if worst < TARGET_P95_MS else "NOT met"
    print(f"worst p95 of the {args.versions}-version pages: {worst:.1f} ms (target under {TARGET_P95_MS:.0f} ms): {verdict}")


if __name__ == "__main__":
    main()
