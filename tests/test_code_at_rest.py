"""No live activation code at rest (issue 12, item 5).

Every way an activation notice ends (sent, refused for good, past its retry deadline, interrupted
mid-send, bounced) leaves no copy of the code in the database: not in a row, not in a free page,
not in SQLite's write-ahead log. A code that never reached the exporter is revoked as well: it no
longer verifies, and the application says an officer must reissue one.

Each test approves an application as an officer does (processors.decisions.approve) and drives the
real sender against a real aiosmtpd server; the bounce goes through the whole daemon (IMAP, pipeline).
"""

from __future__ import annotations

import base64
import json
import quopri
import re
from datetime import timedelta
from pathlib import Path

import pytest
from flow import cli, database_environment, flow_settings, parsed, run_until_idle, text_of
from outbox_helpers import SETTINGS_FILE, database, every_value, notices, outbox_settings
from servers import ImapAccount, imap_append
from smtp_servers import BusyThenReady, Handler, smtp_server
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.cli import _detail_text, _queue_text
from app.runner import Runner
from core.db import session_scope
from core.enums import AppState, NoticeKind, NoticeStatus
from core.models import Account, Application, AuditEvent, Notice, utcnow
from core.settings import Settings
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink, free_port
from demo.samples import application_email
from outbox.sender import send_pending
from processors.codes import activation_code_matches
from processors.decisions import approve, reissue_code
from processors.queue import application_detail, list_applications

EXPORTER = "exports@erable.example"
CODE_LINE = re.compile(r"(?:Activation code|Code d'activation)\s*:\s*([A-Z0-9]{4}(?:-[A-Z0-9]{4})+)")


# ---------------------------------------------------------------- finding a code in bytes


def traces(code: str) -> list[re.Pattern[bytes]]:
    """Patterns that find the code however a MIME part may carry it.

    As is (8bit, or quoted-printable, whose soft line breaks may fall anywhere), and base64 at each
    of the three alignments the code can have in the encoded stream (only the characters that
    depend on the code alone; a line break may fall between any two)."""
    raw = code.encode()
    patterns = [rb"(?:=\r?\n)?".join(re.escape(bytes([b])) for b in raw)]
    for shift, skip in ((0, 0), (1, 2), (2, 3)):
        encoded = base64.b64encode(b"\0" * shift + raw)
        known = encoded[skip : 8 * (shift + len(raw)) // 6]
        patterns.append(rb"(?:\r?\n)?".join(re.escape(bytes([b])) for b in known))
    return [re.compile(p) for p in patterns]


def holds(data: bytes, code: str) -> bool:
    return any(pattern.search(data) for pattern in traces(code))


@pytest.mark.unit
def test_the_scanner_finds_a_code_in_every_encoding_a_message_may_use() -> None:
    code = "K7QX-M2RD-9WZT-4HNP"
    body = f"Bonjour,\n\nCode d'activation : {code}\n\nÉrable — valide jusqu'au 2027-02-24.\n".encode()
    for prefix in (b"", b"a", b"ab", b"abc"):
        assert holds(base64.encodebytes(prefix + body), code), prefix
        assert holds(quopri.encodestring(prefix * 30 + body), code), prefix
    assert holds(body, code)
    assert not holds(body.replace(code.encode(), b"[not kept]"), code)
    assert not holds(base64.encodebytes(body.replace(code.encode(), b"[not kept]")), code)


# ---------------------------------------------------------------- the database at rest


def sqlite_files(settings: Settings) -> bytes | None:
    """The SQLite database file and its write-ahead log as they are on disk; None on PostgreSQL."""
    url = settings.database_url
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url.removeprefix("sqlite:///"))
    assert path.name == "cers-intake.sqlite3" and path.exists()
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


NOTICES_HOLDING = {
    "sqlite": "SELECT count(*) FROM notice WHERE instr(raw, :code) > 0 OR instr(coalesce(raw_redacted, x''), :code) > 0",
    "postgresql": (
        "SELECT count(*) FROM notice WHERE position(:code in raw) > 0 OR position(:code in coalesce(raw_redacted, ''::bytea)) > 0"
    ),
}


