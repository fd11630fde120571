"""The console's data functions: queue filters, search and paging; claims; reissue; reopen; correspondence."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import flow
import pytest
from console_support import console_settings, seed_application
from flow import SETTINGS_FILE, cli
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.blobs import BlobStore
from core.db import make_engine, migrate, session_scope
from core.enums import AppState, MessageKind, OfficerRole
from core.errors import DecisionError
from core.models import Account, Application, AuditEvent, InboundMessage, Notice, Officer
from core.settings import Settings
from processors import correspondence, decisions
from processors.codes import activation_code_matches
from processors.queue import QueueFilters, queue_page

MONDAY = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # no holiday that week


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return console_settings(tmp_path / "var")


@pytest.fixture
def engine(settings: Settings) -> Engine:
    engine = make_engine(settings)
    migrate(engine)
    return engine


def test_queue_filters_search_and_service_level(engine: Engine) -> None:
    seed_application(engine, received=MONDAY, name="Érable Exports Ltée", bn="123456782RM0001")
    seed_application(
        engine, received=MONDAY + timedelta(days=2), name="Bleuets du Nord", bn="876543216RM0001", language="fr", provider="100000009RM0001"
    )
    seed_application(engine, received=MONDAY + timedelta(days=7), name="North Freight", bn="555555556RM0001", state=AppState.approved)
    friday = date(2026, 11, 6)
    with Session(engine) as db:
        everything = queue_page(db, today=friday)
        assert [r["legal_name"] for r in everything.rows] == ["Érable Exports Ltée", "Bleuets du Nord", "North Freight"]
        first = everything.rows[0]
        assert first["age_business_days"] == 4
        by_due = {r["legal_name"]: r["service_level"] for r in queue_page(db, today=date(2026, 11, 9)).rows}
        assert by_due == {"Érable Exports Ltée": "due_today", "Bleuets du Nord": "on_time", "North Freight": None}
        assert queue_page(db, today=date(2026, 11, 10)).rows[0]["service_level"] == "overdue"
        assert [r["id"] for r in queue_page(db, QueueFilters(state=AppState.approved)).rows] == [3]
        assert [r["id"] for r in queue_page(db, QueueFilters(request_kind="association")).rows] == [2]
        assert [r["id"] for r in queue_page(db, QueueFilters(request_kind="exporter")).rows] == [1, 3]
        assert [r["id"] for r in queue_page(db, QueueFilters(language="fr")).rows] == [2]
        assert [r["id"] for r in queue_page(db, QueueFilters(search="8765 43216")).rows] == [2]
        assert [r["id"] for r in queue_page(db, QueueFilters(search="100000009")).rows] == [2]  # the provider's number
        assert [r["id"] for r in queue_page(db, QueueFilters(search="freight")).rows] == [3]
        assert queue_page(db, QueueFilters(search="100%")).rows == []


def test_queue_pages_forward_and_back_without_gaps(engine: Engine) -> None:
    for n in range(7):
        seed_application(engine, received=MONDAY + timedelta(hours=n % 3), bn=f"12345678{n}RM0001", name=f"Company {n}")
    with Session(engine) as db:
        seen, page = [], queue_page(db, page_size=3)
        pages = [page]
        while page.next_cursor:
            page = queue_page(db, after=page.next_cursor, page_size=3)
            pages.append(page)
        seen = [r["id"] for p in pages for r in p.rows]
        expected = [r["id"] for r in queue_page(db, page_size=50).rows]
        assert seen == expected and len(seen) == 7 and pages[0].total == 7
        assert [len(p.rows) for p in pages] == [3, 3, 1] and pages[0].previous_cursor is None
        back = queue_page(db, before=pages[2].previous_cursor, page_size=3)
        assert [r["id"] for r in back.rows] == [r["id"] for r in pages[1].rows]
        assert back.next_cursor and back.previous_cursor
        assert [r["id"] for r in queue_page(db, before=back.previous_cursor, page_size=3).rows] == [r["id"] for r in pages[0].rows]


def test_two_officers_cannot_decide_the_same_application_at_once(engine: Engine, settings: Settings) -> None:
    application_id = seed_application(engine)
    with session_scope(engine) as db:
        decisions.claim(db, application_id, officer="olga", minutes=30)
    with session_scope(engine) as db, pytest.raises(DecisionError, match="claimed by olga"):
        decisions.claim(db, application_id, officer="omar", minutes=30)
    with session_scope(engine) as db, pytest.raises(DecisionError, match="claimed by olga"):
        decisions.approve(db, settings, application_id, officer="omar")
    with session_scope(engine) as db:
        decisions.approve(db, settings, application_id, officer="olga")
    with Session(engine) as db:
        application = db.get(Application, application_id)
        assert application is not None and application.state == AppState.approved and application.claim_until is None
        actions = [e.action for e in db.exec(select(AuditEvent).where(AuditEvent.application_id == application_id))]
    assert actions[-2:] == ["claim", "approve"] or actions[-3:-1] == ["claim", "approve"]


def test_an_expired_claim_can_be_taken_and_a_supervisor_can_assign(engine: Engine) -> None:
    application_id = seed_application(engine)
    with session_scope(engine) as db:
        db.add(Officer(name="olga", role=OfficerRole.officer, password_hash="x"))
        db.add(Officer(name="mona", role=OfficerRole.monitor, password_hash="x"))
        db.add(Officer(name="gone", role=OfficerRole.officer, password_hash="x", active=False))
    for cannot_decide in ("mona", "gone", "nobody"):
        with session_scope(engine) as db, pytest.raises(DecisionError, match="not an active officer who can decide"):
            decisions.assign(db, application_id, officer="sam", to=cannot_decide, minutes=30)
    with session_scope(engine) as db:
        decisions.claim(db, application_id, officer="olga", minutes=30)
        application = db.get(Application, application_id)
        assert application is not None
        application.claim_until = datetime.now(UTC) - timedelta(minutes=1)
        db.add(application)
    with session_scope(engine) as db:
        decisions.claim(db, application_id, officer="omar", minutes=30)
    with session_scope(engine) as db:
        decisions.assign(db, application_id, officer="sam", to="olga", minutes=30)
    with session_scope(engine) as db:
        application = db.get(Application, application_id)
        assert application is not None and decisions.claim_holder(application) == "olga"
        decisions.release(db, application_id, officer="olga")
    with Session(engine) as db:
        application = db.get(Application, application_id)
        assert application is not None and decisions.claim_holder(application) is None


def test_reissue_code_replaces_the_hash_and_queues_the_code_to_the_forms_address(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    application_id = seed_application(engine)
    codes = iter(["AAAA-BBBB-CCCC-DDDD", "EEEE-FFFF-GGGG-HHHH"])
    monkeypatch.setattr(decisions, "new_activation_code", lambda: next(codes))
    with session_scope(engine) as db, pytest.raises(DecisionError, match="only an approved"):
        decisions.reissue_code(db, settings, application_id, officer="olga")
    with session_scope(engine) as db:
        approval = decisions.approve(db, settings, application_id, officer="olga")
    with session_scope(engine) as db:
        reissue = decisions.reissue_code(db, settings, application_id, officer="olga")
    assert reissue.authorization_id == approval.authorization_id
    with Session(engine) as db:
        account = db.exec(select(Account)).one()
        assert activation_code_matches("EEEE-FFFF-GGGG-HHHH", account.activation_code_hash)
        assert not activation_code_matches("AAAA-BBBB-CCCC-DDDD", account.activation_code_hash)
        notices = db.exec(select(Notice).where(Notice.kind == "activation")).all()
    assert [n.to_address for n in notices] == ["exports@erable.example"] * 2
    assert b"EEEE-FFFF-GGGG-HHHH" in notices[1].raw and b"EEEE-FFFF-GGGG-HHHH" not in (notices[1].raw_redacted or b"")


def test_a_rejection_can_be_reopened_but_not_an_approval(engine: Engine, settings: Settings) -> None:
    rejected = seed_application(engine)
    approved = seed_application(engine, bn="876543216RM0001")
    with session_scope(engine) as db:
        decisions.reject(db, settings, rejected, officer="olga", reason="Not an exporter.", reason_fr="Not an exporter. (fr)")
        decisions.approve(db, settings, approved, officer="olga")
    with session_scope(engine) as db:
        decisions.reopen(db, rejected, officer="sam", reason="The applicant sent proof.")
    with session_scope(engine) as db, pytest.raises(DecisionError):
        decisions.reopen(db, approved, officer="sam", reason="no")
    with Session(engine) as db:
        application = db.get(Application, rejected)
        assert application is not None and application.state == AppState.pending_review


def test_correspondence_reply_and_close(engine: Engine, settings: Settings) -> None:
    blobs = BlobStore(settings.blob_dir)
    message = EmailMessage()
    message["From"], message["Subject"] = "ahmed@northfreight.example", "Code expired"
    message["Authentication-Results"] = "mx.example; spf=pass"
    message.set_content("Please send a new code.")
    digest = blobs.put(message.as_bytes(), ".eml")
    with session_scope(engine) as db:
        row = InboundMessage(
            mailbox="applications",
            folder="INBOX",
            uidvalidity=1,
            uid=9,
            sha256=digest,
            size=10,
            sender="ahmed@northfreight.example",
            subject="Code expired",
            message_id="<q1@northfreight.example>",
            kind=MessageKind.correspondence,
        )
        db.add(row)
        db.flush()
        item_id = row.id
    assert item_id is not None
    with session_scope(engine) as db:
        (_item,) = correspondence.list_correspondence(db)  # exactly one item
        detail = correspondence.correspondence_detail(db, blobs, item_id)
        assert detail["message"]["text"].strip() == "Please send a new code."
        assert detail["message"]["authentication_results"] == ["mx.example; spf=pass"]
        notice = correspondence.reply(
            db,
            settings,
            item_id,
            officer="olga",
            message="Write from the exporter email.",
            message_fr="Write from the exporter email. (fr)",
        )
        assert notice.to_address == "ahmed@northfreight.example" and b"In-Reply-To: <q1@northfreight.example>" in notice.raw
        with pytest.raises(DecisionError):
            correspondence.reply(db, settings, item_id, officer="olga", message="  ", message_fr="   (fr)")
        correspondence.close(db, item_id, officer="olga")
    with Session(engine) as db:
        assert correspondence.list_correspondence(db) == []
        (closed,) = correspondence.list_correspondence(db, include_closed=True)
    assert closed["closed_by"] == "olga" and len(closed["replies"]) == 1


def test_business_days_between_counts_like_walking_day_by_day() -> None:
    """The queue computes ages for 50 rows a page: the fast count must agree with the plain walk."""
    from processors.business_days import business_days_between, is_business_day

    def walked(start: date, end: date) -> int:
        return sum(1 for n in range(1, (end - start).days + 1) if is_business_day(start + timedelta(days=n)))

    rng = random.Random(5)
    for _ in range(500):
        start = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 1000))
        end = start + timedelta(days=rng.randrange(-3, 600))
        assert business_days_between(start, end) == walked(start, end), (start, end)
    assert business_days_between(date(2026, 6, 30), date(2026, 7, 2)) == 1  # Canada Day


def test_officer_accounts_from_the_command_line(tmp_path: Path) -> None:
    env = {**flow.database_environment(), "CERS_SETTINGS": str(SETTINGS_FILE), "CERS_STORAGE__PATH": str(tmp_path / "var")}
    added = cli(env, "officer", "add", "sam", "--role", "supervisor", "--password-stdin", input="correct horse battery staple\n")
    assert "officer sam added as supervisor" in added.stdout
    cli(env, "officer", "set-role", "sam", "--role", "monitor")
    listed = cli(env, "officer", "list", "--json").stdout
    assert '"role": "monitor"' in listed and "correct horse" not in listed + added.stdout + added.stderr
    refused = cli(env, "console", check=False)
    assert refused.returncode == 2 and "CERS_CONSOLE__SECRET_KEY" in refused.stderr


def test_officer_names_and_passwords_are_checked(engine: Engine) -> None:
    from console.officers import add_officer

    with session_scope(engine) as db:
        with pytest.raises(DecisionError, match="at least 12"):
            add_officer(db, "bob", OfficerRole.officer, "short", actor="test")
        with pytest.raises(DecisionError, match="officer name"):
            add_officer(db, "bob smith", OfficerRole.officer, "long enough password", actor="test")
