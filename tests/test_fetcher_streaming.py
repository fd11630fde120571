"""A large message is fetched a chunk at a time straight into its blob file, never whole, on a real Dovecot."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest
from flow import flow_settings, run_until_idle
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from pypdf import PdfWriter
from servers import ImapAccount, connect, imap_append
from sqlmodel import Session, select

from app.runner import Runner
from core.enums import AppState, MessageStatus
from core.errors import MailboxError
from core.models import Application, InboundMessage, MailboxState
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email
from intake.connection import imap_connection
from intake.fetcher import CHUNK_BYTES, STREAM_BYTES, fetch_new_messages

BIG = application_email(b"%PDF-1.7\n" + os.urandom(2 * STREAM_BYTES), sender="big@example.ca", subject="big")


@pytest.fixture
def runner(tmp_path: Path, dovecot_server: ImapAccount, smtp_sink: SmtpSink) -> Runner:
    return Runner(flow_settings(tmp_path / "var", dovecot_server, smtp_sink))


@pytest.fixture
def literals(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every message or piece of one that a FETCH returned."""
    seen: list[int] = []
    original = IMAPClient.fetch

    def recording(self: IMAPClient, messages: Any, data: Any, modifiers: Any = None) -> Any:
        result = original(self, messages, data, modifiers)
        seen.extend(len(value) for items in result.values() for value in items.values() if isinstance(value, bytes))
        return result

    monkeypatch.setattr(IMAPClient, "fetch", recording)
    return seen


def fetch(runner: Runner) -> None:
    with imap_connection(runner.settings.mailbox) as client:
        fetch_new_messages(client, settings=runner.settings.mailbox, engine=runner.engine, blobs=runner.blobs)


def rows(runner: Runner) -> dict[int, InboundMessage]:
    with Session(runner.engine) as session:
        return {row.uid: row for row in session.exec(select(InboundMessage))}


def as_stored(server: ImapAccount) -> bytes:
    """The message as the server hands it out whole."""
    with connect(server) as client:
        client.select_folder("INBOX")
        return bytes(client.fetch(client.search("ALL")[:1], [b"BODY.PEEK[]"]).popitem()[1][b"BODY[]"])


def leftovers(runner: Runner) -> list[Path]:
    return list(runner.settings.blob_dir.rglob(".staged*"))


def test_a_large_message_is_fetched_in_chunks_into_its_blob(runner: Runner, dovecot_server: ImapAccount, literals: list[int]) -> None:
    imap_append(dovecot_server, BIG)
    imap_append(dovecot_server, application_email(b"%PDF-1.7\nsmall", sender="small@example.ca", subject="small"))
    fetch(runner)
    largest = max(literals)
    stored = as_stored(dovecot_server)
    big = rows(runner)[1]
    assert big.status == MessageStatus.received and big.subject == "big" and big.sender == "big@example.ca"
    assert (big.sha256, big.size) == (hashlib.sha256(stored).hexdigest(), len(stored))
    assert big.sha256 is not None and runner.blobs.get(big.sha256, ".eml") == stored
    assert rows(runner)[2].status == MessageStatus.received
    assert largest <= CHUNK_BYTES < len(stored)
    assert leftovers(runner) == []


def test_a_large_duplicate_is_recorded_once_and_leaves_no_file(runner: Runner, dovecot_server: ImapAccount) -> None:
    imap_append(dovecot_server, BIG)
    imap_append(dovecot_server, BIG)
    with imap_connection(runner.settings.mailbox) as client:
        report = fetch_new_messages(client, settings=runner.settings.mailbox, engine=runner.engine, blobs=runner.blobs)
    assert (report.fetched, report.duplicates) == (1, 1)
    assert len(list(runner.blobs.digests())) == 1 and leftovers(runner) == []


def test_copies_of_a_message_in_one_batch_and_in_the_next_are_recorded_once(runner: Runner, dovecot_server: ImapAccount) -> None:
    small = application_email(b"%PDF-1.7\nsmall", sender="small@example.ca", subject="small")
    for raw in (small, small, BIG, small):
        imap_append(dovecot_server, raw)
    with imap_connection(runner.settings.mailbox) as client:
        first = fetch_new_messages(client, settings=runner.settings.mailbox, engine=runner.engine, blobs=runner.blobs)
        imap_append(dovecot_server, small)
        again = fetch_new_messages(client, settings=runner.settings.mailbox, engine=runner.engine, blobs=runner.blobs)
    assert (first.fetched, first.duplicates, again.fetched, again.duplicates) == (2, 2, 0, 1)
    recorded = rows(runner)
    assert sorted(recorded) == [1, 3] and recorded[1].subject == "small" and recorded[3].subject == "big"
    assert recorded[1].id is not None and recorded[3].id is not None and recorded[1].id < recorded[3].id  # in UID order


