"""Helpers for the console's tests: settings on a temporary folder, seeded rows, signed-in clients."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import flow
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flow import SETTINGS_FILE
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from console.app import create_app
from core.blobs import BlobStore
from core.db import open_database, session_scope
from core.enums import AppState, MessageKind, OfficerRole
from core.models import Application, FindingRow, InboundMessage, Officer, Submission
from core.settings import Settings, load_settings

SECRET = "test-secret-key-that-is-long-enough-0123456789"
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def console_settings(storage: Path, **extra: str) -> Settings:
    """The console's settings for TestClient's plain http://testserver: secure cookies off unless a test turns them on."""
    return load_settings(
        environ={
            "CERS_SETTINGS": str(SETTINGS_FILE),
            "CERS_STORAGE__PATH": str(storage),
            "CERS_CONSOLE__SECURE_COOKIES": "false",
            **flow.database_environment(),
            **extra,
        }
    )


def console_app(settings: Settings) -> tuple[FastAPI, Engine]:
    engine = open_database(settings)
    app = create_app(settings, engine, secret_key=SECRET)
    with session_scope(engine) as db:
        if db.exec(select(Officer)).first() is None:  # two apps of one test share the database on PostgreSQL
            for name, role in (
                ("sam", OfficerRole.supervisor),
                ("olga", OfficerRole.officer),
                ("omar", OfficerRole.officer),
                ("mona", OfficerRole.monitor),
            ):
                db.add(Officer(name=name, role=role, password_hash=password_hash()))
    return app, engine


@cache
def password_hash() -> str:
    """PASSWORD hashed once per run: Argon2 is slow on purpose."""
    return PasswordHasher().hash(PASSWORD)


def seed_application(
    engine: Engine,
    *,
    state: AppState = AppState.pending_review,
    bn: str = "123456782RM0001",
    name: str = "Érable Exports Ltée",
    received: datetime | None = None,
    language: str = "en",
    provider: str | None = None,
    findings: int = 0,
) -> int:
    """An application with one version, written directly (no mail), for tests of reading and deciding."""
    received = received or datetime.now(UTC)
    with session_scope(engine) as db:
        application = Application(
            state=state,
            exporter_business_number=bn,
            exporter_email="exports@erable.example",
            legal_name=name,
            provider_business_number=provider,
            language=language,
            sender="claire.roy@erable.example",
            received_at=received,
            due_on=(received + timedelta(days=7)).date(),
        )
        db.add(application)
        db.flush()
        submission = Submission(
            message_id=_message_row(db),
            application_id=application.id,
            sha256="0" * 64,
            revision="bsf831-en",
            method="acroform",
            fields={"exporter.legal_name": name, "exporter.business_number": bn},
            provenance={"exporter.legal_name": "acroform"},
        )
        db.add(submission)
        db.flush()
        for n in range(findings):
            db.add(
                FindingRow(
                    submission_id=submission.id,
                    application_id=application.id,
                    code="bn_check_digit",
                    field="exporter.business_number",
                    item="7a",
                    label_en="Business Number",
                    label_fr="Numéro d'entreprise",
                    severity="error",
                    message_en=f"The check digit is wrong ({n}).",
                    message_fr=f"Le chiffre de contrôle est erroné ({n}).",
                )
            )
        application.latest_submission_id = submission.id
        db.add(application)
        assert application.id is not None
        return application.id


def seed_message(
    engine: Engine, blobs: BlobStore, raw: bytes, *, sender: str, kind: MessageKind, subject: str = "BSF831 application", uid: int = 1
) -> int:
    """A received message kept as raw bytes, with its row; returns the row's id."""
    digest = blobs.put(raw, ".eml")
    with session_scope(engine) as db:
        row = InboundMessage(
            mailbox="applications",
            folder="INBOX",
            uidvalidity=1,
            uid=uid,
            size=len(raw),
            sha256=digest,
            sender=sender,
            subject=subject,
            kind=kind,
        )
        db.add(row)
        db.flush()
        assert row.id is not None
        return row.id


def _message_row(db: Session) -> int:
    row = db.exec(select(InboundMessage)).first()
    if row is None:
        row = InboundMessage(mailbox="applications", folder="INBOX", uidvalidity=1, uid=1, size=1, sender="claire.roy@erable.example")
        db.add(row)
        db.flush()
    assert row.id is not None
    return row.id


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    token = csrf_of(client.get("/sign-in").text)
    response = client.post("/sign-in", data={"name": name, "password": password, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/queue").text)


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)
