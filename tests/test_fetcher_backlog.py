"""A backlog is fetched a batch at a time, each pass asking the server for about a batch of UIDs, on a real Dovecot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flow import flow_settings
from imapclient import IMAPClient
from servers import ImapAccount, connect, imap_append
from sqlmodel import Session, select

from app.runner import Runner
from core.models import InboundMessage
from demo.mailservers import SmtpSink
from demo.samples import plain_email
from intake.connection import imap_connection
from intake.fetcher import FetchReport, fetch_new_messages

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
