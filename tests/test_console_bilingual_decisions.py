"""Decisions from the console in both languages, and the catalogue of standard texts supervisors keep."""

from __future__ import annotations

from pathlib import Path

from console_support import console_app, console_settings, seed_application, sign_in
from fastapi.testclient import TestClient
from flow import parsed, text_of
from sqlmodel import Session, select

from core.enums import AppState
from core.models import Application, Notice


def test_a_rejection_without_french_is_refused_and_with_both_goes_out_in_both(tmp_path: Path) -> None:
    app, engine = console_app(console_settings(tmp_path / "var"))
    application_id = seed_application(engine)
    client = TestClient(app)
    csrf = sign_in(client, "olga")
    refused = client.post(
        f"/applications/{application_id}/reject",
        data={"csrf_token": csrf, "confirmed": "yes", "reason": "The business number is not yours."},
        follow_redirects=True,
    )
    assert "in French is required" in refused.text
    with Session(engine) as db:
        assert db.get(Application, application_id).state == AppState.pending_review  # type: ignore[union-attr]
    client.post(
        f"/applications/{application_id}/reject",
        data={
            "csrf_token": csrf,
            "confirmed": "yes",
            "reason": "The business number is not yours.",
            "reason_fr": "Le numéro d'entreprise n'est pas le vôtre.",
        },
    )
    with Session(engine) as db:
        notice = db.exec(select(Notice).where(Notice.kind == "rejection")).one()
    text = text_of(parsed(notice.raw))
    assert "The business number is not yours." in text and "Le numéro d'entreprise n'est pas le vôtre." in text


def test_supervisors_keep_standard_texts_and_officers_pick_them(tmp_path: Path) -> None:
    app, engine = console_app(console_settings(tmp_path / "var"))
    application_id = seed_application(engine)
    officer = TestClient(app)
    officer_csrf = sign_in(officer, "olga")
    assert officer.get("/reasons").status_code == 403
    supervisor = TestClient(app)
    csrf = sign_in(supervisor, "sam")
    supervisor.post(
        "/reasons",
        data={
            "csrf_token": csrf,
            "code": "rm-missing",
            "text_en": "Your RM program account is missing.",
            "text_fr": "Votre compte RM est manquant.",
        },
    )
    assert "rm-missing" in supervisor.get("/reasons").text
    page = officer.get(f"/applications/{application_id}")
    assert 'value="rm-missing"' in page.text
    confirm = officer.post(f"/applications/{application_id}/reject", data={"csrf_token": officer_csrf, "text_code": "rm-missing"})
    assert "Your RM program account is missing." in confirm.text and "Votre compte RM est manquant." in confirm.text
