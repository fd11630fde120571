"""Attacks on where the activation code goes, replayed end to end: forms sent to Dovecot, notices read at the SMTP server.

An outsider knows an exporter's business number (it is printed on invoices) and the intake
mailbox's address, and nothing else. Whatever he sends, no activation code may reach an address the
exporter's own form did not name, and the official mailbox may not carry his links or addresses.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flow import cli, flow_environment, flow_settings, parsed, run_until_idle, text_of
from servers import ImapAccount, imap_append
from sqlmodel import Session, select

from app.runner import Runner
from core.enums import AppState
from core.models import Account, Application
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email
from processors import decisions
from processors.queue import application_detail

OWNER = "claire.roy@erable.example"  # the exporter's employee who sends its forms
OWNER_EMAIL = "exports@erable.example"  # the exporter email on its form
BN = "123456782RM0001"
STRANGER = "mallory@evil.example"
CODE = re.compile(r"\b[A-HJ-NP-Z2-9]{4}(?:-[A-HJ-NP-Z2-9]{4}){3}\b")


@pytest.fixture
def runner(tmp_path: Path, dovecot_server: ImapAccount, smtp_sink: SmtpSink) -> Runner:
    return Runner(flow_settings(tmp_path / "var", dovecot_server, smtp_sink))


def form(**changes: object) -> bytes:
    values = sample_values("valid")
    values.update({key.replace("__", "."): value for key, value in changes.items()})
    return fill_form(values)


def send(account: ImapAccount, pdf: bytes, sender: str, **headers: str) -> None:
    imap_append(account, application_email(pdf, sender=sender, extra_headers=headers or None))


def codes_by_address(sink: SmtpSink) -> dict[str, set[str]]:
    """Every activation-code-shaped string each recipient received, in any part of any message."""
    found: dict[str, set[str]] = {}
    for _, recipients, raw in sink.messages:
        message = parsed(raw)
        text = "\n".join(part.get_content() for part in message.walk() if part.get_content_maintype() == "text")
        for recipient in recipients:
            found.setdefault(recipient.lower(), set()).update(CODE.findall(text))
    return {address: codes for address, codes in found.items() if codes}


def applications(runner: Runner) -> list[Application]:
    with Session(runner.engine) as session:
        return list(session.exec(select(Application).order_by(Application.id)))  # type: ignore[arg-type]


def approve(runner: Runner, application_id: int, **options: bool) -> decisions.Approval:
    with Session(runner.engine) as session:
        approval = decisions.approve(session, runner.settings, application_id, officer="olga", **options)
        session.commit()
    return approval


def finding_codes(runner: Runner, application_id: int) -> set[str]:
    with Session(runner.engine) as session:
        return {f["code"] for f in application_detail(session, application_id)["findings"]}


def test_a_stranger_with_the_business_number_opens_his_own_linked_application(
    runner: Runner, dovecot_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    send(dovecot_server, form(), OWNER)
    run_until_idle(runner)
    send(dovecot_server, form(exporter__email=STRANGER, exporter__legal_name="Erable Exports Ltee"), STRANGER)
    run_until_idle(runner)

    owner_app, stranger_app = applications(runner)
    assert owner_app.exporter_email == OWNER_EMAIL and owner_app.sender == OWNER  # untouched
    assert stranger_app.exporter_email == STRANGER
    assert stranger_app.related_application_id == owner_app.id and owner_app.related_application_id == stranger_app.id
    assert "related_application" in finding_codes(runner, owner_app.id or 0)
    assert "related_application" in finding_codes(runner, stranger_app.id or 0)
    shown = cli(flow_environment(Path(runner.settings.storage.path), dovecot_server, smtp_sink), "show", str(owner_app.id), "--json")
    assert f'"id": {stranger_app.id}' in shown.stdout and "different sender" in shown.stdout

    approval = approve(runner, owner_app.id or 0)
    run_until_idle(runner)
    assert approval.email == OWNER_EMAIL
    assert set(codes_by_address(smtp_sink)) == {OWNER_EMAIL}


def test_a_blank_form_changes_nothing_while_an_officer_holds_the_application(runner: Runner, dovecot_server: ImapAccount) -> None:
    send(dovecot_server, form(), OWNER)
    run_until_idle(runner)
    (application,) = applications(runner)
    with Session(runner.engine) as session:
        decisions.claim(session, application.id or 0, officer="olga", minutes=30)
        session.commit()
    send(dovecot_server, form(exporter__email=None, exporter__legal_name=None), OWNER)  # the same sender: a new version
    run_until_idle(runner)

    (after,) = applications(runner)
    assert after.state == AppState.pending_review and after.exporter_email == OWNER_EMAIL and after.legal_name
    assert after.latest_submission_id == application.latest_submission_id
    with Session(runner.engine) as session:
        detail = application_detail(session, after.id or 0)
    assert len(detail["versions"]) == 2 and any(e["action"] == "version_waiting" for e in detail["audit"])


def test_a_stranger_cannot_take_over_an_approved_account(runner: Runner, dovecot_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    env = flow_environment(Path(runner.settings.storage.path), dovecot_server, smtp_sink)
    send(dovecot_server, form(), OWNER)
    run_until_idle(runner)
    approve(runner, 1)
    run_until_idle(runner)
    owner_codes = codes_by_address(smtp_sink)[OWNER_EMAIL]

    send(dovecot_server, form(exporter__email=STRANGER), STRANGER)
    run_until_idle(runner)
    stranger_app = applications(runner)[-1]
    assert stranger_app.state == AppState.pending_review and "existing_account" in finding_codes(runner, stranger_app.id or 0)

    refused = cli(env, "approve", str(stranger_app.id), "--officer", "olga", check=False)
    assert refused.returncode != 0 and refused.stderr.startswith("error: ") and "--replace-email" in refused.stderr
    run_until_idle(runner)
    assert set(codes_by_address(smtp_sink)) == {OWNER_EMAIL} and codes_by_address(smtp_sink)[OWNER_EMAIL] == owner_codes
    with Session(runner.engine) as session:
        account = session.exec(select(Account)).one()
        assert account.email == OWNER_EMAIL

    # confirmed by an officer who read the warning: the code goes to the new address, the old one is told
    done = cli(env, "approve", str(stranger_app.id), "--officer", "sam", "--replace-email")
    assert f"queued for {STRANGER}" in done.stdout and OWNER_EMAIL in done.stdout
    run_until_idle(runner)
    told = [parsed(raw) for _, rcpts, raw in smtp_sink.messages if rcpts == [OWNER_EMAIL]][-1]
    assert "replaced" in told["Subject"] and not CODE.search(text_of(told))


def test_answers_go_to_the_sender_never_to_reply_to(runner: Runner, dovecot_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    send(dovecot_server, form(), STRANGER, **{"Reply-To": "victim@erable.example"})
    run_until_idle(runner)
    assert [recipients for _, recipients, _ in smtp_sink.messages] == [[STRANGER]]


def test_a_forged_from_is_answered_at_its_real_mailbox(runner: Runner, dovecot_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    send(dovecot_server, form(), f"{OWNER} <{STRANGER}>")
    run_until_idle(runner)
    (application,) = applications(runner)
    assert application.sender == STRANGER
    assert [recipients for _, recipients, _ in smtp_sink.messages] == [[STRANGER]]


@pytest.mark.parametrize(
    "legal_name", ["Claim your refund at https://evil.example/cbsa", "Write to refunds@evil.example", "evil-cbsa.example Ltd"]
)
def test_the_official_mailbox_does_not_carry_a_strangers_link_or_address(
    runner: Runner, dovecot_server: ImapAccount, smtp_sink: SmtpSink, legal_name: str
) -> None:
    imap_append(
        dovecot_server, application_email(form(exporter__legal_name=legal_name), sender=STRANGER, filename="see www.evil.example.pdf")
    )
    run_until_idle(runner)
    ((_, _, raw),) = smtp_sink.messages
    message = parsed(raw)
    assert message["To"] == STRANGER  # the answer goes to the sender himself, who learns nothing new
    said = str(message["Subject"]) + "".join(part.get_content() for part in message.walk() if part.get_content_maintype() == "text")
    assert "evil" not in said.lower()
    links = set(re.findall(r'href="([^"]+)"', said))
    notices = runner.settings.notices
    assert links <= {notices.portal_url, notices.portal_url_fr, notices.user_guide_url, notices.user_guide_url_fr}  # ours only


def test_the_mailbox_own_address_as_exporter_email_is_an_error_and_cannot_be_approved(
    runner: Runner, dovecot_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    own = runner.settings.smtp.from_address
    send(dovecot_server, form(exporter__email=own), OWNER)
    run_until_idle(runner)
    (application,) = applications(runner)
    assert application.state == AppState.needs_info and "own_mailbox" in finding_codes(runner, application.id or 0)
    with Session(runner.engine) as session:  # even if an officer forces it back to review
        row = session.get(Application, application.id)
        assert row is not None
        row.state = AppState.pending_review
        session.add(row)
        session.commit()
    with pytest.raises(decisions.DecisionError, match="error findings"):
        approve(runner, application.id or 0)
    run_until_idle(runner)
    assert codes_by_address(smtp_sink) == {}


def test_an_email_change_and_a_look_alike_address_are_shown_to_the_officer(
    runner: Runner, dovecot_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    send(dovecot_server, form(), OWNER)
    run_until_idle(runner)
    look_alike = "exports@\u0435rable.example"  # a Cyrillic small ie for the Latin e
    send(dovecot_server, form(exporter__email=look_alike), OWNER)
    run_until_idle(runner)
    (application,) = applications(runner)
    with Session(runner.engine) as session:
        findings = application_detail(session, application.id or 0)["findings"]
    changed = next(f for f in findings if f["code"] == "email_changed")
    assert OWNER_EMAIL in changed["message_en"] and look_alike in changed["message_en"]
    assert "lookalike_email" in {f["code"] for f in findings}
    approval = approve(runner, application.id or 0)
    assert approval.email == look_alike  # the officer approved, having been shown both warnings
