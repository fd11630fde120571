"""The console's security: sessions, CSRF, roles, lock-out, cookies, and no activation code anywhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_support import (
    PASSWORD,
    console_app,
    console_settings,
    seed_application,
    sign_in,
)
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from console.app import console_secret
from core.enums import AppState
from core.errors import SettingsError
from core.models import Application, AuditEvent, Officer

PUBLIC = {("GET", "/sign-in"), ("POST", "/sign-in"), ("POST", "/language")}
PARAMS = {
    "application_id": "1",
    "submission_id": "1",
    "item_id": "1",
    "name": "olga",
    "action": "approve",
    "code": "rm-missing",
    "number": "1",
}


@pytest.fixture
def console(tmp_path: Path) -> tuple[FastAPI, Engine]:
    app, engine = console_app(console_settings(tmp_path / "var"))
    seed_application(engine)
    return app, engine


def console_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the console serves, with its parameters filled in."""
    found = []
    monitor_paths = {"/metrics", "/healthz"}
    for route in _flattened(app.routes):
        if isinstance(route, APIRoute) and route.path not in monitor_paths:
            path = re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], route.path)
            found += [(method, path) for method in sorted(route.methods)]
    return found


def _flattened(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _flattened(included.routes) if included is not None else [route]


def state_of(engine: Engine, application_id: int = 1) -> AppState:
    with Session(engine) as db:
        application = db.get(Application, application_id)
        assert application is not None
        return application.state


def test_the_route_list_covers_the_console(console: tuple[FastAPI, Engine]) -> None:
    routes = set(console_routes(console[0]))
    assert {
        ("GET", "/queue"),
        ("GET", "/applications/1"),
        ("POST", "/applications/1/approve"),
        ("POST", "/officers"),
        ("POST", "/correspondence/1/reply"),
    } <= routes


def test_every_route_refuses_a_request_without_a_session(console: tuple[FastAPI, Engine]) -> None:
    app, engine = console
    client = TestClient(app)
    for method, path in console_routes(app):
        if (method, path) in PUBLIC:
            continue
        response = client.request(method, path, data={"csrf_token": "x", "confirmed": "yes"}, follow_redirects=False)
        if method == "GET":
            assert (response.status_code, response.headers.get("location")) == (303, "/sign-in"), f"{method} {path}"
        else:
            assert response.status_code in (401, 403), f"{method} {path}: {response.status_code}"
    assert state_of(engine) == AppState.pending_review


def test_a_forged_or_tampered_cookie_is_no_session(console: tuple[FastAPI, Engine]) -> None:
    app, _ = console
    client = TestClient(app)
    sign_in(client, "sam")
    cookie = client.cookies["cers_console"]
    client.cookies.set("cers_console", cookie[:-3] + ("AAA" if not cookie.endswith("AAA") else "BBB"))
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_every_state_changing_route_refuses_a_missing_or_wrong_csrf_token(console: tuple[FastAPI, Engine]) -> None:
    app, engine = console
    client = TestClient(app)
    token = sign_in(client, "sam")
    posts = [path for method, path in console_routes(app) if method == "POST"]
    assert len(posts) >= 15
    with Session(engine) as db:
        audit_before = len(db.exec(select(AuditEvent)).all())
    for path in posts:
        for form in ({}, {"csrf_token": "wrong" + token[5:]}, {"csrf_token": ""}):
            response = client.post(
                path,
                data={
                    **form,
                    "confirmed": "yes",
                    "reason": "r",
                    "message": "m",
                    "name": "eve",
                    "password": PASSWORD,
                    "role": "supervisor",
                    "to": "olga",
                },
                follow_redirects=False,
            )
            assert response.status_code == 403, f"POST {path} with {form}: {response.status_code}"
    assert state_of(engine) == AppState.pending_review
    with Session(engine) as db:
        assert len(db.exec(select(AuditEvent)).all()) == audit_before
        assert db.exec(select(Officer).where(Officer.name == "eve")).first() is None
    assert client.get("/queue").status_code == 200  # still signed in: the refusals signed no one out


def test_a_token_from_another_session_is_refused(console: tuple[FastAPI, Engine]) -> None:
    app, engine = console
    other = sign_in(TestClient(app), "omar")
    client = TestClient(app)
    sign_in(client, "olga")
    response = client.post("/applications/1/approve", data={"csrf_token": other, "confirmed": "yes"}, follow_redirects=False)
    assert response.status_code == 403
    assert state_of(engine) == AppState.pending_review


def test_a_monitor_reads_but_cannot_decide(console: tuple[FastAPI, Engine]) -> None:
    app, engine = console
    client = TestClient(app)
    token = sign_in(client, "mona")
    page = client.get("/applications/1")
    assert page.status_code == 200 and "/applications/1/approve" not in page.text
    for action in ("claim", "approve", "reject", "request-info", "reissue-code", "reopen", "assign"):
        response = client.post(
            f"/applications/1/{action}",
            data={"csrf_token": token, "confirmed": "yes", "reason": "r", "message": "m", "to": "mona"},
            follow_redirects=False,
        )
        assert response.status_code == 403, action
    assert client.post("/correspondence/1/close", data={"csrf_token": token}, follow_redirects=False).status_code == 403
    assert state_of(engine) == AppState.pending_review


def test_an_officer_cannot_manage_accounts_or_reopen(console: tuple[FastAPI, Engine]) -> None:
    app, engine = console
    client = TestClient(app)
    token = sign_in(client, "olga")
    assert client.get("/officers").status_code == 403
    for path, form in (
        ("/officers", {"name": "eve", "role": "supervisor", "password": PASSWORD}),
        ("/officers/olga/role", {"role": "supervisor"}),
        ("/officers/omar/password", {"password": "x" * 20}),
        ("/officers/sam/active", {"active": "no"}),
        ("/officers/sam/unlock", {}),
    ):
        assert client.post(path, data={"csrf_token": token, **form}, follow_redirects=False).status_code == 403, path
    assert (
        client.post(
            "/applications/1/reopen", data={"csrf_token": token, "confirmed": "yes", "reason": "r"}, follow_redirects=False
        ).status_code
        == 403
    )
    with Session(engine) as db:
        officers = {o.name: o for o in db.exec(select(Officer))}
    assert "eve" not in officers and officers["olga"].role.value == "officer" and officers["sam"].active


def test_a_supervisor_manages_accounts(console: tuple[FastAPI, Engine]) -> None:
    app, engine = console
    client = TestClient(app)
    token = sign_in(client, "sam")
    client.post("/officers", data={"csrf_token": token, "name": "eve", "role": "monitor", "password": PASSWORD})
    client.post("/officers/olga/active", data={"csrf_token": token, "active": "no"})
    with Session(engine) as db:
        officers = {o.name: o for o in db.exec(select(Officer))}
    assert officers["eve"].role.value == "monitor" and not officers["olga"].active
    assert "eve" in client.get("/officers").text


def test_disabling_or_a_new_password_ends_the_officers_sessions(console: tuple[FastAPI, Engine]) -> None:
    app, _ = console
    olga, omar, sam = TestClient(app), TestClient(app), TestClient(app)
    sign_in(olga, "olga")
    sign_in(omar, "omar")
    token = sign_in(sam, "sam")
    sam.post("/officers/olga/password", data={"csrf_token": token, "password": "another long password"})
    sam.post("/officers/omar/active", data={"csrf_token": token, "active": "no"})
    assert olga.get("/queue", follow_redirects=False).status_code == 303
    assert omar.get("/queue", follow_redirects=False).status_code == 303
    sign_in(olga, "olga", "another long password")


def test_repeated_failures_lock_the_account_until_a_supervisor_unlocks_it(console: tuple[FastAPI, Engine]) -> None:
    app, _ = console
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text).group(1)  # type: ignore[union-attr]
    for _ in range(5):
        response = client.post("/sign-in", data={"name": "olga", "password": "wrong password", "csrf_token": token})
        assert response.status_code == 401
    response = client.post("/sign-in", data={"name": "olga", "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 401 and "locked" in response.text
    supervisor = TestClient(app)
    supervisor_token = sign_in(supervisor, "sam")
    assert "Unlock" in supervisor.get("/officers").text
    supervisor.post("/officers/olga/unlock", data={"csrf_token": supervisor_token})
    sign_in(client, "olga")


def test_session_cookie_is_signed_httponly_and_samesite(console: tuple[FastAPI, Engine]) -> None:
    app, _ = console
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text).group(1)  # type: ignore[union-attr]
    response = client.post("/sign-in", data={"name": "olga", "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and PASSWORD not in response.headers["set-cookie"]
    page = client.get("/queue")
    assert page.headers["x-frame-options"] == "SAMEORIGIN" and "frame-ancestors 'self'" in page.headers["content-security-policy"]


def test_the_console_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CERS_CONSOLE__SECRET_KEY is not set"):
        console_secret(console_settings(tmp_path), development=False)
    with pytest.raises(SettingsError, match="too short"):
        console_secret(console_settings(tmp_path, CERS_CONSOLE__SECRET_KEY="short"), development=False)
    assert len(console_secret(console_settings(tmp_path), development=True)) >= 32
    key = "k" * 40
    assert console_secret(console_settings(tmp_path, CERS_CONSOLE__SECRET_KEY=key), development=False) == key


def test_a_secret_key_in_the_settings_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[console]\nsecret_key = "in the file"\n')
    with pytest.raises(SettingsError, match="CERS_CONSOLE__SECRET_KEY"):
        console_settings(tmp_path, CERS_SETTINGS=str(path))


def test_the_trusted_user_header_is_ignored_unless_turned_on(tmp_path: Path) -> None:
    app, _ = console_app(console_settings(tmp_path / "off"))
    assert TestClient(app).get("/queue", headers={"X-Remote-User": "sam"}, follow_redirects=False).status_code == 303
    app, _ = console_app(console_settings(tmp_path / "on", CERS_CONSOLE__TRUSTED_USER_HEADER="X-Remote-User"))
    client = TestClient(app)
    assert client.get("/queue", headers={"X-Remote-User": "sam"}).status_code == 200
    assert client.get("/queue", headers={"X-Remote-User": "nobody"}, follow_redirects=False).status_code == 303


def test_what_applicants_wrote_is_escaped(console: tuple[FastAPI, Engine]) -> None:
    app, engine = console
    hostile = seed_application(engine, bn="876543216RM0001", name='<script>alert("x")</script>')
    client = TestClient(app)
    sign_in(client, "mona")
    for page in (client.get("/queue").text, client.get(f"/applications/{hostile}").text):
        assert "<script>" not in page and "&lt;script&gt;" in page


def test_the_language_switch_stays_on_this_site(console: tuple[FastAPI, Engine]) -> None:
    app, _ = console
    client = TestClient(app)
    token = sign_in(client, "mona")
    for back, expected in (("https://evil.example/", "/queue"), ("//evil.example/x", "/queue"), ("/applications/1", "/applications/1")):
        response = client.post("/language", data={"csrf_token": token, "lang": "fr", "back": back}, follow_redirects=False)
        assert response.headers["location"] == expected
    assert '<html lang="fr">' in client.get("/queue").text
