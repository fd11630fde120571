"""The robot corpus (tests/corpus/robots/): every bounce, auto-reply, report and list message is recorded, none answered.

Each file goes through a real IMAP server and the daemon; the SMTP sink must receive nothing. The
corpus's sources are listed in tests/corpus/robots/README.md.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from flow import flow_settings, run_until_idle
from servers import ImapAccount, imap_append
from sqlmodel import Session, select

from app.runner import Runner
from core.enums import MessageKind
from core.models import InboundMessage, Notice
from demo.mailservers import SmtpSink

CORPUS = Path(__file__).parent / "corpus" / "robots"
FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".txt", ".eml"))
ROBOTS = {MessageKind.bounce, MessageKind.auto_reply, MessageKind.list}


def test_the_corpus_has_the_shapes_the_issue_asks_for() -> None:
    assert len(FILES) >= 60
    index = (CORPUS / "README.md").read_text(encoding="utf-8")
    for path in FILES:
        assert path.name in index, f"{path.name} is not listed in tests/corpus/robots/README.md"


def _drain(runner: Runner, account: ImapAccount) -> None:
    for path in FILES:
        imap_append(account, path.read_bytes())
    run_until_idle(runner, max_passes=len(FILES) // runner.settings.mailbox.batch_size + 6)


@pytest.mark.parametrize("server", ["pymap_server", pytest.param("dovecot_server", marks=pytest.mark.dovecot)])
def test_every_robot_in_the_corpus_is_recorded_and_never_answered(
    server: str, request: pytest.FixtureRequest, tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    account: ImapAccount = request.getfixturevalue(server)
    settings = flow_settings(tmp_path / "var", account, smtp_sink)
    # no daily cap hides an answer: every answer the daemon would write is counted
    processing = settings.processing.model_copy(update={"max_auto_replies_per_day": 10_000})
    runner = Runner(settings.model_copy(update={"processing": processing}))
    _drain(runner, account)
    with Session(runner.engine) as session:
        rows = session.exec(select(InboundMessage)).all()
        notices = session.exec(select(Notice)).all()
    kinds = Counter(str(row.kind) for row in rows)
    answered = sorted({n.inbound_message_id for n in notices})
    print(f"corpus: {len(FILES)} files, {len(rows)} recorded, by kind {dict(kinds)}, answered {len(answered)}")
    assert len(rows) == len(FILES)
    not_robots = sorted((row.subject or "", str(row.kind)) for row in rows if row.kind not in ROBOTS)
    assert not not_robots, f"{len(not_robots)} robots taken for people: {not_robots}"
    assert all(row.classified_by for row in rows), "every classification names its signal"
    assert not answered and smtp_sink.messages == []
