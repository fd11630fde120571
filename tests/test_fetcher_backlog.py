"""A backlog is fetched a batch at a time, each pass asking the server for about a batch of UIDs, on a real Dovecot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flow import flow_settings
from imapclient import IMAPClient
from servers import ImapAccount, connect, imap_append
from sqlmodel import Session, col, select

import intake.fetcher
from app.runner import Runner
from core.enums import MessageStatus
from core.models import InboundMessage
from demo.mailservers import SmtpSink
from demo.samples import plain_email
from intake.connection import imap_connection
from intake.fetcher import FetchReport, fetch_new_messages, settle_messages

BATCH = 5


@pytest.fixture
def runner(tmp_path: Path, dovecot_server: ImapAccount, smtp_sink: SmtpSink) -> Runner:
    return Runner(flow_settings(tmp_path / "var", dovecot_server, smtp_sink))


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many UIDs each SEARCH returned."""
    seen: list[int] = []
    original = IMAPClient.search

    def recording(self: IMAPClient, criteria: Any = "ALL", charset: Any = None) -> Any:
        result = original(self, criteria, charset)
        seen.append(len(result))
        return result

    monkeypatch.setattr(IMAPClient, "search", recording)
    return seen


def deliver(account: ImapAccount, count: int) -> list[int]:
    uids = [imap_append(account, plain_email(sender=f"s{i}@example.ca", subject=f"m{i}", body="hello")) for i in range(count)]
    assert all(uid is not None for uid in uids), "Dovecot reports APPENDUID"
    return [uid for uid in uids if uid is not None]


def drain(runner: Runner) -> list[FetchReport]:
    """Fetch passes of BATCH messages, as the daemon's fetch stage runs them, until one says there is no more."""
    reports = []
    with imap_connection(runner.settings.mailbox) as client:
        while not reports or reports[-1].more:
            reports.append(
                fetch_new_messages(client, settings=runner.settings.mailbox, engine=runner.engine, blobs=runner.blobs, limit=BATCH)
            )
            assert len(reports) < 50, "the backlog never ended"
    return reports


def recorded_subjects(runner: Runner) -> list[str | None]:
    with Session(runner.engine) as session:
        return [row.subject for row in session.exec(select(InboundMessage).order_by(InboundMessage.uid))]


def test_each_pass_of_a_backlog_asks_for_a_batch_of_uids_not_the_whole_backlog(
    runner: Runner, dovecot_server: ImapAccount, searches: list[int]
) -> None:
    deliver(dovecot_server, 6 * BATCH + 2)
    reports = drain(runner)
    assert [report.fetched for report in reports] == [BATCH] * 6 + [2]
    assert recorded_subjects(runner) == [f"m{i}" for i in range(6 * BATCH + 2)]
    # the answer to each SEARCH stays about a batch long, however long the backlog (it used to be all of it, each pass)
    assert searches and max(searches) <= BATCH + 1, searches


def test_uids_that_went_away_inside_a_backlog_leave_none_of_the_others_behind(runner: Runner, dovecot_server: ImapAccount) -> None:
    uids = deliver(dovecot_server, 4 * BATCH)
    gone = uids[1 : 2 + BATCH]  # more than a batch in a row, above the last UID recorded: another client deleted them
    with connect(dovecot_server) as client:
        client.select_folder("INBOX")
        client.delete_messages(gone)
        client.uid_expunge(gone)
    reports = drain(runner)
    assert sum(report.fetched for report in reports) == len(uids) - len(gone)
    kept = [i for i, uid in enumerate(uids) if uid not in gone]
    assert recorded_subjects(runner) == [f"m{i}" for i in kept]


@pytest.fixture
def moves(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The message set of each MOVE sent."""
    sent: list[str] = []
    original = IMAPClient.move

    def recording(self: IMAPClient, messages: Any, folder: str) -> Any:
        sent.append(messages if isinstance(messages, str) else ",".join(map(str, messages)))
        return original(self, messages, folder)

    monkeypatch.setattr(IMAPClient, "move", recording)
    return sent


def handled(runner: Runner, uids: list[int]) -> None:
    with Session(runner.engine) as session:
        for row in session.exec(select(InboundMessage).where(col(InboundMessage.uid).in_(uids))):
            row.status = MessageStatus.processed
            session.add(row)
        session.commit()


def folders(account: ImapAccount, processed: str) -> dict[str, list[int]]:
    with connect(account) as client:
        return {folder: list(client.select_folder(folder) and client.search("ALL")) for folder in ("INBOX", processed)}


def test_handled_mail_in_a_row_is_moved_by_one_command_naming_a_range(
    runner: Runner, dovecot_server: ImapAccount, moves: list[str]
) -> None:
    uids = deliver(dovecot_server, 30)
    drain(runner)
    handled(runner, uids)
    with imap_connection(runner.settings.mailbox) as client:
        moved = settle_messages(client, settings=runner.settings.mailbox, engine=runner.engine)
    assert moved == 30
    assert moves == [f"{uids[0]}:{uids[-1]}"]
    assert folders(dovecot_server, runner.settings.mailbox.processed_folder)["INBOX"] == []


def test_scattered_handled_mail_is_moved_in_chunks_and_the_rest_stays(
    runner: Runner, dovecot_server: ImapAccount, moves: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake.fetcher, "MOVE_CHUNK", 4)
    uids = deliver(dovecot_server, 30)
    drain(runner)
    done, waiting = uids[::2], uids[1::2]  # every other message handled: no two in a row
    handled(runner, done)
    with imap_connection(runner.settings.mailbox) as client:
        moved = settle_messages(client, settings=runner.settings.mailbox, engine=runner.engine)
    assert moved == len(done) == 15
    assert moves == [",".join(map(str, done[i : i + 4])) for i in range(0, 15, 4)]
    boxes = folders(dovecot_server, runner.settings.mailbox.processed_folder)
    assert boxes["INBOX"] == waiting
    with Session(runner.engine) as session:
        rows = session.exec(select(InboundMessage)).all()
    assert sorted(row.uid for row in rows if row.moved) == done
