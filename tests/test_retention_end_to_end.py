"""Nothing left behind: real mail through a real IMAP server and the daemon, aged past retention,
purged by the daemon's daily stage; then every file of the store and every table are searched for
each name, address and business number the mail carried."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flow import cli, flow_environment, run_until_idle
from servers import ImapAccount, imap_append
from sqlalchemy import LargeBinary, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from app.runner import Runner
from core.db import session_scope
from core.enums import AppState
from core.models import Account, Application, AuditEvent, Decision, InboundMessage, Notice, StoredBlob, Submission
from core.settings import load_settings
from demo.forms import EXPORTER_BN, EXPORTER_BN_BAD_CHECK_DIGIT, PROVIDER_BN, fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email, plain_email
from processors.decisions import approve, reject
from processors.retention import PURGE_ACTION, PURGED

# Every name, address and business number the mail below carries (ASCII fragments: JSON escapes accents).
WRITTEN = [
    "Exports Lt",  # Érable Exports Ltée
    "exports@erable.example",
    "Marie Tremblay",
    "marie.tremblay@erable.example",
    "Jean Gagnon",
    "613-555-0142",
    "Claire Roy",
    "claire.roy@erable.example",
    "Border Brokers",
    "filings@borderbrokers.example",
    "Sam Okafor",
    "sam.okafor@borderbrokers.example",
    "416-555-0199",
    PROVIDER_BN,
    "Luc Pelletier",
    "luc@bleuets.example",
    EXPORTER_BN_BAD_CHECK_DIGIT,
    "Ahmed Haddad",
    "ahmed@northfreight.example",
]
# The approved exporter's account keeps its business number (and authorization ID) while it exists.
KEPT_ON_THE_ACCOUNT = EXPORTER_BN
AGE = timedelta(days=3 * 366)


@pytest.fixture(params=["filesystem", "database"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def fill(imap: ImapAccount) -> None:
    imap_append(imap, application_email(fill_form(sample_values("valid")), sender="Claire Roy <claire.roy@erable.example>"))
    imap_append(imap, application_email(fill_form(sample_values("provider")), sender="Border Brokers <filings@borderbrokers.example>"))
    french = fill_form(sample_values("incomplete", "bsf831-fr"), "bsf831-fr")
    imap_append(imap, application_email(french, sender="Luc Pelletier <luc@bleuets.example>", filename="Demande Luc Pelletier.pdf"))
    imap_append(
        imap,
        plain_email(sender="Ahmed Haddad <ahmed@northfreight.example>", subject="Question from Ahmed Haddad", body="Where is the form?"),
    )


def age_everything(engine: Engine, by: timedelta) -> None:
    """Every date in every table moved back: as if the store had been filled `by` ago."""
    with session_scope(engine) as session:
        for model in SQLModel.__subclasses__():
            if getattr(model, "__table__", None) is None:
                continue
            for row in session.exec(select(model)).all():
                for name, value in list(row.__dict__.items()):
                    if isinstance(value, datetime):
                        setattr(row, name, value - by)
                session.add(row)


def files_holding(root: Path, needles: list[str], *engines: Engine) -> dict[str, list[str]]:
    """Files under root holding a needle. The engines are closed first: a file of SQLite's opened and
    closed beside its connections would drop their locks (POSIX locks belong to the process)."""
    for engine in engines:
        engine.dispose()
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes().lower()
        hits = [n for n in needles if n.lower().encode() in data]
        if hits:
            found[str(path.relative_to(root))] = hits
    return found


def columns_holding(engine: Engine, needle: str) -> list[str]:
    """table.column for every column whose value holds needle, searched through SQL."""
    hits = []
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        for table_name in inspect(engine).get_table_names():
            if table_name == "alembic_version":
                continue
            for column in inspect(engine).get_columns(table_name):
                name = f'"{column["name"]}"'
                if isinstance(column["type"], LargeBinary):
                    where = f"position(convert_to(:n, 'UTF8') in {name}) > 0" if postgres else f"instr({name}, CAST(:n AS BLOB)) > 0"
                else:
                    where = f"lower(CAST({name} AS TEXT)) LIKE '%' || lower(:n) || '%'"
                query = text(f'SELECT 1 FROM "{table_name}" WHERE {where} LIMIT 1')  # noqa: S608 - names from the schema
                if connection.execute(query, {"n": needle}).first():
                    hits.append(f"{table_name}.{column['name']}")
    return hits


def test_a_purge_leaves_no_name_address_or_business_number(
    tmp_path: Path, imap_server: ImapAccount, smtp_sink: SmtpSink, backend: str
) -> None:
    storage = tmp_path / "var"
    env = {**flow_environment(storage, imap_server, smtp_sink), "CERS_STORAGE__BACKEND": backend}
    settings = load_settings(environ=env)
    runner = Runner(settings)
    fill(imap_server)
    run_until_idle(runner)
    with session_scope(runner.engine) as session:
        by_sender = {a.sender: a for a in session.exec(select(Application)).all()}
    approved_id = by_sender["claire.roy@erable.example"].id
    rejected_id = by_sender["filings@borderbrokers.example"].id
    assert approved_id is not None and rejected_id is not None
    with session_scope(runner.engine) as session:
        approve(session, settings, approved_id, officer="o.tremblay")
    with session_scope(runner.engine) as session:
        reject(session, settings, rejected_id, officer="o.tremblay", reason="Claire Roy asked us to", reason_fr="Claire Roy l'a demandé")
    run_until_idle(runner)

    # filled: every needle is somewhere before the purge
    with Session(runner.engine) as session:
        assert session.exec(select(Application)).all() and len(session.exec(select(InboundMessage)).all()) == 4
    everywhere = " ".join(files_holding(storage, [*WRITTEN, KEPT_ON_THE_ACCOUNT], runner.engine).keys())
    if backend == "filesystem":
        assert "blobs/" in everywhere
    before = {needle: columns_holding(runner.engine, needle) for needle in WRITTEN}
    assert all(before.values()), [n for n, hits in before.items() if not hits]

    age_everything(runner.engine, AGE)
    # a dry run changes nothing
    dry = json.loads(cli(env, "purge", "--dry-run", "--json").stdout)
    assert dry["applications"] == 3 and dry["messages"] == 4 and dry["dry_run"] is True
    assert columns_holding(runner.engine, "luc@bleuets.example")

    # the daemon's daily stage purges (a new daemon purges on its first pass)
    daemon = Runner(settings)
    report = daemon.run_once()
    assert (report.purge.applications, report.purge.messages) == (3, 4)
    assert report.purge.blobs >= 4

    leftovers = {needle: hits for needle in WRITTEN if (hits := columns_holding(runner.engine, needle))}
    assert leftovers == {}
    assert columns_holding(runner.engine, KEPT_ON_THE_ACCOUNT) == ["account.business_number"]
    # the database files (SQLite's main file and its write-ahead log) and every other file of the store
    assert files_holding(storage, WRITTEN, runner.engine, daemon.engine) == {}
    if backend == "filesystem":
        assert not [p for p in (storage / "blobs").rglob("*") if p.is_file()]

    with Session(runner.engine) as session:
        assert session.exec(select(StoredBlob)).all() == []
        skeleton = {a.id: a for a in session.exec(select(Application)).all()}
        assert {a.state for a in skeleton.values()} == {AppState.approved, AppState.rejected, AppState.needs_info}
        assert all(a.purged_at is not None and a.received_at and a.legal_name is None for a in skeleton.values())
        decisions = session.exec(select(Decision)).all()
        assert {(d.action.value, d.officer) for d in decisions} == {("approve", "o.tremblay"), ("reject", "o.tremblay")}
        assert all(d.reason in (None, PURGED) for d in decisions)
        account = session.exec(select(Account)).one()
        assert (account.business_number, account.email, account.legal_name) == (EXPORTER_BN, PURGED, None)
        assert account.authorization_id
        assert all(n.raw == PURGED.encode() and n.to_address == PURGED for n in session.exec(select(Notice)).all())
        assert all(s.fields == {} for s in session.exec(select(Submission)).all())
        (audit,) = session.exec(select(AuditEvent).where(AuditEvent.action == PURGE_ACTION)).all()
    assert "applications 3" in (audit.detail or "") and "messages 4" in (audit.detail or "")
    # a second purge finds nothing left to do
    assert json.loads(cli(env, "purge", "--json").stdout)["applications"] == 0
