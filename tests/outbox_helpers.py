"""Settings, a database and queued notices for outbox tests (no IMAP needed)."""

from __future__ import annotations

import time
from pathlib import Path

import flow
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.db import make_engine, migrate, session_scope
from core.enums import AppState, NoticeStatus
from core.models import Application, Notice
from core.settings import Settings, load_settings
from outbox.compose import queue_notice
from outbox.sender import SendReport, send_pending

SETTINGS_FILE = Path(__file__).resolve().parent.parent / "settings.toml"

FAST_RETRIES = {
    "CERS_OUTBOX__RETRY_FIRST_SECONDS": "0.05",
    "CERS_OUTBOX__RETRY_MAX_SECONDS": "0.2",
    "CERS_OUTBOX__RATE_PER_MINUTE": "0",
    "CERS_SMTP__TIMEOUT": "5",
}


def outbox_settings(storage: Path, port: int, **env: str) -> Settings:
    environ = {
        **flow.database_environment(),
        "CERS_STORAGE__PATH": str(storage),
        "CERS_SMTP__HOST": "127.0.0.1",
        "CERS_SMTP__PORT": str(port),
        **FAST_RETRIES,
    }
    environ.update({f"CERS_{k.upper()}": v for k, v in env.items()})
    return load_settings(SETTINGS_FILE, environ=environ)


def database(settings: Settings) -> Engine:
    engine = make_engine(settings)
    migrate(engine)
    return engine


def queue_rejections(engine: Engine, settings: Settings, count: int, *, to: str = "applicant{}@example.ca") -> list[int]:
    """One application and one rejection notice for each of *count* applicants; the notice ids."""
    ids = []
    with session_scope(engine) as session:
        for i in range(count):
            application = Application(state=AppState.rejected, sender=to.format(i), language="en")
            session.add(application)
            session.flush()
            notice = queue_notice(
                session,
                settings.smtp,
                kind="rejection",
                to=to.format(i),
                language="en",
                context={"reference": f"CERS-{application.id:06d}", "reason_en": "Test.", "reason_fr": "Essai."},
                application_id=application.id,
            )
            ids.append(notice.id)
    return ids


def notices(engine: Engine) -> list[Notice]:
    with Session(engine) as session:
        return list(session.exec(select(Notice).order_by(col(Notice.id))))


def send_until_done(engine: Engine, settings: Settings, timeout: float = 20) -> list[SendReport]:
    """send_pending until no notice is pending (the retry delays are short in these tests)."""
    reports = []
    deadline = time.monotonic() + timeout
    while any(n.status == NoticeStatus.pending for n in notices(engine)):
        if time.monotonic() > deadline:
            raise AssertionError(f"notices still pending after {timeout} s: {reports[-3:]}")
        reports.append(send_pending(engine, settings))
        time.sleep(0.05)
    return reports


def every_value(engine: Engine) -> bytes:
    """Every value of every row of every table, as bytes (any database)."""
    metadata = MetaData()
    metadata.reflect(engine)
    out = bytearray()
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(table.select()):
                for value in row:
                    out += value if isinstance(value, bytes) else str(value).encode()
                    out += b"\n"
    return bytes(out)
