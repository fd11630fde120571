"""A supervisor keeps an application out of the retention purge from the console; an officer cannot."""

from __future__ import annotations

from pathlib import Path

from console_support import console_app, console_settings, seed_application, sign_in
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from core.models import Application, AuditEvent


def on_hold(engine: object, application_id: int) -> bool:
    with Session(engine) as db:  # type: ignore[arg-type]
        application = db.get(Application, application_id)
        assert application is not None
        return application.on_hold


def test_a_supervisor_holds_and_releases_and_an_officer_cannot(tmp_path: Path) -> None:
    app, engine = console_app(console_settings(tmp_path / "var"))
    application_id = seed_application(engine)
    officer = TestClient(app)
    officer_csrf = sign_in(officer, "olga")
    assert officer.post(f"/applications/{application_id}/hold", data={"csrf_token": officer_csrf}).status_code == 403
    assert not on_hold(engine, application_id)

    supervisor = TestClient(app)
    csrf = sign_in(supervisor, "sam")
    page = supervisor.post(f"/applications/{application_id}/hold", data={"csrf_token": csrf}, follow_redirects=True)
    assert on_hold(engine, application_id) and "release-hold" in page.text
    supervisor.post(f"/applications/{application_id}/release-hold", data={"csrf_token": csrf})
    assert not on_hold(engine, application_id)
    with Session(engine) as db:
        actions = [e.action for e in db.exec(select(AuditEvent).where(AuditEvent.application_id == application_id))]
    assert actions[-2:] == ["retention_hold", "retention_release"]
