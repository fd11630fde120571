"""Server-side console sessions: the cookie holds only a signed random id; sign-out, a new password,
disabling, a role change and "sign out everywhere" end sessions; idle and absolute timeouts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import flow
import pytest
from console_support import PASSWORD, console_app, console_settings, csrf_of, sign_in
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.db import session_scope
from core.models import ConsoleSession, Officer


@pytest.fixture
def console(tmp_path: Path) -> tuple[FastAPI, Engine]:
    return console_app(console_settings(tmp_path / "var"))


def sessions_of(engine: Engine, name: str) -> list[ConsoleSession]:
    with Session(engine) as db:
        officer = db.exec(select(Officer).where(Officer.name == name)).one()
        return list(db.exec(select(ConsoleSession).where(ConsoleSession.officer_id == officer.id)))


def signed_out(client: TestClient) -> bool:
    return client.get("/queue", follow_redirects=False).status_code == 303


def test_the_cookie_holds_only_a_signed_random_session_id(console: tuple[FastAPI, Engine]) -> None:
    app, engine = console
    client = TestClient(app, headers={"User-Agent": "pytest-agent/1.0"})
    sign_in(client, "olga")
    cookie = client.cookies["cers_console"]
    (row,) = sessions_of(engine, "olga")
    # the random id, then itsdangerous's timestamp and signature: nothing else (no name, no CSRF token, no JSON)
    session_id, timestamp, signature = cookie.split(".")
    assert session_id == row.id and len(row.id) >= 32 and timestamp and signature
    assert "olga" not in cookie and "csrf" not in cookie
    assert row.user_agent == "pytest-agent/1.0" and row.client_address and row.revoked_at is None


def test_a_cookie_saved_before_sign_out_no_longer_works(console: tuple[FastAPI, Engine]) -> None:
    app, engine = console
    client = TestClient(app)
    token = sign_in(client, "olga")
    stolen = client.cookies["cers_console"]
    client.post("/sign-out", data={"csrf_token": token})
    thief = TestClient(app)
    thief.cookies.set("cers_console", stolen)
    assert signed_out(thief)
    response = thief.post("/applications/1/claim", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code in (401, 403)
    assert [s.revoked_reason for s in sessions_of(engine, "olga")] == ["signed_out"]


@pytest.mark.parametrize(
    ("path", "form", "reason"),
    [
        ("/officers/olga/password", {"password": "another long password"}, "password_changed"),
        ("/officers/olga/active", {"active": "no"}, "disabled"),
        ("/officers/olga/role", {"role": "monitor"}, "role_changed"),
        ("/officers/olga/sign-out", {}, "signed_out_everywhere"),
    ],
)
def test_a_supervisors_change_ends_the_officers_sessions(
    console: tuple[FastAPI, Engine], path: str, form: dict[str, str], reason: str
) -> None:
    app, engine = console
    first, second, sam = TestClient(app), TestClient(app), TestClient(app)
    sign_in(first, "olga")
    sign_in(second, "olga")
    token = sign_in(sam, "sam")
    assert sam.post(path, data={"csrf_token": token, **form}, follow_redirects=False).status_code == 303
    assert signed_out(first) and signed_out(second)
    assert {s.revoked_reason for s in sessions_of(engine, "olga")} == {reason}
    assert not signed_out(sam)  # the supervisor's own session is untouched


def test_re_enabling_revives_no_session(console: tuple[FastAPI, Engine]) -> None:
    app, _ = console
    olga, sam = TestClient(app), TestClient(app)
    sign_in(olga, "olga")
    token = sign_in(sam, "sam")
    sam.post("/officers/olga/active", data={"csrf_token": token, "active": "no"})
    sam.post("/officers/olga/active", data={"csrf_token": token, "active": "yes"})
    assert signed_out(olga)
    sign_in(olga, "olga")  # a new sign-in works


def _age(engine: Engine, name: str, *, created: timedelta = timedelta(0), seen: timedelta = timedelta(0)) -> None:
    with session_scope(engine) as db:
        officer = db.exec(select(Officer).where(Officer.name == name)).one()
        for row in db.exec(select(ConsoleSession).where(ConsoleSession.officer_id == officer.id)):
            row.created_at -= created
            row.last_seen_at -= seen
            db.add(row)


def test_an_idle_session_ends(tmp_path: Path) -> None:
    app, engine = console_app(console_settings(tmp_path / "var", CERS_CONSOLE__SESSION_IDLE_MINUTES="20"))
    client = TestClient(app)
    sign_in(client, "olga")
    _age(engine, "olga", created=timedelta(minutes=15), seen=timedelta(minutes=15))
    assert not signed_out(client)  # 15 idle minutes: still on, and seen again now
    _age(engine, "olga", created=timedelta(minutes=21), seen=timedelta(minutes=21))
    assert signed_out(client)
    assert [s.revoked_reason for s in sessions_of(engine, "olga")] == ["idle"]


def test_a_session_ends_after_session_hours_however_busy(tmp_path: Path) -> None:
    app, engine = console_app(console_settings(tmp_path / "var", CERS_CONSOLE__SESSION_HOURS="2"))
    client = TestClient(app)
    sign_in(client, "olga")
    _age(engine, "olga", created=timedelta(hours=2, minutes=1))  # seen a moment ago, but signed in too long ago
    assert signed_out(client)
    assert [s.revoked_reason for s in sessions_of(engine, "olga")] == ["expired"]


def test_the_language_switch_does_not_extend_a_session(tmp_path: Path) -> None:
    app, engine = console_app(console_settings(tmp_path / "var", CERS_CONSOLE__SESSION_HOURS="2"))
    client = TestClient(app)
    token = sign_in(client, "olga")
    cookie = client.cookies["cers_console"]
    _age(engine, "olga", created=timedelta(hours=1, minutes=59))
    response = client.post("/language", data={"csrf_token": token, "lang": "fr", "back": "/queue"}, follow_redirects=False)
    assert response.status_code == 303
    assert "cers_console=" not in response.headers.get("set-cookie", "")  # the session cookie is not re-issued
    assert client.cookies["cers_console"] == cookie
    _age(engine, "olga", created=timedelta(minutes=2))
    assert signed_out(client)


def test_a_signed_in_page_in_french_keeps_its_session(console: tuple[FastAPI, Engine]) -> None:
    app, _ = console
    client = TestClient(app)
    token = sign_in(client, "olga")
    client.post("/language", data={"csrf_token": token, "lang": "fr", "back": "/queue"})
    page = client.get("/queue")
    assert page.status_code == 200 and '<html lang="fr">' in page.text
    assert csrf_of(page.text) == token  # one CSRF token per session


def test_officer_sessions_and_sign_out_on_the_command_line(console: tuple[FastAPI, Engine], tmp_path: Path) -> None:
    app, engine = console
    client = TestClient(app, headers={"User-Agent": "pytest-agent/2.0"})
    sign_in(client, "olga")
    env = {"CERS_SETTINGS": str(flow.SETTINGS_FILE), "CERS_STORAGE__PATH": str(tmp_path / "var"), **flow.database_environment()}
    listed = json.loads(flow.cli(env, "officer", "sessions", "olga", "--json").stdout)
    assert len(listed) == 1 and listed[0]["user_agent"] == "pytest-agent/2.0" and listed[0]["active"] is True
    row = sessions_of(engine, "olga")[0]
    assert row.id not in json.dumps(listed)  # the full id is a credential: never printed
    text = flow.cli(env, "officer", "sessions", "olga").stdout
    assert "pytest-agent/2.0" in text and row.id not in text
    assert "1 session" in flow.cli(env, "officer", "sign-out", "olga").stdout
    assert signed_out(client)
    listed = json.loads(flow.cli(env, "officer", "sessions", "olga", "--json").stdout)
    assert listed[0]["active"] is False and listed[0]["revoked_reason"] == "signed_out_everywhere"
    assert flow.cli(env, "officer", "sessions", "nobody", check=False).returncode == 1
    sign_in(client, "olga", PASSWORD)
