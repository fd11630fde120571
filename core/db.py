"""The engine, sessions and schema migrations."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InvalidatePoolError, SQLAlchemyError
from sqlmodel import Session, create_engine

from core.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
log = structlog.get_logger("db")
# A pooled connection that sat idle this long is pinged before it is used: the server may have closed it
# meanwhile (a restart, a failover, an idle timeout). Pinging at every checkout (pool_pre_ping) cost a round
# trip per transaction, a tenth of a PostgreSQL drain; a connection given back a moment ago is not pinged.
IDLE_PING_SECONDS = 1.0


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite"):
        settings.storage.path.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkin", _synced_again)
        return engine
    engine = create_engine(url, hide_parameters=True)
    _ping_after_idle(engine)
    return engine


def _ping_after_idle(engine: Engine) -> None:
    def idle_from_now(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < IDLE_PING_SECONDS:
            return
        dialect = engine.dialect
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if not dialect.is_disconnect(exc, dbapi_connection, None):
                raise
            alive = False
        if not alive:  # the pool drops every connection as old as this one, and connects again
            raise InvalidatePoolError("the database closed this connection while it was idle")

    event.listen(engine, "connect", idle_from_now)
    event.listen(engine, "checkin", idle_from_now)
    event.listen(engine, "checkout", checkout)


def open_database(settings: Settings) -> Engine:
    """The engine with the schema brought up to the newest migration: called once, as a process starts."""
    engine = make_engine(settings)
    migrate(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA secure_delete=ON")  # a replaced secret (the activation code) is zeroed, not left in free pages
    cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB of pages per connection, not 2 MiB: indexes stay in memory as tables grow
    cursor.execute("PRAGMA synchronous=FULL")  # every commit on disk before it returns, but those write_session(synced=False) makes
    cursor.close()


UNSYNCED = "cers_unsynced"  # set in a pooled connection's info while its transaction commits without an fsync


def _synced_again(dbapi_connection: Any, record: Any) -> None:
    """A connection given back to the pool after an unsynced transaction syncs its commits again."""
    if record.info.pop(UNSYNCED, False) and dbapi_connection is not None:
        try:
            dbapi_connection.execute("PRAGMA synchronous=FULL")
        except Exception:  # noqa: BLE001 - a connection that cannot say so is not used again
            record.invalidate()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest migration."""
    command.upgrade(alembic_config(engine), "head")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def write_session(engine: Engine, *, synced: bool = True) -> Iterator[Session]:
    """A session_scope whose transaction takes SQLite's write lock before it reads anything.

    Workers that read and then write (does this exporter have an open application?) must not both
    act on the same read; on PostgreSQL row locks and advisory locks (lock_key) do that.

    synced=False (SQLite): the commit is written to the write-ahead log without waiting for the disk
    (synchronous=NORMAL, for this transaction only). A crash of the process loses nothing; a power cut may
    lose the commit, so it may only be one that the world outside learns of after a synced commit or a
    sync_log(): storing a message, whose notice is handed over after a synced claim and whose mail is
    moved after sync_log(). On PostgreSQL every commit is synced.
    """
    with session_scope(engine) as session:
        if engine.dialect.name == "sqlite":
            connection = session.connection()
            if not synced:
                connection.info[UNSYNCED] = True  # set before the pragma: checkin always restores FULL
                connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield session


def sync_log(engine: Engine) -> None:
    """Put every commit so far on disk: fsync SQLite's write-ahead log, which holds the unsynced ones.

    Called before the mailbox is told what the database knows (handled mail is moved). A checkpoint syncs
    what it copies out of the log, so the log file holds the rest. The file is the one SQLite says it has
    open, whatever the URL or the working directory. Nothing to do on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        database = next((row[2] for row in connection.exec_driver_sql("PRAGMA database_list") if row[1] == "main"), "")
    if not database:  # in memory: nothing to put on disk
        return
    try:
        log_file = os.open(f"{database}-wal", os.O_RDONLY)
    except FileNotFoundError:  # no log: every commit is in the database file
        return
    try:
        os.fsync(log_file)
    finally:
        os.close(log_file)


def lock_key(session: Session, key: str) -> None:
    """Hold a PostgreSQL advisory lock on key until the transaction ends (SQLite: write_session's lock does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def forget_old_pages(engine: Engine) -> None:
    """SQLite keeps a replaced row's old page in its write-ahead log until a checkpoint: end it now.

    Called after a transaction that removed a secret or personal information (secure_delete zeroes the
    page in the database file itself). Nothing to do on PostgreSQL, whose WAL is not kept with the data.
    """
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as connection:
            result = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
    except SQLAlchemyError as exc:  # busy: the next checkpoint does it
        log.warning("checkpoint failed", error=type(exc).__name__)
        return
    if result is not None and result[0]:  # a reader held the log: the next checkpoint clears it
        log.warning("checkpoint could not finish: a reader holds the write-ahead log")