def notices_holding(engine: Engine, code: str) -> int:
    """How many notice rows hold the code, asked of the database itself."""
    with engine.connect() as connection:
        return int(connection.execute(text(NOTICES_HOLDING[engine.dialect.name]), {"code": code.encode()}).scalar_one())


def assert_no_code_at_rest(engine: Engine, settings: Settings, code: str) -> None:
    assert notices_holding(engine, code) == 0
    assert not holds(every_value(engine), code)
    files = sqlite_files(settings)
    if files is not None:  # PostgreSQL: its files are the server's; the two checks above hold there
        assert not holds(files, code), "the activation code is still in the SQLite database or its write-ahead log"


# ---------------------------------------------------------------- approving, and what a lost code leaves


def approve_one(engine: Engine, settings: Settings) -> tuple[int, int, str]:
    """An application approved by an officer: (its id, the activation notice's id, the code in that notice)."""
    with session_scope(engine) as session:
        application = Application(
            state=AppState.pending_review,
            exporter_business_number="123456782RM0001",
            exporter_email=EXPORTER,
            legal_name="Érable Exports Ltée",
            language="fr",
            sender=EXPORTER,
        )
        session.add(application)
        session.flush()
        assert application.id is not None
        application_id = application.id
        approve(session, settings, application_id, officer="o.tremblay")
    (notice,) = [n for n in notices(engine) if n.kind == NoticeKind.activation]
    assert notice.id is not None and notice.raw_redacted is not None
    code = code_in(notice.raw)
    assert notices_holding(engine, code) == 1  # the database's own search sees it while the notice waits
    return application_id, notice.id, code


def code_in(raw: bytes) -> str:
    match = CODE_LINE.search(text_of(parsed(raw)))
    assert match is not None, "no activation code in the message"
    code = match.group(1)
    assert holds(raw, code)  # the scanner sees the code where it is: a clean result below means something
    return code


def account_of(engine: Engine, application_id: int) -> Account:
    with Session(engine) as session:
        return session.exec(select(Account).where(Account.application_id == application_id)).one()


def assert_code_still_works(engine: Engine, application_id: int, code: str) -> None:
    account = account_of(engine, application_id)
    assert activation_code_matches(code, account.activation_code_hash) and account.code_expires_at > utcnow()
    with Session(engine) as session:
        assert application_detail(session, application_id)["reissue_needed"] is False


def assert_revoked(engine: Engine, settings: Settings, application_id: int, code: str) -> None:
    """The code no longer works, and an officer sees that a new one must be issued."""
    account = account_of(engine, application_id)
    assert not activation_code_matches(code, account.activation_code_hash)
    assert account.code_expires_at <= utcnow()
    with Session(engine) as session:
        application = session.get(Application, application_id)
        assert application is not None and application.reissue_needed and application.delivery_problem
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.application_id == application_id).order_by(col(AuditEvent.id)))
        assert list(actions).count("activation_code_revoked") == 1
        detail = application_detail(session, application_id)
        (row,) = [r for r in list_applications(session) if r["id"] == application_id]
    assert detail["reissue_needed"] is True and row["reissue_needed"] is True
    assert "reissue" in _queue_text([row]) and "reissue" in _detail_text(detail)
    env = {"CERS_SETTINGS": str(SETTINGS_FILE), "CERS_STORAGE__PATH": str(settings.storage.path), **database_environment()}
    shown = json.loads(cli(env, "show", str(application_id), "--json").stdout)
    assert shown["reissue_needed"] is True
    assert code not in json.dumps(shown)


# ---------------------------------------------------------------- each way a notice ends


def test_sent_the_code_reached_the_server_and_is_kept_nowhere(tmp_path: Path) -> None:
    handler = Handler()
    with smtp_server(handler) as (_, port):
        settings = outbox_settings(tmp_path / "var", port)
        engine = database(settings)
        application_id, _, stored = approve_one(engine, settings)
        assert send_pending(engine, settings).sent == 1
    ((rcpts, delivered),) = handler.bag.messages
    code = code_in(delivered)  # what the exporter got
    assert rcpts == [EXPORTER] and code == stored
    (notice,) = notices(engine)
    assert notice.status == NoticeStatus.sent
    assert_no_code_at_rest(engine, settings, code)
    assert_code_still_works(engine, application_id, code)


