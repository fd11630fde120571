"""A stored message is committed without an fsync of its own (SQLite: synchronous=NORMAL for that one transaction).

A power cut may then lose the store, never the message: nothing outside the database may learn of a store before
the write-ahead log holding it is on disk. The claim that hands a notice to the SMTP server is a synced commit
(it syncs the whole log, the stores before it included), and the MOVE of handled mail follows sync_log().
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from flow import flow_settings, run_until_idle
from servers import ImapAccount, imap_append
from sqlalchemy import event

import intake.fetcher
import outbox.sender
from app.runner import Runner
from core.db import open_database, sync_log, write_session
from core.settings import load_settings
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email, plain_email

FULL, NORMAL = 2, 1


def synchronous(connection: Any) -> int:
    return int(connection.exec_driver_sql("PRAGMA synchronous").scalar())


def test_a_store_commits_unsynced_and_the_connection_goes_back_synced(tmp_path: Path) -> None:
    engine = open_database(load_settings(environ={"CERS_STORAGE__PATH": str(tmp_path)}))
    with write_session(engine, synced=False) as session:
        assert synchronous(session.connection()) == NORMAL
    with pytest.raises(RuntimeError), write_session(engine, synced=False):
        raise RuntimeError("a store that fails")
    with engine.connect() as connection:
        assert synchronous(connection) == FULL
    with write_session(engine) as session:
        assert synchronous(session.connection()) == FULL


def test_no_notice_and_no_move_before_the_log_holding_the_store_is_synced(
    tmp_path: Path, imap_server: ImapAccount, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = Runner(flow_settings(tmp_path / "var", imap_server, smtp_sink))
    for sender in ("claire.roy@erable.example", "ahmed@northfreight.example"):
        imap_append(imap_server, application_email(fill_form(sample_values("valid")), sender=sender))
    imap_append(imap_server, plain_email(sender="lee@maple.example", subject="Question", body="Where is the form?"))
    events: list[str] = []
    sqlite = runner.engine.dialect.name == "sqlite"  # on PostgreSQL every commit is synced

    @event.listens_for(runner.engine, "begin")
    def begin(connection: Any) -> None:
        if sqlite:
            connection.info["changes before"] = connection.connection.dbapi_connection.total_changes

    @event.listens_for(runner.engine, "commit")
    def commit(connection: Any) -> None:  # on SQLite, a commit that wrote nothing syncs nothing
        if not sqlite:
            events.append("synced commit")
        elif connection.connection.dbapi_connection.total_changes > connection.info.pop("changes before", 0):
            events.append("synced commit" if synchronous(connection) == FULL else "unsynced commit")

    def spy(name: str, function: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            events.append(name)
            return function(*args, **kwargs)

        return call

    monkeypatch.setattr(outbox.sender, "hand_over", spy("hand over", outbox.sender.hand_over))
    monkeypatch.setattr(intake.fetcher, "move_messages", spy("move", intake.fetcher.move_messages))
    monkeypatch.setattr(intake.fetcher, "sync_log", spy("log synced", intake.fetcher.sync_log))
    run_until_idle(runner)

    assert events.count("unsynced commit") >= 3 if sqlite else "unsynced commit" not in events, events
    assert events.count("hand over") == 3 and "move" in events
    for index, name in enumerate(events):
        if name in ("hand over", "move"):  # since the last store, a synced commit or sync_log
            last_store = max((i for i, earlier in enumerate(events[:index]) if earlier == "unsynced commit"), default=-1)
            assert {"synced commit", "log synced"} & set(events[last_store + 1 : index]), (index, events)


def test_sync_log_syncs_the_log_sqlite_has_open_after_the_working_directory_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = open_database(load_settings(environ={"CERS_STORAGE__PATH": "var"}))  # the default: a relative path
    with write_session(engine, synced=False) as session:
        session.connection().exec_driver_sql("CREATE TABLE written (id INTEGER)")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    synced: list[str] = []
    fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    sync_log(engine)
    assert synced == [str(tmp_path / "var" / "cers-intake.sqlite3-wal")]
