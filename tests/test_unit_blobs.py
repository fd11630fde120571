"""The blob store's staged writes: bytes written as they come, kept under their SHA-256 or left nowhere."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from unit_support import memory_engine

from core.blobs import BlobStore, DatabaseBlobStore

pytestmark = pytest.mark.unit

CHUNKS = [b"From: a@b.example\r\n\r\n", b"x" * 1000, b"end\r\n"]


def files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_staged_chunks_are_kept_under_their_sha256_like_put(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    with store.staged(iter(CHUNKS)) as staged:
        assert (staged.digest, staged.size) == (hashlib.sha256(b"".join(CHUNKS)).hexdigest(), len(b"".join(CHUNKS)))
        assert store.keep(staged, ".eml") == staged.digest
    assert store.get(staged.digest, ".eml") == b"".join(CHUNKS)
    assert files(store.root) == [store.path(staged.digest, ".eml")]
    put = BlobStore(tmp_path / "put")
    put.put(b"".join(CHUNKS), ".eml")
    assert store.path(staged.digest, ".eml").stat().st_mode == put.path(staged.digest, ".eml").stat().st_mode


def test_a_staged_blob_not_kept_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    with store.staged(iter(CHUNKS)) as staged:
        assert staged.path.read_bytes() == b"".join(CHUNKS)
    assert files(store.root) == []


def test_chunks_that_fail_midway_leave_nothing(tmp_path: Path) -> None:
    def failing() -> Iterator[bytes]:
        yield b"the first piece"
        raise ConnectionResetError("gone")

    store = BlobStore(tmp_path / "blobs")
    with pytest.raises(ConnectionResetError), store.staged(failing()):
        pass
    assert files(store.root) == []


def test_keeping_bytes_already_kept_changes_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    digest = store.put(b"".join(CHUNKS), ".eml")
    with store.staged(iter(CHUNKS)) as staged:
        assert store.keep(staged, ".eml") == digest
    assert files(store.root) == [store.path(digest, ".eml")]


def test_the_database_store_keeps_a_staged_blob_in_its_table_and_removes_the_file() -> None:
    store = DatabaseBlobStore(memory_engine())
    with store.staged(iter(CHUNKS)) as staged:
        store.keep(staged, ".eml")
    assert store.get(staged.digest, ".eml") == b"".join(CHUNKS)
    assert not staged.path.exists()


def test_threads_that_put_the_same_bytes_at_once_all_get_them_kept(tmp_path: Path) -> None:
    """Two messages read side by side may carry the same PDF: each thread writes a file of its own, then renames it."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    store = BlobStore(tmp_path / "blobs")
    data = b"%PDF-1.7\n" + b"x" * 200_000
    for round_ in range(20):
        payload = data + str(round_).encode()
        start = threading.Barrier(6)

        def put(payload: bytes = payload, start: threading.Barrier = start) -> str:
            start.wait()
            return store.put(payload, ".pdf")

        with ThreadPoolExecutor(max_workers=6) as pool:
            digests = {future.result() for future in [pool.submit(put) for _ in range(6)]}
        (digest,) = digests
        assert store.get(digest, ".pdf") == payload
    assert len(files(store.root)) == 20


BATCH = [b"From: a@b.example\r\n\r\nfirst", b"From: c@d.example\r\n\r\nsecond", b"x" * 300_000, b"From: a@b.example\r\n\r\nfirst"]


def test_put_many_keeps_a_batch_like_put_and_gives_the_digests_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import threading

    store = BlobStore(tmp_path / "blobs")
    synced_by: set[str] = set()
    fsync = os.fsync

    def spy(fd: int) -> None:
        synced_by.add(threading.current_thread().name)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    digests = store.put_many(BATCH, ".eml")
    assert digests == [hashlib.sha256(data).hexdigest() for data in BATCH]
    assert [store.get(digest, ".eml") for digest in digests] == BATCH
    assert files(store.root) == sorted(store.path(digest, ".eml") for digest in set(digests))  # no temporary file left
    assert synced_by and all(name.startswith("blob-writer") for name in synced_by)  # written side by side, each synced
    assert store.put_many([], ".eml") == []


def test_the_database_store_keeps_a_batch_by_one_statement_in_the_callers_transaction() -> None:
    from sqlalchemy import event
    from sqlmodel import Session

    engine = memory_engine()
    store = DatabaseBlobStore(engine)
    store.put(BATCH[1], ".eml")  # kept already: ignored, not an error
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with Session(engine) as session:
        digests = store.put_many(BATCH, ".eml", session=session)
        session.rollback()
    assert len([statement for statement in statements if statement.startswith("INSERT")]) == 1
    assert not store.exists(digests[0], ".eml")  # rolled back with the caller's transaction
    with Session(engine) as session:
        store.put_many(BATCH, ".eml", session=session)
        session.commit()
    assert [store.get(digest, ".eml") for digest in digests] == BATCH
