"""Sign-in under attack, against a running console: an atomic lock-out under parallel guesses, one
answer for every failure, rate limits per client address and per account name, Argon2 bounded."""

from __future__ import annotations

import html
import re
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from console_browser import served
from console_support import PASSWORD, console_app, console_settings, csrf_of, password_hash, sign_in
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import console.officers
from core.db import session_scope
from core.models import AuditEvent, Officer, utcnow

GENEROUS = {"CERS_CONSOLE__SIGN_IN_LIMIT_PER_ADDRESS": "1000/minute", "CERS_CONSOLE__SIGN_IN_LIMIT_PER_NAME": "1000/minute"}


class CountingHasher:
    """The console's PasswordHasher, counting verifications: of the real password hash, in all, and the most at once."""

    def __init__(self, real: PasswordHasher) -> None:
        self.real, self.lock = real, threading.Lock()
        self.real_hash = self.all = self.running = self.peak = 0

    def verify(self, hash: str, password: str | bytes) -> bool:
        with self.lock:
            self.all += 1
            self.real_hash += hash == password_hash()
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            return self.real.verify(hash, password)
        finally:
            with self.lock:
                self.running -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@contextmanager
def counted_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingHasher]:
    counting = CountingHasher(console.officers._hasher)
    monkeypatch.setattr(console.officers, "_hasher", counting)
    yield counting


def post_sign_in(base: str, name: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=60) as client:
        token = csrf_of(client.get("/sign-in").text)
        return client.post("/sign-in", data={"name": name, "password": password, "csrf_token": token})


def audit(engine: Engine, action: str) -> list[str]:
    with Session(engine) as db:
        return [e.detail or "" for e in db.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id)))]


def test_twenty_parallel_wrong_passwords_check_no_more_than_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app, engine = console_app(console_settings(tmp_path / "var", **GENEROUS))
    with counted_checks(monkeypatch) as counts, served(app) as base:
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda n: post_sign_in(base, "olga", f"wrong password {n:02}"), range(20)))
        checked = counts.real_hash
        right = post_sign_in(base, "olga", PASSWORD)
    with capsys.disabled():
        print(f"\n20 parallel wrong sign-ins: {checked} wrong passwords checked before the lock (limit 5)")
    assert {a.status_code for a in answers} == {401}
    assert checked <= 5
    assert right.status_code == 401 and "/sign-out" not in right.text  # the right password is refused: locked
    assert len([d for d in audit(engine, "sign_in_refused") if d.endswith("wrong_password")]) == checked
    assert audit(engine, "sign_in_refused")[-1] == "olga: locked"
    with Session(engine) as db:
        olga = db.exec(select(Officer).where(Officer.name == "olga")).one()
        assert olga.locked_until is not None and olga.locked_until > utcnow()


