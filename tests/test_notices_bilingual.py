"""Notices in both official languages: the applicant's first, French typography, dates, a signature, officer text in both."""

from __future__ import annotations

from pathlib import Path

import pytest
from flow import cli, flow_environment, flow_settings, parsed, run_until_idle, text_of
from servers import ImapAccount, imap_append

from app.runner import Runner
from core.enums import NoticeKind
from core.errors import DecisionError
from core.settings import NoticeSettings, SmtpSettings
from demo.mailservers import SmtpSink
from demo.samples import plain_email
from outbox.check import english_problems, french_half, french_problems
from outbox.preview import preview_message
from outbox.render import elided_de, known_kinds, render_bilingual
from processors.decisions import bilingual_text

NBSP = "\u00a0"


@pytest.mark.unit
@pytest.mark.parametrize("kind", known_kinds())
@pytest.mark.parametrize("lead", ["en", "fr"])
def test_every_notice_passes_the_checks_in_both_orders(kind: str, lead: str) -> None:
    message = preview_message(kind, lead, SmtpSettings())
    text = text_of(parsed(message.as_bytes()))
    french = french_half(text, lead)
    assert french and "Bonjour" in french
    assert french_problems(french) == []
    assert english_problems(text.replace(french, "")) == []


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Numéro d'autorisation : AB1234", "breaking space before « : »"),
        ("le fichier « formulaire.pdf » est joint", "breaking space after «"),
        ("valide jusqu'au 2027-02-27.", "ISO date"),
        ("Please envoyez le formulaire.", "English words"),
        ("le Formulaire de demande de déclaration des exportateurs (BSF831)", "the form's title"),
        ("Êtes-vous sûr ?", "breaking space before « ? »"),
    ],
)
def test_the_checks_find_each_fault(text: str, problem: str) -> None:
    assert any(problem in found for found in french_problems(text))


@pytest.mark.unit
def test_dates_are_written_out_and_french_elides() -> None:
    rendered = render_bilingual(
        "activation",
        "fr",
        {"reference": "CERS-000002", "legal_name": None, "authorization_id": "HY0962", "activation_code": "X", "expires_on": "2027-02-27"},
    )
    assert "27 février 2027" in rendered.body and "February 27, 2027" in rendered.body and "2027-02-27" not in rendered.body
    assert f"Numéro d'autorisation{NBSP}: HY0962" in rendered.body
    assert '<span style="white-space:nowrap">CERS-000002</span>' in rendered.html
    assert elided_de("Érable Exports") == "d'Érable Exports" and elided_de("Maple Syrup Co.") == "de Maple Syrup Co."
    association = render_bilingual(
        "association_confirmation",
        "fr",
        {"reference": "CERS-000002", "legal_name": "Érable Exports", "exporter_business_number": "1", "provider_business_number": "2"},
    )
    assert "douaniers d'Érable Exports" in association.body


@pytest.mark.unit
def test_every_notice_is_signed_from_the_settings() -> None:
    notices = NoticeSettings(contact_en="Call 555-0100.", contact_fr="Appelez le 555-0100.", portal_url="https://portal.example/en")
    body = render_bilingual("acknowledgment", "en", {"reference": "CERS-000001", "legal_name": None, "due_on": "2026-12-04"}, notices).body
    assert "Canada Border Services Agency (CBSA)" in body and "Agence des services frontaliers du Canada (ASFC)" in body
    assert "Call 555-0100." in body and "Appelez le 555-0100." in body and "https://portal.example/en" in body


@pytest.mark.unit
@pytest.mark.parametrize(
    ("kind", "header"),
    [(NoticeKind.acknowledgment, "auto-replied"), (NoticeKind.activation, "auto-generated"), (NoticeKind.correspondence_reply, None)],
)
def test_auto_submitted_says_what_the_notice_is(kind: NoticeKind, header: str | None) -> None:
    assert preview_message(kind.value, "en", SmtpSettings())["Auto-Submitted"] == header


@pytest.mark.unit
def test_officer_text_in_one_language_is_refused() -> None:
    with pytest.raises(DecisionError, match="in French is required"):
        bilingual_text("The business number is wrong.", "  ", "a reason")
    assert bilingual_text(" a ", " b ", "x") == ("a", "b")


def test_the_cli_refuses_a_decision_without_french_and_takes_a_catalogue_text(
    tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink
) -> None:
    env = flow_environment(tmp_path / "var", pymap_server, smtp_sink)
    refused = cli(env, "reject", "1", "--officer", "olga", "--reason", "Wrong number.", check=False)
    assert refused.returncode == 2 and "--reason-fr" in refused.stderr
    cli(env, "reasons", "add", "bn-unknown", "--en", "The business number is unknown.", "--fr", "Le numéro d'entreprise est inconnu.")
    assert "Le numéro d'entreprise est inconnu." in cli(env, "reasons", "list").stdout
    missing = cli(env, "reject", "1", "--officer", "olga", "--reason-code", "nope", check=False)
    assert missing.returncode != 0 and "bn-unknown" in missing.stderr
    assert cli(env, "notices", "check").returncode == 0


@pytest.mark.parametrize(
    ("body", "first"),
    [
        ("Bonjour, nous avons perdu notre code d'activation. Pouvez-vous nous en envoyer un nouveau, s'il vous plaît?", "Bonjour"),
        ("Hello, we lost our activation code. Could you please send us a new one?", "Hello"),
    ],
)
def test_the_answer_leads_with_the_language_the_sender_wrote_in(
    tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink, body: str, first: str
) -> None:
    runner = Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))
    imap_append(pymap_server, plain_email(sender="ana@bleuets.example", subject="Code", body=body))
    run_until_idle(runner)
    ((_, _, raw),) = smtp_sink.messages
    answer = parsed(raw)
    assert text_of(answer).startswith(first)
    assert answer["Content-Language"].startswith("fr" if first == "Bonjour" else "en")