def test_refused_for_good_by_a_5xx_the_code_is_forgotten_and_revoked(tmp_path: Path) -> None:
    with SmtpSink(reject_rcpt={EXPORTER}) as sink:
        settings = outbox_settings(tmp_path / "var", sink.port)
        engine = database(settings)
        application_id, _, code = approve_one(engine, settings)
        assert send_pending(engine, settings).failed == 1
        assert sink.messages == []
    (notice,) = notices(engine)
    assert notice.status == NoticeStatus.failed and "550" in (notice.last_error or "")
    assert_no_code_at_rest(engine, settings, code)
    assert_revoked(engine, settings, application_id, code)


@pytest.mark.parametrize("server", ["down", "busy-421"])
def test_past_the_retry_deadline_the_code_is_forgotten_and_revoked(tmp_path: Path, server: str) -> None:
    port = free_port()
    settings = outbox_settings(tmp_path / "var", port)
    engine = database(settings)
    application_id, notice_id, code = approve_one(engine, settings)
    with session_scope(engine) as session:  # written longer ago than outbox.retry_deadline_days
        notice = session.get(Notice, notice_id)
        assert notice is not None
        notice.created_at = utcnow() - timedelta(days=settings.outbox.retry_deadline_days + 1)
        session.add(notice)
    if server == "down":
        report = send_pending(engine, settings)  # cannot connect: the batch is deferred, or failed at the deadline
    else:
        handler = BusyThenReady(refusals=100)
        with smtp_server(handler, port=port):
            report = send_pending(engine, settings)  # 421 to MAIL: deferred, or failed at the deadline
        assert handler.bag.messages == []
    assert report.failed == 1
    (notice,) = notices(engine)
    assert notice.status == NoticeStatus.failed and "no delivery after" in (notice.last_error or "")
    assert_no_code_at_rest(engine, settings, code)
    assert_revoked(engine, settings, application_id, code)


def test_interrupted_mid_send_the_code_is_forgotten_and_revoked(tmp_path: Path) -> None:
    handler = Handler()
    with smtp_server(handler) as (_, port):
        settings = outbox_settings(tmp_path / "var", port)
        engine = database(settings)
        application_id, notice_id, code = approve_one(engine, settings)
        with session_scope(engine) as session:
            notice = session.get(Notice, notice_id)
            assert notice is not None
            # what a sender leaves when it dies between starting DATA and recording the answer
            notice.sending_since = utcnow() - timedelta(seconds=5)
            notice.claimed_by, notice.claim_until = "elsewhere:1:dead", utcnow() - timedelta(seconds=1)
            session.add(notice)
        report = send_pending(engine, settings)
    assert (report.sent, report.failed) == (0, 1)
    assert handler.bag.messages == []  # never sent a second time
    (notice,) = notices(engine)
    assert notice.status == NoticeStatus.failed
    assert_no_code_at_rest(engine, settings, code)
    assert_revoked(engine, settings, application_id, code)


def test_an_older_notice_that_fails_does_not_revoke_the_code_reissued_after_it(tmp_path: Path) -> None:
    settings = outbox_settings(tmp_path / "var", free_port())  # no server: everything is deferred, or fails at the deadline
    engine = database(settings)
    application_id, first_id, first_code = approve_one(engine, settings)
    with session_scope(engine) as session:
        first = session.get(Notice, first_id)
        assert first is not None
        first.created_at = utcnow() - timedelta(days=settings.outbox.retry_deadline_days + 1)
        session.add(first)
        reissue_code(session, settings, application_id, officer="o.tremblay")
    (second,) = [n for n in notices(engine) if n.kind == NoticeKind.activation and n.id != first_id]
    second_code = code_in(second.raw)
    report = send_pending(engine, settings)
    assert (report.failed, report.deferred) == (1, 1)
    by_id = {n.id: n for n in notices(engine)}
    assert by_id[first_id].status == NoticeStatus.failed and by_id[second.id].status == NoticeStatus.pending
    assert_code_still_works(engine, application_id, second_code)  # the reissued code, still on its way, is not revoked
    with Session(engine) as session:
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.application_id == application_id))
        assert "activation_code_revoked" not in list(actions)
    files = sqlite_files(settings)
    assert not holds(every_value(engine), first_code) and (files is None or not holds(files, first_code))


