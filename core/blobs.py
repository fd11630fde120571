"""Raw messages and PDFs, named by the SHA-256 of their bytes: on disk, or in the database.

`storage.backend = "filesystem"` keeps them under <storage.path>/blobs (BlobStore); `"database"`
keeps them in the stored_blob table (DatabaseBlobStore), so several machines share nothing but the
database. `open_blob_store` picks the one the settings name; `migrate_blobs` moves a store.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import delete, func, insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlmodel import col, select

from core.models import StoredBlob, Submission, utcnow
from core.settings import Settings

SUFFIXES = (".eml", ".pdf")
# put_many() writes a batch's files side by side, so that the file system commits their fsyncs together
BLOB_WRITERS = 4


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class StagedBlob:
    """Bytes written to a temporary file, on disk (fsync) and hashed, not yet kept under their name."""

    path: Path
    digest: str
    size: int


class BlobStore:
    """Write-once files under root/ab/abcdef…; writing the same bytes twice is a no-op."""

    backend = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._writers: ThreadPoolExecutor | None = None

    @contextmanager
    def staged(self, chunks: Iterable[bytes]) -> Iterator[StagedBlob]:
        """The chunks written to a temporary file as they come (never held together), hashed and fsynced.

        keep() moves the file into the store; otherwise it is removed when the block ends, as it is when
        chunks raises."""
        folder = self._staging_folder()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f".staged.{os.getpid()}.{uuid.uuid4().hex}.tmp"
        try:
            with open(path, "xb") as handle:  # made as put() makes its files, with the same permissions
                digest, size = hashlib.sha256(), 0
                for chunk in chunks:
                    handle.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            yield StagedBlob(path, digest.hexdigest(), size)
        finally:
            path.unlink(missing_ok=True)

    def keep(self, staged: StagedBlob, suffix: str, *, session: Session | None = None) -> str:
        """Keep a staged blob under its name (its file is on disk already); its SHA-256."""
        target = self.path(staged.digest, suffix)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged.path, target)
        return staged.digest

    def _staging_folder(self) -> Path:
        return self.root  # the same file system as the blobs, so that keep() is a rename

    def path(self, digest: str, suffix: str) -> Path:
        return self.root / digest[:2] / f"{digest}{suffix}"

    def put(self, data: bytes, suffix: str, *, session: Session | None = None) -> str:
        """Keep data; its SHA-256. A database store writes in session's transaction when given one."""
        digest = sha256_hex(data)
        target = self.path(digest, suffix)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")  # one per writer, threads too
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
        return digest

    def put_many(self, datas: Sequence[bytes], suffix: str, *, session: Session | None = None) -> list[str]:
        """Keep each of datas, as put() does; their SHA-256s, in order. The files are written by a few threads
        side by side, so their fsyncs are committed together instead of one after the other."""
        if len(datas) < 2:
            return [self.put(data, suffix) for data in datas]
        if self._writers is None:
            self._writers = ThreadPoolExecutor(max_workers=BLOB_WRITERS, thread_name_prefix="blob-writer")
        return list(self._writers.map(lambda data: self.put(data, suffix), datas))

    def get(self, digest: str, suffix: str) -> bytes:
        return self.path(digest, suffix).read_bytes()

    def open(self, digest: str, suffix: str) -> BinaryIO:
        """The blob as a file to read a piece at a time (a large message is never held whole)."""
        return self.path(digest, suffix).open("rb")

    def exists(self, digest: str, suffix: str) -> bool:
        return self.path(digest, suffix).is_file()

    def delete(self, digest: str, suffix: str, *, session: Session | None = None) -> int:
        """Remove a blob (purged); the bytes freed, 0 when it was not there."""
        target = self.path(digest, suffix)
        try:
            size = target.stat().st_size
            target.unlink()
        except FileNotFoundError:
            return 0
        return size

    def digests(self) -> Iterator[tuple[str, str]]:
        """Every blob kept, as (sha256, suffix)."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir():
                continue
            for item in sorted(folder.iterdir()):
                if item.name.startswith(".") or item.suffix not in SUFFIXES:
                    continue
                yield item.stem, item.suffix

    def total_bytes(self) -> int:
        return sum(self.path(digest, suffix).stat().st_size for digest, suffix in self.digests())


class DatabaseBlobStore(BlobStore):
    """Blobs in the stored_blob table (the suffix is not kept: a SHA-256 names the bytes alone)."""

    backend = "database"

    def __init__(self, engine: Engine) -> None:
        super().__init__(Path("/nonexistent-database-blob-store"))
        self.engine = engine

    def path(self, digest: str, suffix: str) -> Path:
        raise NotImplementedError("blobs kept in the database have no path: use get() or exists()")

    def keep(self, staged: StagedBlob, suffix: str, *, session: Session | None = None) -> str:
        return self.put(staged.path.read_bytes(), suffix, session=session)

    def _staging_folder(self) -> Path:
        return Path(tempfile.gettempdir())

    def put(self, data: bytes, suffix: str, *, session: Session | None = None) -> str:
        digest = sha256_hex(data)
        statement = _insert_ignoring_duplicates(self.engine).values(sha256=digest, data=data, size=len(data), created_at=utcnow())
        if session is not None:  # committed with the row that names it
            session.connection().execute(statement)
            return digest
        with self.engine.begin() as connection:
            connection.execute(statement)
        return digest

    def put_many(self, datas: Sequence[bytes], suffix: str, *, session: Session | None = None) -> list[str]:
        """Keep each of datas by one statement (executemany); their SHA-256s, in order."""
        digests = [sha256_hex(data) for data in datas]
        rows = [
            {"sha256": digest, "data": data, "size": len(data), "created_at": utcnow()} for digest, data in zip(digests, datas, strict=True)
        ]
        if rows:
            statement = _insert_ignoring_duplicates(self.engine)
            if session is not None:  # committed with the rows that name them
                session.connection().execute(statement, rows)
            else:
                with self.engine.begin() as connection:
                    connection.execute(statement, rows)
        return digests

    def get(self, digest: str, suffix: str) -> bytes:
        with Session(self.engine) as session:
            data = session.scalars(select(StoredBlob.data).where(col(StoredBlob.sha256) == digest)).first()
        if data is None:
            raise FileNotFoundError(f"no stored blob {digest}")
        return bytes(data)

    def open(self, digest: str, suffix: str) -> BinaryIO:
        return io.BytesIO(self.get(digest, suffix))

    def exists(self, digest: str, suffix: str) -> bool:
        with Session(self.engine) as session:
            return session.scalars(select(StoredBlob.sha256).where(col(StoredBlob.sha256) == digest)).first() is not None

    def delete(self, digest: str, suffix: str, *, session: Session | None = None) -> int:
        def remove(target: Session) -> int:
            size = target.scalars(select(StoredBlob.size).where(col(StoredBlob.sha256) == digest)).first()
            if size is None:
                return 0
            target.connection().execute(delete(StoredBlob).where(col(StoredBlob.sha256) == digest))
            return int(size)

        if session is not None:
            return remove(session)
        with Session(self.engine) as own, own.begin():
            return remove(own)

    def digests(self) -> Iterator[tuple[str, str]]:
        with Session(self.engine) as session:
            names = list(session.scalars(select(StoredBlob.sha256).order_by(col(StoredBlob.sha256))))
            pdfs = set(session.scalars(select(Submission.sha256).where(col(Submission.sha256).in_(names)))) if names else set()
        for digest in names:
            yield digest, ".pdf" if digest in pdfs else ".eml"

    def total_bytes(self) -> int:
        with Session(self.engine) as session:
            return int(session.scalar(select(func.coalesce(func.sum(StoredBlob.size), 0))) or 0)


def _insert_ignoring_duplicates(engine: Engine) -> Any:
    table = StoredBlob.__table__  # type: ignore[attr-defined]
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=["sha256"])
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing(index_elements=["sha256"])
    return insert(table)


def open_blob_store(settings: Settings, engine: Engine | None = None) -> BlobStore:
    """The store storage.backend names (the database one needs the engine)."""
    if settings.storage.backend == "database":
        if engine is None:
            raise ValueError("storage.backend = database needs the database engine")
        return DatabaseBlobStore(engine)
    return BlobStore(settings.blob_dir)


@dataclass
class MigrateReport:
    moved: int = 0
    bytes: int = 0
    already_there: int = 0
    corrupt: list[str] | None = None


def migrate_blobs(source: BlobStore, target: BlobStore) -> MigrateReport:
    """Copy every blob from source to target, check the SHA-256 of what target gives back, then remove it from source.

    A blob whose bytes do not match its name (in source, or as read back from target) is left where it is
    and listed in `corrupt`; nothing is removed from source unless the target holds the right bytes."""
    report = MigrateReport(corrupt=[])
    assert report.corrupt is not None
    for digest, suffix in list(source.digests()):
        data = source.get(digest, suffix)
        if sha256_hex(data) != digest:
            report.corrupt.append(f"{digest}{suffix} (in the {source.backend} store)")
            continue
        if target.exists(digest, suffix):
            report.already_there += 1
        else:
            target.put(data, suffix)
        if sha256_hex(target.get(digest, suffix)) != digest:
            report.corrupt.append(f"{digest}{suffix} (read back from the {target.backend} store)")
            continue
        source.delete(digest, suffix)
        report.moved += 1
        report.bytes += len(data)
    return report
