"""The whole flow on real servers: Dovecot and pymap for IMAP, aiosmtpd for SMTP, all on loopback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flow import cli, flow_environment, flow_settings, parsed, run_until_idle, text_of
from servers import ImapAccount, connect, imap_append
from sqlmodel import Session, select

import intake.fetcher
from app.runner import Runner
from core.enums import MessageKind
from core.models import Account, InboundMessage, Notice
from demo.forms import fill_form, sample_values
from demo.mailservers import SmtpSink
from demo.samples import application_email, plain_email
from processors.codes import activation_code_matches

SENDER = "Claire Roy <claire.roy@erable.example>"


def valid_message(**overrides: object) -> bytes:
    return application_email(fill_form({**sample_values("valid"), **overrides}), sender=SENDER)


def folder_counts(imap: ImapAccount) -> dict[str, int]:
    with connect(imap) as client:
        return {folder: len(client.select_folder(folder) and client.search("ALL")) for folder in ("INBOX", "Processed")}


@pytest.fixture
def runner(tmp_path: Path, imap_server: ImapAccount, smtp_sink: SmtpSink) -> Runner:
    return Runner(flow_settings(tmp_path / "var", imap_server, smtp_sink))


def test_valid_form_is_queued_and_acknowledged(runner: Runner, imap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    original = parsed(valid_message())
    imap_append(imap_server, original.as_bytes())
    run_until_idle(runner)

    ((_mail_from, rcpts, raw),) = smtp_sink.wait_for(1)
    reply = parsed(raw)
    assert rcpts == ["claire.roy@erable.example"]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["In-Reply-To"] == original["Message-ID"]
    assert original["Message-ID"] in reply["References"]
    body = text_of(reply)
    assert body.index("We received your Exporter reporting") < body.index("Nous avons reçu votre Formulaire")
    with Session(runner.engine) as session:
        from processors.queue import list_applications

        (application,) = list_applications(session)
    assert application["state"] == "pending_review"
    assert application["exporter_business_number"] == "123456782RM0001"
    assert folder_counts(imap_server) == {"INBOX": 0, "Processed": 1}


def test_incomplete_french_form_gets_a_notice_naming_each_problem(runner: Runner, imap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    pdf = fill_form(sample_values("incomplete", "bsf831-fr"), "bsf831-fr")
    imap_append(
        imap_server,
        application_email(pdf, sender="Luc <luc@bleuets.example>", filename="Demande été.pdf", content_type="application/octet-stream"),
    )
    run_until_idle(runner)

    ((_, rcpts, raw),) = smtp_sink.wait_for(1)
    body = text_of(parsed(raw))
    assert rcpts == ["luc@bleuets.example"]
    assert body.index("Veuillez corriger") < body.index("Please correct")
    for item, label in (("5", "Nom légal de l'entreprise"), ("7a", "Numéro d'entreprise"), ("7b", "Adresse électronique de l'exportateur")):
        assert f"Champ {item}, «\u00a0{label}\u00a0»" in body
    assert 'Item 7a, "Business Number"' in body
    assert "check digit" in body
    with Session(runner.engine) as session:
        from processors.queue import list_applications

        (application,) = list_applications(session)
    assert application["state"] == "needs_info"
    assert {f["field"] for f in application["findings"]} == {"exporter.legal_name", "exporter.business_number", "exporter.email"}


def test_approval_sends_codes_to_the_forms_address_only(tmp_path: Path, imap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    env = flow_environment(tmp_path / "var", imap_server, smtp_sink)
    imap_append(imap_server, valid_message())
    assert "fetched 1, processed 1" in cli(env, "run", "--once").stdout
    (row,) = json.loads(cli(env, "queue", "--json").stdout)
    assert {"id", "state", "exporter_business_number", "exporter_email", "language", "findings"} <= set(row)

    approved = cli(env, "approve", str(row["id"]), "--officer", "o.tremblay").stdout
    authorization_id = re.search(r"authorization ID ([A-Z]{2}\d{4})", approved).group(1)  # type: ignore[union-attr]
    assert authorization_id[1] != "Z"
    cli(env, "run", "--once")

    messages = smtp_sink.wait_for(2)
    activation = [
        m for m in messages if "activation code" in text_of(parsed(m[2])).lower() and "Authorization ID:" in text_of(parsed(m[2]))
    ]
    assert len(activation) == 1
    _, rcpts, raw = activation[0]
    assert rcpts == ["exports@erable.example"]
    body = text_of(parsed(raw))
    code = re.search(r"Activation code: ([A-Z0-9-]+)", body).group(1)  # type: ignore[union-attr]
    assert f"Authorization ID: {authorization_id}" in body
    assert all(code not in m[2].decode() for m in messages if m is not activation[0])
    assert code not in approved

    runner = Runner(flow_settings(tmp_path / "var", imap_server, smtp_sink))
    with Session(runner.engine) as session:
        account = session.exec(select(Account)).one()
        assert activation_code_matches(code, account.activation_code_hash)
        assert all(code.encode() not in n.raw for n in session.exec(select(Notice)))
    shown = cli(env, "show", str(row["id"]), "--json").stdout
    assert json.loads(shown)["state"] == "approved"
    assert code not in shown


def test_provider_approval_records_association_and_tells_the_provider(
    runner: Runner, imap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    pdf = fill_form(sample_values("provider"))
    imap_append(imap_server, application_email(pdf, sender="Border Brokers <filings@borderbrokers.example>"))
    run_until_idle(runner)
    from core.db import session_scope
    from processors.decisions import approve

    with session_scope(runner.engine) as session:
        approval = approve(session, runner.settings, 1, officer="o.tremblay")
    assert approval.association == "123456782RM0001 ↔ 100000009RM0001"
    run_until_idle(runner)
    by_recipient = {tuple(m[1]): text_of(parsed(m[2])) for m in smtp_sink.wait_for(3)}
    assert "Activation code:" in by_recipient[("exports@erable.example",)]
    provider_mail = [text for rcpt, text in by_recipient.items() if rcpt == ("filings@borderbrokers.example",) and "associated" in text]
    assert provider_mail and "Activation code:" not in provider_mail[0]


def test_second_pass_fetches_nothing_twice(runner: Runner, imap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    for _ in range(3):
        imap_append(imap_server, valid_message())
    first = runner.run_once()
    second = runner.run_once()
    assert (first.fetch.fetched, second.fetch.fetched) == (3, 0)
    assert second.send.sent == 0
    assert len(smtp_sink.wait_for(3)) == 3


def test_crash_between_commit_and_move_duplicates_nothing(
    runner: Runner, imap_server: ImapAccount, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    imap_append(imap_server, valid_message())
    imap_append(imap_server, plain_email(sender="ahmed@northfreight.example", subject="Question", body="Where is the form?"))

    def crash(*args: object) -> None:
        raise KeyboardInterrupt("killed after commit, before move")

    monkeypatch.setattr(intake.fetcher, "move_messages", crash)
    with pytest.raises(KeyboardInterrupt):
        runner.run_once()
    assert folder_counts(imap_server) == {"INBOX": 2, "Processed": 0}
    monkeypatch.undo()

    run_until_idle(runner)
    assert folder_counts(imap_server) == {"INBOX": 0, "Processed": 2}
    with Session(runner.engine) as session:
        rows = session.exec(select(InboundMessage)).all()
    assert len(rows) == 2 and all(row.moved for row in rows)
    assert len(smtp_sink.wait_for(2)) == 2
    assert runner.run_once().send.sent == 0


def test_mail_without_a_form_is_recorded_and_robots_are_not_answered(runner: Runner, imap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    imap_append(
        imap_server, plain_email(sender="ahmed@northfreight.example", subject="Activation code expired", body="Please send a new code.")
    )
    imap_append(
        imap_server,
        plain_email(
            sender="claire.roy@erable.example", subject="Out of office", body="I am away.", extra_headers={"Auto-Submitted": "auto-replied"}
        ),
    )
    run_until_idle(runner)
    ((_, rcpts, raw),) = smtp_sink.wait_for(1)
    assert rcpts == ["ahmed@northfreight.example"]
    assert "no application form attached" in text_of(parsed(raw))
    with Session(runner.engine) as session:
        kinds = sorted(row.kind.value for row in session.exec(select(InboundMessage)) if row.kind)
    assert kinds == [MessageKind.auto_reply.value, MessageKind.correspondence.value]


def test_the_language_of_a_messages_words_decides_only_answers_not_about_a_form(
    runner: Runner, imap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    """A question in French is answered French first; a form is answered in its own language, whatever the
    message's words are, so those words are not guessed at for it."""
    french = "Bonjour, je n'ai pas encore reçu de réponse à la demande envoyée la semaine dernière. Merci de votre aide."
    imap_append(imap_server, plain_email(sender="luc@bleuets.example", subject="Question sur ma demande", body=french))
    imap_append(imap_server, application_email(fill_form(sample_values("valid")), sender=SENDER, body=french))
    run_until_idle(runner)
    answers = {rcpts[0]: parsed(raw) for _, rcpts, raw in smtp_sink.wait_for(2)}
    assert answers["luc@bleuets.example"]["Content-Language"] == "fr, en"
    assert answers["claire.roy@erable.example"]["Content-Language"] == "en, fr"
    with Session(runner.engine) as session:
        languages = {row.sender: (row.kind, row.language) for row in session.exec(select(InboundMessage))}
    assert languages == {"luc@bleuets.example": (MessageKind.correspondence, "fr"), "claire.roy@erable.example": (MessageKind.form, None)}
