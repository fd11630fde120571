"""Replacing the address of an existing account: only a supervisor confirms it, on a page that names both addresses."""

from __future__ import annotations

from pathlib import Path

from console_support import console_app, console_settings, seed_application, sign_in
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.db import session_scope
from core.models import Account, Application, Notice
from processors import decisions

NEW = "treasury@erable.example"
OLD = "exports@erable.example"


def two_applications(engine: Engine, settings: object) -> int:
    """An approved application (the account at OLD) and a second one for the same business number naming NEW."""
    first = seed_application(engine)
    with session_scope(engine) as db:
        decisions.approve(db, settings, first, officer="olga")  # type: ignore[arg-type]
    second = seed_application(engine)
    with session_scope(engine) as db:
        application = db.get(Application, second)
        assert application is not None
        application.exporter_email = NEW
        db.add(application)
    return second


def account_email(engine: Engine) -> str:
    with Session(engine) as db:
        return db.exec(select(Account)).one().email


def test_an_officer_cannot_replace_an_accounts_address(tmp_path: Path) -> None:
    settings = console_settings(tmp_path / "var")
    app, engine = console_app(settings)
    second = two_applications(engine, settings)
    client = TestClient(app)
    csrf = sign_in(client, "omar")
    asked = client.post(f"/applications/{second}/approve", data={"csrf_token": csrf})
    assert "only a supervisor can approve it" in asked.text and 'name="replace_email"' not in asked.text
    forced = client.post(
        f"/applications/{second}/approve", data={"csrf_token": csrf, "confirmed": "yes", "replace_email": "yes"}, follow_redirects=True
    )
    assert "only a supervisor can approve it" in forced.text
    assert account_email(engine) == OLD


def test_a_supervisor_confirms_on_a_page_naming_both_addresses(tmp_path: Path) -> None:
    settings = console_settings(tmp_path / "var")
    app, engine = console_app(settings)
    second = two_applications(engine, settings)
    client = TestClient(app)
    csrf = sign_in(client, "sam")
    page = client.post(f"/applications/{second}/approve", data={"csrf_token": csrf})
    assert OLD in page.text and NEW in page.text and 'name="replace_email" value="yes"' in page.text
    client.post(f"/applications/{second}/approve", data={"csrf_token": csrf, "confirmed": "yes", "replace_email": "yes"})
    assert account_email(engine) == NEW
    with Session(engine) as db:
        told = db.exec(select(Notice).where(Notice.to_address == OLD, Notice.kind == "email_replaced")).all()
    assert len(told) == 1 and b"treasury@" not in told[0].raw
