"""The console as a desk: accent-insensitive search, take the next, related applications, plain values,
times in the console's time zone, the dashboard's charts and health line (French pages: test_console_translations.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from console_support import console_app, console_settings, seed_application, sign_in
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from core.db import session_scope
from core.enums import AppState
from core.folding import fold
from core.models import Application, BacklogSnapshot
from processors import decisions
from processors.queue import QueueFilters, queue_page


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<[^>]*\blang="en"[^>]*>[^<]*', " ", html)  # text marked as English (the language button)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html)


def test_fold_ignores_case_and_accents() -> None:
    assert fold("Érable Ltée") == "erable ltee" == fold("ERABLE LTEE")


def test_search_ignores_case_and_accents(tmp_path: Path) -> None:
    settings = console_settings(tmp_path)
    _, engine = console_app(settings)
    seed_application(engine, name="Érable Exports Ltée")
    seed_application(engine, name="Bleuets du Nord", bn="876543216RM0001")
    with session_scope(engine) as db:
        for query in ("erable", "ÉRABLE", "exports ltee", "Érable"):
            rows = queue_page(db, QueueFilters(search=query)).rows
            assert [r["legal_name"] for r in rows] == ["Érable Exports Ltée"], query
        assert queue_page(db, QueueFilters(search="100%")).rows == []  # LIKE's wildcards are text


def test_search_by_legal_name_reads_the_folded_name_and_its_index(tmp_path: Path) -> None:
    """legal_name_folded follows legal_name; on PostgreSQL a trigram index answers the search."""
    settings = console_settings(tmp_path)
    _, engine = console_app(settings)
    application_id = seed_application(engine, name="Érable Exports Ltée")
    with session_scope(engine) as db:
        application = db.get(Application, application_id)
        assert application is not None and application.legal_name_folded == "erable exports ltee"
        application.legal_name = "BOREAL Freight"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT legal_name_folded FROM application")).scalar() == "boreal freight"
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET enable_seqscan = off"))  # a one-row table: make the planner show it can use the index
            plan = "\n".join(
                connection.execute(text("EXPLAIN SELECT id FROM application WHERE legal_name_folded LIKE '%boreal%'")).scalars()
            )
            assert "ix_application_legal_name_trgm" in plan, plan


def test_take_the_next_claims_the_oldest_free_one(tmp_path: Path) -> None:
    settings = console_settings(tmp_path)
    _, engine = console_app(settings)
    now = datetime.now(UTC)
    oldest = seed_application(engine, received=now - timedelta(days=3))
    second = seed_application(engine, received=now - timedelta(days=2), bn="876543216RM0001")
    seed_application(engine, state=AppState.needs_info, received=now - timedelta(days=9))
    with session_scope(engine) as db:
        assert decisions.take_next(db, officer="olga", minutes=30) == oldest
    with session_scope(engine) as db:
        assert decisions.take_next(db, officer="olga", minutes=30) == oldest  # what she holds comes first
        assert decisions.take_next(db, officer="omar", minutes=30) == second  # held by olga: the next one
    with session_scope(engine) as db:
        assert decisions.take_next(db, officer="sam", minutes=30) is None


def test_queue_take_next_decision_lands_on_the_next(tmp_path: Path) -> None:
    settings = console_settings(tmp_path)
    app, engine = console_app(settings)
    now = datetime.now(UTC)
    first = seed_application(engine, received=now - timedelta(days=2))
    second = seed_application(engine, received=now - timedelta(days=1), bn="876543216RM0001", name="Bleuets")
    client = TestClient(app)
    token = sign_in(client, "olga")
    queue = client.get("/queue").text
    assert "Take the next" in queue
    taken = client.post("/queue/take-next", data={"csrf_token": token}, follow_redirects=False)
    assert taken.headers["location"] == f"/applications/{first}"
    done = client.post(f"/applications/{first}/approve", data={"csrf_token": token, "confirmed": "yes"}, follow_redirects=False)
    assert done.headers["location"] == f"/applications/{second}"
    with session_scope(engine) as db:
        row = db.get(Application, second)
        assert row is not None and row.assigned_officer == "olga"


def test_related_badge_links_to_the_related(tmp_path: Path) -> None:
    settings = console_settings(tmp_path)
    app, engine = console_app(settings)
    one = seed_application(engine)
    seed_application(engine, name="Other name")  # the same business number and sender
    seed_application(engine, bn="876543216RM0001", name="Bleuets")
    with session_scope(engine) as db:
        db.exec(select(Application)).all()
        for row in db.exec(select(Application).where(Application.legal_name == "Bleuets")):
            row.sender = "someone@bleuets.example"
            db.add(row)
    client = TestClient(app)
    sign_in(client, "olga")
    html = client.get("/queue").text
    assert f'href="/queue?related={one}"' in html and "1 related" in html  # the same business number
    related = client.get(f"/queue?related={one}").text
    assert "Other name" in related and "Bleuets" not in _visible_text(related).split("Business number or legal name")[1]


def test_application_page_in_words_and_local_time(tmp_path: Path) -> None:
    settings = console_settings(tmp_path)
    app, engine = console_app(settings)
    received = datetime(2026, 11, 29, 19, 2, tzinfo=UTC)
    application_id = seed_application(engine, received=received, findings=1)
    client = TestClient(app)
    token = sign_in(client, "olga")
    client.post(f"/applications/{application_id}/claim", data={"csrf_token": token})
    html = client.get(f"/applications/{application_id}").text
    assert "29 Nov 2026 14:02" in html  # America/Toronto, not UTC
    assert re.search(r"Claimed by olga, <time[^>]*>\d{1,2} \w{3} \d{4} \d\d:\d\d</time>", html)
    assert "application_created" not in html and "message row" not in html
    assert "<details><summary>Where it came from</summary>" in html  # provenance on demand
    assert "position: sticky" in client.get("/static/console.css").text


def test_dashboard_charts_and_health_line(tmp_path: Path) -> None:
    settings = console_settings(tmp_path, CERS_MONITOR__IMAP_STATUS_TIMEOUT="0.5")
    app, engine = console_app(settings)
    seed_application(engine, received=datetime.now(UTC) - timedelta(days=10))
    client = TestClient(app)
    sign_in(client, "mona")
    html = client.get("/dashboard").text
    assert html.count("<svg") == 2 and "<script" not in html
    assert "Healthy" not in html and "Not healthy" in html  # never polled, mailbox not reached: not ok
    assert "b&#39;" not in html and "reachable False" not in html
    with session_scope(engine) as db:
        days = {row.day for row in db.exec(select(BacklogSnapshot))}
    assert len(days) == 29  # the past days, kept: the history survives restarts
    assert client.get("/dashboard").status_code == 200
