"""Every notice kind in English and French, as plain text and HTML, and the preview command."""

from __future__ import annotations

from pathlib import Path

import flow
import pytest
from flow import cli, parsed
from outbox_helpers import database, outbox_settings

from core.db import session_scope
from core.enums import NoticeKind
from core.settings import SmtpSettings
from outbox.compose import queue_notice
from outbox.preview import preview_message, sample_context
from outbox.render import (
    TEMPLATES,
    UnknownKind,
    known_kinds,
    render_bilingual,
    text_to_html,
)

ISSUE_KINDS = {
    "acknowledgment",
    "missing_information",
    "activation",
    "rejection",
    "officer_request",
    "correspondence_acknowledgment",
    "association_confirmation",
}


@pytest.mark.unit
def test_every_notice_kind_has_its_english_and_french_templates_and_no_template_is_orphaned() -> None:
    on_disk = {path.name.split(".")[0] for path in TEMPLATES.glob("*.txt.j2") if not path.name.startswith("_")}
    assert on_disk == {kind.value for kind in NoticeKind.templated()}
    for kind in NoticeKind.templated():
        for language in ("en", "fr"):
            assert (TEMPLATES / f"{kind}.{language}.txt.j2").is_file(), f"{kind} has no {language} template"


@pytest.mark.unit
def test_every_kind_the_issue_names_exists_in_both_languages() -> None:
    assert set(known_kinds()) >= ISSUE_KINDS
    for kind in known_kinds():
        for language in ("en", "fr"):
            assert (TEMPLATES / f"{kind}.{language}.txt.j2").is_file(), f"{kind} has no {language} template"


@pytest.mark.unit
@pytest.mark.parametrize("kind", known_kinds())
@pytest.mark.parametrize("language", ["en", "fr"])
def test_each_kind_renders_text_and_html_with_the_applicants_language_first(kind: str, language: str) -> None:
    rendered = render_bilingual(kind, language, sample_context(kind))
    other = "fr" if language == "en" else "en"
    assert rendered.body.strip() and " / " in rendered.subject
    assert f'<html lang="{language}">' in rendered.html
    assert rendered.html.index(f'<div lang="{language}">') < rendered.html.index(f'<div lang="{other}">')
    assert "{{" not in rendered.body and "{{" not in rendered.html


@pytest.mark.unit
def test_html_escapes_what_the_applicant_wrote() -> None:
    context = {"reference": "CERS-1", "reason_en": "<script>alert(1)</script> & more", "reason_fr": "x"}
    html = render_bilingual("rejection", "en", context).html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html


@pytest.mark.unit
def test_text_to_html_makes_paragraphs_lists_and_links() -> None:
    html = text_to_html("Hello,\n\n- one\n- two\n\nSee https://example.ca/a?b=1 now.\n")
    assert (
        html == "<p>Hello,</p>\n<ul><li>one</li><li>two</li></ul>\n"
        '<p>See <a href="https://example.ca/a?b=1">https://example.ca/a?b=1</a> now.</p>'
    )


def test_a_stored_notice_is_multipart_alternative(tmp_path: Path) -> None:
    settings = outbox_settings(tmp_path, 25)
    with session_scope(database(settings)) as session:
        notice = queue_notice(
            session,
            settings.smtp,
            kind="officer_request",
            to="a@example.ca",
            language="fr",
            context={"reference": "CERS-000007", "message_en": "Please send the permit.", "message_fr": "Merci d'envoyer le permis."},
        )
    message = parsed(notice.raw)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert "Merci d&#39;envoyer le permis." in message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert message["Auto-Submitted"] is None  # an officer's own words


@pytest.mark.unit
def test_unknown_kind_and_language_are_clear_errors() -> None:
    with pytest.raises(UnknownKind, match=r"unknown notice kind 'nope'; known kinds: .*activation"):
        preview_message("nope", "en", SmtpSettings())
    with pytest.raises(ValueError, match=r"unknown language 'de'; known: en, fr"):
        preview_message("activation", "de", SmtpSettings())


def test_preview_command(tmp_path: Path) -> None:
    env = {**flow.database_environment(), "CERS_STORAGE__PATH": str(tmp_path / "var")}
    shown = cli(env, "notices", "preview", "missing_information", "--lang", "fr").stdout
    assert "Subject: Renseignements manquants" in shown
    assert shown.index("Bonjour") < shown.index("Hello") and "----- text/html -----" in shown
    assert "Champ 3, «\u00a0Numéro d'entreprise\u00a0»\u00a0: Ce champ est obligatoire." in shown
    unknown = cli(env, "notices", "preview", "nope", check=False)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: unknown notice kind 'nope'; known kinds: acknowledgment, activation")
    assert not (tmp_path / "var").exists()  # nothing stored