def test_a_server_that_gives_no_sizes_has_every_message_streamed_under_the_limit(
    runner: Runner, dovecot_server: ImapAccount, monkeypatch: pytest.MonkeyPatch, literals: list[int]
) -> None:
    limit = 3 * CHUNK_BYTES
    huge = application_email(b"%PDF-1.7\n" + os.urandom(4 * CHUNK_BYTES), sender="huge@example.ca", subject="huge")
    small = application_email(b"%PDF-1.7\nsmall", sender="small@example.ca", subject="small")
    for raw in (BIG, huge, small):
        imap_append(dovecot_server, raw)
    stored = as_stored(dovecot_server)
    literals.clear()
    recording = IMAPClient.fetch

    def no_sizes(self: IMAPClient, messages: Any, data: Any, modifiers: Any = None) -> Any:
        answer = recording(self, messages, data, modifiers)
        return {uid: {k: v for k, v in items.items() if k != b"RFC822.SIZE"} for uid, items in answer.items()}

    monkeypatch.setattr(IMAPClient, "fetch", no_sizes)
    settings = runner.settings.mailbox.model_copy(update={"max_message_bytes": limit})
    with imap_connection(settings) as client:
        report = fetch_new_messages(client, settings=settings, engine=runner.engine, blobs=runner.blobs)
    assert (report.fetched, report.quarantined) == (2, 1)
    recorded = rows(runner)
    assert recorded[1].status == MessageStatus.received and recorded[1].size == len(stored)
    assert recorded[2].status == MessageStatus.quarantined and recorded[2].sha256 is None
    assert f"more than the {limit}-byte limit" in (recorded[2].last_error or "")
    assert recorded[3].status == MessageStatus.received and recorded[3].subject == "small"
    assert max(literals) <= CHUNK_BYTES and leftovers(runner) == []


def fail_on_piece(monkeypatch: pytest.MonkeyPatch, offset: int, error: Exception) -> None:
    original = IMAPClient.fetch

    def failing(self: IMAPClient, messages: Any, data: Any, modifiers: Any = None) -> Any:
        if data == [f"BODY.PEEK[]<{offset}.{CHUNK_BYTES}>".encode()]:
            raise error
        return original(self, messages, data, modifiers)

    monkeypatch.setattr(IMAPClient, "fetch", failing)


def test_a_piece_the_server_refuses_quarantines_that_message_only(
    runner: Runner, dovecot_server: ImapAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    imap_append(dovecot_server, BIG)
    imap_append(dovecot_server, application_email(b"%PDF-1.7\nsmall", sender="small@example.ca", subject="small"))
    fail_on_piece(monkeypatch, CHUNK_BYTES, IMAPClientError("FETCH failed: the server is confused"))
    fetch(runner)
    big = rows(runner)[1]
    assert big.status == MessageStatus.quarantined and big.sha256 is None
    assert "could not be fetched: FETCH failed: the server is confused" in (big.last_error or "")
    assert rows(runner)[2].status == MessageStatus.received
    assert list(runner.blobs.digests()) and leftovers(runner) == []


def test_a_connection_lost_midway_records_nothing_and_the_next_pass_fetches_it(
    runner: Runner, dovecot_server: ImapAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    imap_append(dovecot_server, BIG)
    with monkeypatch.context() as patch:
        fail_on_piece(patch, CHUNK_BYTES, ConnectionResetError("connection reset by peer"))
        with pytest.raises(MailboxError, match="connection reset"):
            fetch(runner)
    assert rows(runner) == {} and leftovers(runner) == []
    with Session(runner.engine) as session:
        assert all(state.last_uid == 0 for state in session.exec(select(MailboxState)))
    fetch(runner)
    stored = as_stored(dovecot_server)
    assert rows(runner)[1].sha256 == hashlib.sha256(stored).hexdigest()


def test_a_large_form_is_read_and_queued(runner: Runner, dovecot_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    writer = PdfWriter(clone_from=io.BytesIO(fill_form(sample_values("valid"))))
    writer.add_attachment("survey.bin", os.urandom(2 * STREAM_BYTES))
    pdf = io.BytesIO()
    writer.write(pdf)
    imap_append(dovecot_server, application_email(pdf.getvalue(), sender="big@example.ca", subject="big form"))
    run_until_idle(runner)
    assert rows(runner)[1].status == MessageStatus.processed
    with Session(runner.engine) as session:
        assert [app.state for app in session.exec(select(Application))] == [AppState.pending_review]
    assert len(smtp_sink.messages) == 1