def delivery_report(original_message_id: str, recipient: str) -> bytes:
    """A Postfix-style RFC 3464 report returning the headers of our notice."""
    return (
        "From: MAILER-DAEMON@mx.erable.example (Mail Delivery System)\r\n"
        "To: cers-applications@cbsa-asfc.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce.1@mx.erable.example>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"\r\n\r\n'
        "--dsn\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--dsn\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.erable.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        "--dsn\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: cers-applications@cbsa-asfc.example\r\n"
        f"To: {recipient}\r\nMessage-ID: {original_message_id}\r\nSubject: CERS\r\n\r\n--dsn--\r\n"
    ).encode()


def whole_message_report(original: bytes) -> bytes:
    """An Exchange-style non-delivery report that quotes the whole message, code included."""
    head = (
        "From: Microsoft Outlook <postmaster@erable.example>\r\nTo: cers-applications@cbsa-asfc.example\r\n"
        "Subject: Undeliverable: CERS\r\nMessage-ID: <ndr.1@erable.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="ndr"\r\n\r\n'
        "--ndr\r\nContent-Type: text/plain\r\n\r\nDelivery has failed to these recipients or groups.\r\n"
        "--ndr\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns;exchange.example\r\n\r\n"
        f"Final-Recipient: rfc822;{EXPORTER}\r\nAction: failed\r\nStatus: 5.4.1\r\n\r\n"
        "--ndr\r\nContent-Type: message/rfc822\r\n\r\n"
    )
    return head.encode() + original + b"\r\n--ndr--\r\n"


@pytest.mark.parametrize("shape", ["rfc3464-headers", "whole-message"])
def test_bounced_after_sending_the_code_is_revoked(tmp_path: Path, shape: str, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    settings = flow_settings(tmp_path / "var", pymap_server, smtp_sink)
    runner = Runner(settings)
    imap_append(pymap_server, application_email(fill_form(sample_values("valid")), sender=f"Claire Roy <{EXPORTER}>"))
    run_until_idle(runner)
    with Session(runner.engine) as session:
        application = session.exec(select(Application)).one()
    assert application.state == AppState.pending_review and application.id is not None
    application_id = application.id
    with session_scope(runner.engine) as session:
        approve(session, settings, application_id, officer="o.tremblay")
    run_until_idle(runner)
    activations = [(rcpts, raw) for _, rcpts, raw in smtp_sink.messages if CODE_LINE.search(text_of(parsed(raw)))]
    ((rcpts, delivered),) = activations
    code = code_in(delivered)
    assert_code_still_works(runner.engine, application_id, code)  # accepted: the code works until the bounce

    if shape == "rfc3464-headers":
        imap_append(pymap_server, delivery_report(str(parsed(delivered)["Message-ID"]), rcpts[0]))
    else:
        imap_append(pymap_server, whole_message_report(delivered))
    run_until_idle(runner)
    with Session(runner.engine) as session:
        notice = session.exec(select(Notice).where(Notice.kind == NoticeKind.activation)).one()
    assert notice.status == NoticeStatus.undeliverable
    assert_no_code_at_rest(runner.engine, settings, code)
    assert_revoked(runner.engine, settings, application_id, code)
    # the archived copy of a bounce that quotes the message holds the code, which no longer works
    archived = b"".join(path.read_bytes() for path in settings.blob_dir.rglob("*") if path.is_file())
    assert holds(archived, code) == (shape == "whole-message")
