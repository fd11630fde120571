"""The activation code: in the stored message only until the SMTP server accepts it, never logged."""

from __future__ import annotations

from pathlib import Path

from outbox_helpers import database, every_value, notices, outbox_settings
from smtp_servers import DropAfterData, smtp_server
from structlog.testing import capture_logs

from core.db import session_scope
from core.enums import AppState, NoticeStatus
from core.models import Application
from demo.mailservers import free_port
from outbox.compose import queue_notice
from outbox.sender import journal_path, send_pending

CODE = "K7QX-M2RD-9WZT"


def _sqlite_files(storage: Path) -> bytes:
    """The SQLite database and its write-ahead log as they are on disk (nothing on PostgreSQL)."""
    return b"".join(path.read_bytes() for path in storage.glob("cers-intake.sqlite3*"))


def test_activation_code_is_kept_until_accepted_then_gone_from_database_and_logs(tmp_path: Path) -> None:
    port = free_port()
    settings = outbox_settings(tmp_path, port)
    engine = database(settings)
    with session_scope(engine) as session:
        application = Application(state=AppState.approved, exporter_email="exports@erable.example")
        session.add(application)
        session.flush()
        queue_notice(
            session,
            settings.smtp,
            kind="activation",
            to="exports@erable.example",
            language="fr",
            context={
                "reference": "CERS-000001",
                "legal_name": "Érable",
                "authorization_id": "AB1234",
                "activation_code": CODE,
                "expires_on": "2027-02-24",
            },
            application_id=application.id,
            secret_keys=("activation_code",),
        )
    handler = DropAfterData(drops=1, keep=False)
    with capture_logs() as logs:
        assert send_pending(engine, settings).deferred == 1  # the server is down: the code must stay
        assert CODE.encode() in notices(engine)[0].raw  # stored as plain bytes: the checks below can see it
        with smtp_server(handler, port=port):
            send_pending(engine, settings)  # dropped after DATA: not accepted, the code stays
            assert CODE.encode() in notices(engine)[0].raw
            while notices(engine)[0].status == NoticeStatus.pending:
                send_pending(engine, settings)
    (notice,) = notices(engine)
    assert notice.status == NoticeStatus.sent and notice.raw_redacted is None
    assert b"non conserv" in notice.raw
    from flow import parsed

    message = parsed(handler.bag.messages[0][1])
    assert CODE in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert CODE in message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert CODE.encode() not in every_value(engine)
    assert CODE.encode() not in _sqlite_files(tmp_path)  # not in free pages or the log either
    assert CODE not in repr(logs) and logs
    assert CODE not in (journal_path(settings).read_text() if journal_path(settings).exists() else "")
