"""Retention purge rules, holds, access-request archives and the database blob store, on seeded rows."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from flow import SETTINGS_FILE, cli, database_environment
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.blobs import BlobStore, DatabaseBlobStore, open_blob_store, sha256_hex
from core.db import open_database, session_scope
from core.enums import AppState, DecisionAction, MessageKind, MessageStatus, NoticeKind, NoticeStatus
from core.models import (
    Application,
    AuditEvent,
    Decision,
    FindingRow,
    InboundMessage,
    Notice,
    StoredBlob,
    Submission,
    utcnow,
)
from core.settings import Settings, load_settings
from processors.codes import MASKED_CODE, new_activation_code
from processors.retention import PURGED, purge

OLD = timedelta(days=3 * 366)
PASSWORD = "a long enough password 1"


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"CERS_SETTINGS": str(SETTINGS_FILE), "CERS_STORAGE__PATH": str(tmp_path / "var"), **database_environment(), **extra}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return environment(tmp_path)


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return load_settings(environ=env)


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return open_database(settings)


def mail(sender: str, body: str, subject: str = "BSF831") -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "cers-applications@cbsa-asfc.example", subject
    message.set_content(body)
    return message.as_bytes()


def seed(
    engine: Engine,
    blobs: BlobStore,
    n: int,
    *,
    state: AppState = AppState.rejected,
    age: timedelta = OLD,
    held: bool = False,
    business_number: str = "",
    email: str = "",
) -> int:
    """An application with one message, one PDF version, a finding, a decision, a notice and audit rows, `age` old."""
    at = utcnow() - age
    business_number = business_number or f"{n:09d}RM0001"
    email = email or f"person{n}@exporter{n}.example"
    raw = mail(f"Person {n} <{email}>", f"Our form, from Person {n}.")
    pdf = b"%PDF-1.7 form of " + email.encode()
    with session_scope(engine) as session:
        message = InboundMessage(
            mailbox="applications",
            folder="INBOX",
            uidvalidity=1,
            uid=n,
            sha256=blobs.put(raw, ".eml", session=session),
            size=len(raw),
            sender=email,
            subject=f"Form of Person {n}",
            kind=MessageKind.form,
            status=MessageStatus.processed,
            received_at=at,
        )
        application = Application(
            state=state,
            exporter_business_number=business_number,
            exporter_email=email,
            legal_name=f"Company {n}",
            sender=email,
            received_at=at,
            updated_at=at,
            on_hold=held,
        )
        session.add(message)
        session.add(application)
        session.flush()
        assert message.id is not None and application.id is not None
        submission = Submission(
            message_id=message.id,
            application_id=application.id,
            sha256=blobs.put(pdf, ".pdf", session=session),
            filename=f"Person {n}.pdf",
            fields={"exporter.email": email, "exporter.business_number": business_number},
            provenance={"exporter.email": "acroform"},
            created_at=at,
        )
        session.add(submission)
        session.flush()
        assert submission.id is not None
        session.add(
            FindingRow(
                submission_id=submission.id,
                application_id=application.id,
                code="x",
                field="exporter.email",
                item="7b",
                label_en="Email",
                label_fr="Courriel",
                severity="warning",
                message_en=f"{email} looks odd",
                message_fr=f"{email} semble étrange",
            )
        )
        code = new_activation_code()
        notice_raw = mail("cers-applications@cbsa-asfc.example", f"Dear Company {n}, your activation code: {code}")
        session.add(
            Notice(
                kind=NoticeKind.acknowledgment,
                application_id=application.id,
                inbound_message_id=message.id,
                to_address=email,
                message_id=f"<n{n}@cbsa-asfc.example>",
                subject=f"About Company {n}",
                raw=notice_raw,
                status=NoticeStatus.sent,
                created_at=at,
                sent_at=at,
            )
        )
        session.add(
            Decision(application_id=application.id, officer="o.tremblay", action=DecisionAction.reject, reason=f"Company {n}", at=at)
        )
        session.add(AuditEvent(application_id=application.id, actor="o.tremblay", action="reject", detail=f"Company {n} {email}", at=at))
        return application.id


def test_purge_replaces_personal_fields_and_keeps_held_open_and_recent_ones(settings: Settings, engine: Engine) -> None:
    blobs = open_blob_store(settings, engine)
    purged = seed(engine, blobs, 1)
    held = seed(engine, blobs, 2, held=True)
    waiting = seed(engine, blobs, 3, state=AppState.pending_review)
    recent = seed(engine, blobs, 4, age=timedelta(days=300))
    reissued = seed(engine, blobs, 5, state=AppState.approved)
    with session_scope(engine) as session:  # a code reissued last month is activity
        session.add(Decision(application_id=reissued, officer="o.tremblay", action=DecisionAction.reissue_code))

    report = purge(engine, settings.retention, blobs)
    assert (report.applications, report.messages, report.held, report.blobs) == (1, 1, 1, 2)
    assert (report.submissions, report.findings, report.notices, report.decisions) == (1, 1, 1, 1)

    with Session(engine) as session:
        gone = session.get(Application, purged)
        assert gone is not None and gone.purged_at is not None and gone.state == AppState.rejected
        assert (gone.exporter_business_number, gone.exporter_email, gone.legal_name, gone.sender) == (None, None, None, None)
        (submission,) = session.exec(select(Submission).where(Submission.application_id == purged)).all()
        assert (submission.fields, submission.provenance, submission.filename) == ({}, {}, PURGED)
        (finding,) = session.exec(select(FindingRow).where(FindingRow.application_id == purged)).all()
        assert (finding.message_en, finding.message_fr, finding.field) == (PURGED, PURGED, "exporter.email")
        (notice,) = session.exec(select(Notice).where(Notice.application_id == purged)).all()
        assert (notice.raw, notice.to_address, notice.subject, notice.status) == (PURGED.encode(), PURGED, PURGED, NoticeStatus.sent)
        (decision,) = session.exec(select(Decision).where(Decision.application_id == purged)).all()
        assert (decision.officer, decision.action, decision.reason) == ("o.tremblay", DecisionAction.reject, PURGED)
        message = session.get(InboundMessage, submission.message_id)
        assert message is not None and (message.sender, message.subject, message.message_id) == (None, PURGED, None)
        assert not blobs.exists(submission.sha256, ".pdf") and message.sha256 and not blobs.exists(message.sha256, ".eml")
        for kept in (held, waiting, recent, reissued):
            row = session.get(Application, kept)
            assert row is not None and row.purged_at is None and row.exporter_email
        (audit,) = session.exec(select(AuditEvent).where(AuditEvent.action == "retention_purge")).all()
    assert "applications 1" in (audit.detail or "") and "held 1" in (audit.detail or "")
    assert "person1" not in (audit.detail or "").lower() and "Company 1" not in (audit.detail or "")
    # again: nothing more
    assert purge(engine, settings.retention, blobs).applications == 0


def test_a_longer_retention_keeps_them(tmp_path: Path) -> None:
    settings = load_settings(environ=environment(tmp_path, CERS_RETENTION__YEARS_AFTER_LAST_ACTIVITY="5"))
    engine = open_database(settings)
    seed(engine, open_blob_store(settings, engine), 1)
    assert purge(engine, settings.retention, open_blob_store(settings, engine)).applications == 0


def test_quarantined_mail_goes_after_quarantine_days(settings: Settings, engine: Engine) -> None:
    blobs = open_blob_store(settings, engine)
    ids = []
    with session_scope(engine) as session:
        for uid, (status, days) in enumerate(
            [(MessageStatus.quarantined, 100), (MessageStatus.quarantined, 10), (MessageStatus.processed, 100)], start=1
        ):
            raw = mail(f"q{uid}@sender.example", f"message {uid}")
            row = InboundMessage(
                mailbox="applications",
                folder="INBOX",
                uidvalidity=1,
                uid=uid,
                sha256=blobs.put(raw, ".eml", session=session),
                size=len(raw),
                sender=f"q{uid}@sender.example",
                subject="hello",
                status=status,
                kind=MessageKind.correspondence,
                received_at=utcnow() - timedelta(days=days),
            )
            session.add(row)
            session.flush()
            ids.append(row.id)
            session.add(AuditEvent(actor="cers-intake", action="quarantine_message", detail=f"message row {row.id}: q{uid}@sender.example"))
    report = purge(engine, settings.retention, blobs)
    assert (report.messages, report.blobs, report.audit_events) == (1, 1, 1)
    with Session(engine) as session:
        senders = [session.get(InboundMessage, i).sender for i in ids]  # type: ignore[union-attr]
        details = sorted(e.detail or "" for e in session.exec(select(AuditEvent).where(AuditEvent.action == "quarantine_message")))
    assert senders == [None, "q2@sender.example", "q3@sender.example"]
    assert details == [PURGED, f"message row {ids[1]}: q2@sender.example", f"message row {ids[2]}: q3@sender.example"]


def test_hold_and_release_by_a_supervisor_through_the_cli(env: dict[str, str], settings: Settings, engine: Engine) -> None:
    application_id = seed(engine, open_blob_store(settings, engine), 1)
    refused = cli(env, "hold", str(application_id), "--supervisor", "s.roy", check=False)
    assert refused.returncode == 1 and "not an active supervisor" in refused.stderr
    cli(env, "officer", "add", "s.roy", "--role", "supervisor", "--password-stdin", input=PASSWORD + "\n")
    cli(env, "hold", str(application_id), "--supervisor", "s.roy", "--reason", "litigation")
    held = json.loads(cli(env, "purge", "--json").stdout)
    assert (held["applications"], held["held"]) == (0, 1)
    cli(env, "release", str(application_id), "--supervisor", "s.roy")
    dry = json.loads(cli(env, "purge", "--dry-run", "--json").stdout)
    assert (dry["applications"], dry["dry_run"]) == (1, True)
    with Session(engine) as session:
        assert session.get(Application, application_id).exporter_email  # type: ignore[union-attr]
    assert "purged: 1 application(s)" in cli(env, "purge").stdout
    with Session(engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)) if e.action.startswith("retention")]
    assert actions == ["retention_hold", "retention_release", "retention_purge"]


def test_export_holds_every_record_with_codes_masked_and_is_audited(
    env: dict[str, str], settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    blobs = open_blob_store(settings, engine)
    mine = seed(engine, blobs, 1, business_number="123456782RM0001", email="claire@erable.example", age=timedelta(days=10))
    seed(engine, blobs, 2, age=timedelta(days=10))
    archive = tmp_path / "request.zip"
    out = cli(env, "export", "--business-number", "123456782RM0001", "--out", str(archive)).stdout
    assert "1 application(s), 1 message(s), 1 PDF(s), 1 notice(s)" in out
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        records = json.loads(z.read("records.json"))
        notice = z.read(next(n for n in names if n.startswith("notices/"))).decode()
        assert z.read(next(n for n in names if n.startswith("pdfs/"))) == b"%PDF-1.7 form of claire@erable.example"
        assert b"claire@erable.example" in z.read(next(n for n in names if n.startswith("messages/")))
    assert [a["id"] for a in records["applications"]] == [mine]
    assert {"submissions", "findings", "decisions", "messages", "notices", "audit", "accounts"} <= set(records)
    assert "person2" not in json.dumps(records)
    assert MASKED_CODE in notice and "activation code:" in notice.lower()
    by_email = tmp_path / "by-email.zip"
    cli(env, "export", "--email", "Claire@Erable.example", "--out", str(by_email))
    with zipfile.ZipFile(by_email) as z:
        assert [a["id"] for a in json.loads(z.read("records.json"))["applications"]] == [mine]
    with Session(engine) as session:
        exports = session.exec(select(AuditEvent).where(AuditEvent.action == "access_request_export")).all()
    assert len(exports) == 4  # per application and a summary, twice
    assert all("123456782RM0001" not in (e.detail or "") and "claire" not in (e.detail or "").lower() for e in exports)


def test_database_store_keeps_blobs_beside_their_rows(engine: Engine) -> None:
    store = DatabaseBlobStore(engine)
    digest = store.put(b"raw mail", ".eml")
    assert store.put(b"raw mail", ".eml") == digest == sha256_hex(b"raw mail")
    assert store.get(digest, ".eml") == b"raw mail" and store.exists(digest, ".pdf")
    with pytest.raises(RuntimeError), session_scope(engine) as session:  # written with the row: rolled back with it
        lost = store.put(b"never committed", ".eml", session=session)
        raise RuntimeError
    assert not store.exists(lost, ".eml")
    assert store.delete(digest, ".eml") == len(b"raw mail") and not store.exists(digest, ".eml")


def test_storage_migrate_moves_every_blob_and_checks_each_sha256(env: dict[str, str], settings: Settings, engine: Engine) -> None:
    files = BlobStore(settings.blob_dir)
    kept = {files.put(f"message {i}".encode(), ".eml"): f"message {i}".encode() for i in range(5)}
    out = cli(env, "storage", "migrate", "--to", "database").stdout
    assert "moved 5 blob(s)" in out and 'storage.backend = "database"' in out
    assert not [p for p in settings.blob_dir.rglob("*") if p.is_file()]
    with Session(engine) as session:
        assert {b.sha256: b.data for b in session.exec(select(StoredBlob))} == kept
    assert "moved 5 blob(s)" in cli(env, "storage", "migrate", "--to", "filesystem").stdout
    assert {d: files.get(d, s) for d, s in files.digests()} == kept
    # a file whose bytes do not match its name stays where it is, and the command says so
    damaged = next(iter(kept))
    files.path(damaged, ".eml").write_bytes(b"tampered")
    failed = cli(env, "storage", "migrate", "--to", "database", check=False)
    assert failed.returncode == 1 and damaged in failed.stderr and files.exists(damaged, ".eml")
    with Session(engine) as session:
        assert len(session.exec(select(StoredBlob)).all()) == 4


def test_the_daemon_purges_once_a_day(settings: Settings, engine: Engine) -> None:
    from app.runner import ROLES, Role
    from app.stages import PurgeStage

    assert "purge" in ROLES[Role.all] and "purge" in ROLES[Role.fetcher] and "purge" not in ROLES[Role.worker]
    blobs = open_blob_store(settings, engine)
    stage = PurgeStage(settings, engine, blobs)
    assert stage.during_backlog is False
    seed(engine, blobs, 1)
    assert stage.run(lambda: False).applications == 1
    seed(engine, blobs, 2)
    assert stage.run(lambda: False).applications == 0  # not again before tomorrow
    stage.next_at = 0
    assert stage.run(lambda: False).applications == 1


def test_an_application_created_while_the_purge_plans_is_kept(settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL each statement sees the commits made before it: a worker's new application can appear after
    the purge read every application's last activity. It is new, so it is kept, and the purge goes on."""
    import processors.retention

    blobs = open_blob_store(settings, engine)
    old = seed(engine, blobs, 1)
    new = seed(engine, blobs, 2, state=AppState.needs_info, age=timedelta(0))  # a form that lacks something
    real = processors.retention.last_activity
    monkeypatch.setattr(processors.retention, "last_activity", lambda session: {k: v for k, v in real(session).items() if k != new})
    report = purge(engine, settings.retention, blobs)
    assert report.applications == 1
    with Session(engine) as session:
        assert [session.get(Application, i).purged_at is not None for i in (old, new)] == [True, False]  # type: ignore[union-attr]
