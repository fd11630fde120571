"""Shared fixtures: real IMAP servers (Dovecot, pymap) and an SMTP sink."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import flow
import pytest
from console_browser import chromium_or_skip
from missing import require
from playwright.sync_api import Browser, sync_playwright
from postgres import PostgresCluster, postgres_missing_reason
from servers import DovecotServer, ImapAccount, dovecot_missing_reason, fresh_account

from demo.mailservers import PymapServer, SmtpSink

# Tests that never open the database: the PostgreSQL pass leaves them out.
DATABASE_FREE_MODULES = {
    "test_codes_and_days",
    "test_demo_forms",
    "test_mailservers",
    "test_mime",
    "test_parser",
    "test_parsers_fuzz",
    "test_parsers_hostile",
    "test_parsers_kinds",
    "test_rules",
    "test_settings",
}


# Fixtures that start a server: a test marked `unit` must use none of them (checked at collection).
SERVER_FIXTURES = frozenset(
    {
        "pymap_server",
        "pymap_instance",
        "dovecot_server",
        "dovecot_instance",
        "imap_server",
        "smtp_sink",
        "postgres_cluster",
        "browser",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses a Dovecot fixture with `dovecot`; on PostgreSQL keep the database tests.

    A test marked `unit` that uses a server fixture fails the collection, so the marker cannot lie.
    """
    misused = []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if {"dovecot_server", "dovecot_instance"} & fixtures:
            item.add_marker(pytest.mark.dovecot)
        if item.get_closest_marker("unit") is not None and SERVER_FIXTURES & fixtures:
            misused.append(f"{item.nodeid} uses {', '.join(sorted(SERVER_FIXTURES & fixtures))}")
    if misused:
        raise pytest.UsageError("tests marked unit must start no server:\n  " + "\n  ".join(misused))
    if os.environ.get("INTAKE_TEST_DATABASE") == "postgresql":
        # unit tests never open the suite's database (those that need one use in-memory SQLite)
        free = [
            item
            for item in items
            if item.module.__name__ in DATABASE_FREE_MODULES or item.get_closest_marker("unit") is not None  # type: ignore[attr-defined]
        ]
        if free:
            config.hook.pytest_deselected(items=free)
            items[:] = [item for item in items if item not in free]


def _skip_or_fail_without_dovecot() -> None:
    require(dovecot_missing_reason(), "Dovecot tests")


@pytest.fixture(scope="session")
def pymap_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PymapServer]:
    """One pymap server for the whole session; tests get their own user on it."""
    with PymapServer(tmp_path_factory.mktemp("pymap"), hash_rounds=1000) as server:
        yield server


@pytest.fixture(scope="session")
def dovecot_instance() -> Iterator[DovecotServer]:
    """One Dovecot for the whole session; tests get their own user on it."""
    _skip_or_fail_without_dovecot()
    with DovecotServer() as server:
        yield server


@pytest.fixture
def pymap_server(pymap_instance: PymapServer) -> ImapAccount:
    """A fresh, empty pymap account."""
    return fresh_account("pymap", pymap_instance)


@pytest.fixture
def dovecot_server(dovecot_instance: DovecotServer) -> ImapAccount:
    """A fresh, empty Dovecot account."""
    return fresh_account("dovecot", dovecot_instance)


@pytest.fixture(params=[pytest.param("dovecot", marks=pytest.mark.dovecot, id="dovecot"), pytest.param("pymap", id="pymap")])
def imap_server(request: pytest.FixtureRequest) -> ImapAccount:
    """A fresh, empty account on each kind of IMAP server."""
    return request.getfixturevalue(f"{request.param}_server")


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    """A running SMTP sink that also files messages in `tmp_path / "sent"`."""
    with SmtpSink(maildir=tmp_path / "sent") as sink:
        yield sink


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster | None]:
    """With INTAKE_TEST_DATABASE=postgresql, one throwaway cluster for the session; else None (SQLite)."""
    if os.environ.get("INTAKE_TEST_DATABASE") != "postgresql":
        yield None
        return
    reason = postgres_missing_reason()
    if reason:
        pytest.fail(f"INTAKE_TEST_DATABASE=postgresql but {reason}", pytrace=False)
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(autouse=True)
def test_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test gets its own empty PostgreSQL database when the suite runs on PostgreSQL.

    Tests marked `unit` never ask for the cluster (so the collection guard can tell them apart).
    """
    if request.node.get_closest_marker("unit") is not None:
        yield
        return
    postgres_cluster: PostgresCluster | None = request.getfixturevalue("postgres_cluster")
    if postgres_cluster is None:
        yield
        return
    name = f"t_{uuid.uuid4().hex[:16]}"
    postgres_cluster.execute(f"CREATE DATABASE {name}")
    flow.DATABASE_URL = postgres_cluster.url(name)
    try:
        yield
    finally:
        flow.DATABASE_URL = None
        postgres_cluster.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright, one per test module (skipped, naming it, where it is missing)."""
    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable))
        yield launched
        launched.close()
