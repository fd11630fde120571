"""The accepted journal: a line is in the file when record() returns; its fsync runs on the journal's thread,
and close() waits for it and raises its failure."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from outbox.journal import AcceptedJournal

pytestmark = pytest.mark.unit


def test_record_returns_before_the_fsync_and_close_waits_for_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = AcceptedJournal(tmp_path / "outbox-accepted.journal")
    release = threading.Event()
    synced: list[str] = []
    fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        release.wait(10)
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    journal.record("<first@cers.example>")
    journal.record("<second@cers.example>")
    lines = journal.path.read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["<first@cers.example>", "<second@cers.example>"]
    assert synced == []

    closing = threading.Thread(target=journal.close)
    closing.start()
    closing.join(0.3)
    assert closing.is_alive(), "close() returned before the lines were on disk"
    release.set()
    closing.join(10)
    assert not closing.is_alive()
    assert synced == [str(journal.path), str(journal.path)]


def test_a_failed_fsync_is_raised_by_close_and_the_journal_still_closes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = AcceptedJournal(tmp_path / "outbox-accepted.journal")

    def failing_fsync(_fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    journal.record("<accepted@cers.example>")  # the line is written; the failure comes later
    assert "<accepted@cers.example>" in journal.path.read_text()
    with pytest.raises(OSError, match="Input/output error"):
        journal.close()
    monkeypatch.undo()
    journal.close()  # nothing left to wait for
    with journal.entries() as accepted:
        assert list(accepted) == ["<accepted@cers.example>"]
