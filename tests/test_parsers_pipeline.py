"""Each kind of PDF through the daemon on real servers: the right submission, finding and notice."""

from __future__ import annotations

import json
from pathlib import Path

from flow import cli, flow_environment, flow_settings, parsed, run_until_idle
from pdf_fixtures import fixture
from servers import ImapAccount, imap_append
from sqlmodel import Session, select

from app.runner import Runner
from core.models import Application, AuditEvent, FindingRow, Submission
from core.settings import ParsingSettings
from demo.mailservers import SmtpSink
from demo.samples import application_email


def test_each_kind_gets_its_outcome(tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    runner = Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))
    kinds = ("image_only", "encrypted_user_password", "blank", "bsf947", "xfa_disagrees", "flattened")
    for index, kind in enumerate(kinds):
        imap_append(pymap_server, application_email(fixture(kind), sender=f"{kind}@exporter{index}.example", filename=f"{kind}.pdf"))
    run_until_idle(runner)
    subjects = {rcpts[0].split("@")[0]: parsed(raw)["Subject"] for _, rcpts, raw in smtp_sink.wait_for(len(kinds))}
    assert subjects["image_only"].startswith("Please send the fillable form")
    assert subjects["encrypted_user_password"].startswith("Please send your form without a password")
    assert subjects["blank"].startswith("The attached file is not a filled-in BSF831")
    assert subjects["bsf947"].startswith("The attached file is not a filled-in BSF831")
    with Session(runner.engine) as session:
        submissions = {s.filename: s for s in session.exec(select(Submission))}
        findings = {(r.submission_id, r.code, r.severity) for r in session.exec(select(FindingRow))}
        scan = submissions["image_only.pdf"]
        application = session.get(Application, scan.application_id)
    assert (scan.status, scan.method, scan.revision) == ("scanned", "none", None)
    assert application is not None and application.state.value == "needs_info"
    assert {(c, s) for i, c, s in findings if i == scan.id} == {("scanned_form", "error")}
    assert submissions["encrypted_user_password.pdf"].status == "encrypted"
    assert submissions["blank.pdf"].status == "not_a_form" and submissions["blank.pdf"].revision == "bsf831-en"
    assert (submissions["xfa_disagrees.pdf"].id, "xfa_disagrees", "warning") in findings
    flat = submissions["flattened.pdf"]
    assert (flat.method, flat.id, "read_from_text_layer", "warning") == (
        "text_layer",
        *next(f for f in findings if f[0] == flat.id and f[1] == "read_from_text_layer"),
    )
    assert flat.provenance["exporter.legal_name"].startswith("text_layer:page 1")


def test_a_limit_breach_quarantines_the_attachment_and_the_daemon_goes_on(
    tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    settings = flow_settings(tmp_path / "var", pymap_server, smtp_sink)
    runner = Runner(settings.model_copy(update={"parsing": ParsingSettings(timeout_seconds=0.001)}))
    imap_append(pymap_server, application_email(fixture("acroform"), sender="slow@exporter.example", filename="slow.pdf"))
    run_until_idle(runner)
    ((_, rcpts, raw),) = smtp_sink.wait_for(1)
    assert rcpts == ["slow@exporter.example"] and "could not read" in parsed(raw)["Subject"]
    with Session(runner.engine) as session:
        (submission,) = session.exec(select(Submission)).all()
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "quarantine_attachment")).all()
    assert submission.status == "quarantined" and "longer than 0.001 seconds" in (submission.error or "")
    assert len(audit) == 1 and "slow.pdf" in audit[0].detail
    status = json.loads(cli(flow_environment(tmp_path / "var", pymap_server, smtp_sink), "status", "--json").stdout)
    assert (status["quarantined_attachments"], status["quarantined_messages"]) == (1, 0)
