"""The console's queue page at 100,000 applications, next to a bare SELECT of one page (the baseline).

Run: .venv/bin/python bench/queue_page_bench.py [--applications N] [--rounds N] [--skip-postgres]
Rows are bulk-inserted into a fresh SQLite database in a temporary folder, then into a throwaway PostgreSQL
cluster when PostgreSQL is installed (as root); every figure is measured in this run on the same database:
p50 and p95 in milliseconds over --rounds requests after one warm-up, and p50 against the bare SELECT.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import structlog
from argon2 import PasswordHasher
from common import timed
from fastapi.testclient import TestClient
from postgres import PostgresCluster, postgres_missing_reason
from sqlalchemy import insert, text
from sqlmodel import Session

from console.app import create_app
from core.db import open_database
from core.enums import AppState
from core.folding import fold
from core.models import Application, Officer, OfficerRole
from core.settings import load_settings
from processors.business_days import due_date
from processors.queue import QueueFilters, queue_page

PASSWORD = "benchmark password"
RARE = "Quillivic"  # in one name in 10,000: a search whose answer is short
WORDS = ["Érable", "Bleuets", "North", "Freight", "Maple", "Harbour", "Prairie", "Atlantic", "Boréal", "Summit", "Cedar", "Lakeshore"]
STATES = [AppState.approved] * 5 + [AppState.rejected] + [AppState.pending_review] * 2 + [AppState.needs_info]


def bulk_insert(session: Session, count: int) -> None:
    """count applications over two years, mostly decided, a third of them still open."""
    rng = random.Random(831)
    start = datetime(2025, 1, 6, tzinfo=UTC)
    rows = []
    for n in range(count):
        received = start + timedelta(seconds=rng.randrange(0, 700 * 86400))
        bn = f"{rng.randrange(10**8, 10**9)}RM{rng.randrange(1, 10**4):04d}"
        name = f"{RARE if n % 10_000 == 5 else rng.choice(WORDS)} {rng.choice(WORDS)} {n} Ltd."
        rows.append(
            {
                "state": rng.choice(STATES).value,
                "exporter_business_number": bn,
                "exporter_email": f"export{n}@example.ca",
                "legal_name": name,
                "legal_name_folded": fold(name),  # a bulk insert skips the ORM's flush, which writes it
                "provider_business_number": f"{rng.randrange(10**8, 10**9)}RM0001" if n % 7 == 0 else None,
                "language": "fr" if n % 4 == 0 else "en",
                "sender": f"applicant{n}@example.ca",
                "assigned_officer": "olga" if n % 11 == 0 else None,
                "received_at": received,
                "updated_at": received,
                "due_on": due_date(received.date()),
            }
        )
        if len(rows) == 10_000:
            session.execute(insert(Application), rows)
            rows = []
    if rows:
        session.execute(insert(Application), rows)
    session.add(Officer(name="olga", role=OfficerRole.officer, password_hash=PasswordHasher().hash(PASSWORD)))
    session.commit()


def measure(settings_environ: dict[str, str], applications: int, rounds: int) -> list[tuple[str, float, float]]:
    # TestClient speaks plain http://testserver: without this, the browser-side cookie is never sent back
    environ = {"CERS_SETTINGS": str(ROOT / "settings.toml"), "CERS_CONSOLE__SECURE_COOKIES": "false", **settings_environ}
    settings = load_settings(environ=environ)
    engine = open_database(settings)
    app = create_app(settings, engine, secret_key="b" * 40)
    started = time.perf_counter()
    with Session(engine) as session:
        bulk_insert(session, applications)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE application"))
    print(f"{engine.dialect.name}: inserted {applications:,} applications in {time.perf_counter() - started:.1f} s")

    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text).group(1)  # type: ignore[union-attr]
    client.post("/sign-in", data={"name": "olga", "password": PASSWORD, "csrf_token": token})
    assert "Take the next" in client.get("/queue").text  # signed in: the queue, not the sign-in page

    with Session(engine) as session:
        middle = queue_page(session, QueueFilters(state=AppState.pending_review), page_size=applications // 20)
        deep_cursor = middle.next_cursor
        bare = text("SELECT * FROM application ORDER BY received_at, id LIMIT 50")
        rare = fold(RARE)[1:-1]
        assert len(queue_page(session, QueueFilters(search=rare)).rows) == applications // 10_000
        assert f"{RARE} " in client.get(f"/queue?q={rare}").text
        cases: list[tuple[str, Callable[[], object]]] = [
            ("baseline: bare SELECT of one page (50 rows)", lambda: session.execute(bare).all()),
            ("queue_page(): first page, all states", lambda: queue_page(session)),
            (
                "queue_page(): pending_review, deep page",
                lambda: queue_page(session, QueueFilters(state=AppState.pending_review), after=deep_cursor),
            ),
            ("queue_page(): search business number prefix", lambda: queue_page(session, QueueFilters(search="12345"))),
            ("queue_page(): search legal name", lambda: queue_page(session, QueueFilters(search="harbour cedar"))),
            ("queue_page(): accent-insensitive 'erable'", lambda: queue_page(session, QueueFilters(search="erable"))),
            ("queue_page(): accent-insensitive 'BOREAL SUMMIT'", lambda: queue_page(session, QueueFilters(search="BOREAL SUMMIT"))),
            (f"queue_page(): rare name '{rare}'", lambda: queue_page(session, QueueFilters(search=rare))),
            ("GET /queue (whole page, signed in)", lambda: client.get("/queue")),
            ("GET /queue?state=pending_review&language=fr", lambda: client.get("/queue?state=pending_review&language=fr")),
            ("GET /queue?q=maple (legal name search)", lambda: client.get("/queue?q=maple")),
            ("GET /queue?q=erable (accent-insensitive)", lambda: client.get("/queue?q=erable")),
            (f"GET /queue?q={rare} (rare name)", lambda: client.get(f"/queue?q={rare}")),
        ]
        results = [(name, *timed(run, rounds)) for name, run in cases]
    engine.dispose()
    return results


def report(database: str, results: list[tuple[str, float, float]]) -> None:
    baseline = results[0][1]
    print(f"{database + ':':<48} {'p50 ms':>8} {'p95 ms':>8} {'p50 / baseline':>15}")
    for name, p50, p95 in results:
        print(f"{name:<48} {p50:>8.2f} {p95:>8.2f} {p50 / baseline:>14.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    with tempfile.TemporaryDirectory() as folder:
        report("SQLite", measure({"CERS_STORAGE__PATH": folder}, args.applications, args.rounds))
        missing = "--skip-postgres" if args.skip_postgres else postgres_missing_reason()
        if missing:
            print(f"PostgreSQL not measured: {missing}")
            return
        cluster = PostgresCluster().start()
        try:
            cluster.execute("CREATE DATABASE queue_bench")
            environ = {"CERS_STORAGE__PATH": folder, "CERS_DATABASE__URL": cluster.url("queue_bench")}
            report("PostgreSQL", measure(environ, args.applications, args.rounds))
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