def _normalised(html: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', html)


def test_every_failure_gets_the_same_answer_in_about_the_same_time(tmp_path: Path) -> None:
    app, engine = console_app(console_settings(tmp_path / "var", **GENEROUS))
    with session_scope(engine) as db:
        omar = db.exec(select(Officer).where(Officer.name == "omar")).one()
        omar.failed_sign_ins, omar.locked_until = 5, utcnow().replace(year=utcnow().year + 1)
        mona = db.exec(select(Officer).where(Officer.name == "mona")).one()
        mona.active = False
        db.add_all([omar, mona])
    cases = {
        "unknown_name": ("nobody", "wrong password"),
        "wrong_password": ("olga", "wrong password"),
        "locked": ("omar", PASSWORD),
        "disabled": ("mona", PASSWORD),
    }
    client = TestClient(app)
    token = csrf_of(client.get("/sign-in").text)
    pages: dict[str, set[str]] = {}
    times: dict[str, list[float]] = {}
    for _ in range(3):
        for case, (name, password) in cases.items():
            started = time.perf_counter()
            response = client.post("/sign-in", data={"name": name, "password": password, "csrf_token": token})
            times.setdefault(case, []).append(time.perf_counter() - started)
            assert response.status_code == 401, case
            pages.setdefault(_normalised(response.text).replace(name, "NAME"), set()).add(case)
        sign_in(TestClient(app), "sam")  # a success in between resets nobody else's count
    assert len(pages) == 1, f"the pages differ: {sorted(map(sorted, pages.values()))}"
    medians = {case: statistics.median(t) for case, t in times.items()}
    slowest, fastest = max(medians.values()), min(medians.values())
    assert fastest > slowest / 2, f"timings differ: {medians}"
    refused = audit(engine, "sign_in_refused")
    for case, (name, _) in cases.items():
        assert f"{name}: {case}" in refused  # the reason is in the audit trail, not on the page


def test_a_supervisor_sees_locked_accounts(tmp_path: Path) -> None:
    app, _ = console_app(console_settings(tmp_path / "var", **GENEROUS))
    client = TestClient(app)
    token = csrf_of(client.get("/sign-in").text)
    for n in range(5):
        client.post("/sign-in", data={"name": "olga", "password": f"wrong {n}", "csrf_token": token})
    sam = TestClient(app)
    sign_in(sam, "sam")
    page = sam.get("/officers").text
    assert re.search(r'<tr class="locked">\s*<th scope="row">olga</th>', page)
    assert "/officers/olga/unlock" in page and "/officers/omar/unlock" not in page


def _flood(base: str, names: Callable[[int], str], count: int, clients: int) -> list[httpx.Response]:
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(lambda n: post_sign_in(base, names(n), "wrong password"), range(count)))


def test_sign_ins_are_limited_per_client_address(tmp_path: Path) -> None:
    app, _ = console_app(console_settings(tmp_path / "var", CERS_CONSOLE__SIGN_IN_LIMIT_PER_ADDRESS="6/minute"))
    client = TestClient(app)
    token = csrf_of(client.get("/sign-in").text)
    statuses = [
        client.post("/sign-in", data={"name": f"guess{n}", "password": "wrong password", "csrf_token": token}).status_code for n in range(8)
    ]
    assert statuses == [401] * 6 + [429] * 2
    refused = client.post("/sign-in", data={"name": "olga", "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "Too many sign-in attempts" in refused.text and "Trop de tentatives" in refused.text
    other = TestClient(app, client=("192.0.2.7", 50000))  # another address is not held back
    sign_in(other, "olga")


def test_sign_ins_are_limited_per_account_name(tmp_path: Path) -> None:
    app, _ = console_app(console_settings(tmp_path / "var", CERS_CONSOLE__SIGN_IN_LIMIT_PER_NAME="3/minute"))
    statuses = []
    for n in range(5):
        client = TestClient(app, client=(f"192.0.2.{n + 1}", 50000))  # each guess from another address
        token = csrf_of(client.get("/sign-in").text)
        statuses.append(client.post("/sign-in", data={"name": "Olga ", "password": "wrong password", "csrf_token": token}).status_code)
    assert statuses == [401, 401, 401, 429, 429]
    french = TestClient(app, client=("192.0.2.99", 50000))
    token = csrf_of(french.get("/sign-in").text)
    french.post("/language", data={"csrf_token": token, "lang": "fr", "back": "/sign-in"})
    page = french.post("/sign-in", data={"name": "olga", "password": PASSWORD, "csrf_token": token})
    assert page.status_code == 429 and '<html lang="fr">' in page.text
    assert "Trop de tentatives d'ouverture de session" in html.unescape(page.text)


def test_a_flood_of_unknown_names_runs_at_most_two_argon2_checks_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = console_app(console_settings(tmp_path / "var", **GENEROUS))
    with counted_checks(monkeypatch) as counts, served(app) as base:
        answers = _flood(base, lambda n: f"stranger{n}", count=30, clients=30)
    assert {a.status_code for a in answers} == {401}
    assert counts.all == 30 and counts.peak <= 2, (counts.all, counts.peak)
