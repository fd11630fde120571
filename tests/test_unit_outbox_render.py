"""Unit tests for outbox/render.py (bilingual notices) and outbox/compose.py (notice rows, in-memory SQLite)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.utils import parseaddr

import jinja2
import pytest
from sqlmodel import Session, select
from unit_support import memory_engine, parsed

from core.enums import NoticeKind, NoticeStatus
from core.models import InboundMessage, Notice
from core.settings import SmtpSettings
from outbox.compose import REDACTED, bilingual_message, notice_headers, queue_internal, queue_notice
from outbox.preview import sample_context
from outbox.render import SEPARATOR, RenderedText, UnknownKind, known_kinds, render_bilingual, render_one

pytestmark = pytest.mark.unit

KINDS = [kind.value for kind in NoticeKind.templated()]
HOSTILE_NAME = '<script>alert("x")</script> & Fils'


def test_every_templated_kind_is_known_and_alert_is_not() -> None:
    assert set(known_kinds()) == set(KINDS)
    assert NoticeKind.alert not in NoticeKind.templated()
    with pytest.raises(UnknownKind, match="unknown notice kind 'alert'"):
        render_bilingual("alert", "en", {})


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_english_first(kind: str) -> None:
    context = sample_context(kind)
    english, french = render_one(kind, "en", context), render_one(kind, "fr", context)
    assert english.subject and french.subject and english.subject != french.subject
    rendered = render_bilingual(kind, "en", context)
    assert rendered.subject == f"{english.subject} / {french.subject}"
    assert rendered.body.startswith(english.body)
    assert rendered.body.index(SEPARATOR["en"]) < rendered.body.index(french.body.strip().splitlines()[0])
    assert '<html lang="en">' in rendered.html
    assert rendered.html.index('<div lang="en">') < rendered.html.index('<div lang="fr">')


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_french_first(kind: str) -> None:
    context = sample_context(kind)
    english, french = render_one(kind, "en", context), render_one(kind, "fr", context)
    rendered = render_bilingual(kind, "fr", context)
    assert rendered.subject == f"{french.subject} / {english.subject}"
    assert rendered.body.startswith(french.body)
    assert SEPARATOR["fr"] in rendered.body and SEPARATOR["en"] not in rendered.body
    assert '<html lang="fr">' in rendered.html
    assert rendered.html.index('<div lang="fr">') < rendered.html.index('<div lang="en">')


def test_an_unknown_language_leads_with_english() -> None:
    context = sample_context("rejection")
    assert render_bilingual("rejection", "de", context) == render_bilingual("rejection", "en", context)


def test_a_missing_variable_is_an_error_not_a_blank() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render_bilingual("rejection", "en", {"reference": "CERS-000001"})  # no reason


@pytest.mark.parametrize("kind", ["acknowledgment", "activation", "association_confirmation"])
def test_the_applicants_legal_name_is_escaped_in_html_and_kept_in_text(kind: str) -> None:
    context = {**sample_context(kind), "legal_name": HOSTILE_NAME}
    rendered = render_bilingual(kind, "en", context)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Fils" in rendered.html
    assert HOSTILE_NAME in rendered.body  # plain text is not HTML: kept as written


def test_a_link_in_an_officer_message_is_linked_but_a_javascript_url_is_not() -> None:
    context = {**sample_context("officer_request"), "message_en": "See https://cbsa.example/cers and javascript:alert(1)"}
    html = render_bilingual("officer_request", "en", context).html
    assert '<a href="https://cbsa.example/cers">https://cbsa.example/cers</a>' in html
    assert 'href="javascript' not in html


def test_a_legal_name_left_out_falls_back_to_your_company() -> None:
    context = {**sample_context("activation"), "legal_name": None}
    rendered = render_bilingual("activation", "en", context)
    assert "for your company, is approved" in rendered.body
    assert "None" not in rendered.body


# ---------------------------------------------------------------- queue_notice

SMTP = SmtpSettings(from_address="cers-applications@cbsa-asfc.example", from_name="CBSA CERS")


@pytest.fixture
def session() -> Iterator[Session]:
    with Session(memory_engine()) as db:
        yield db


def test_queue_notice_stores_a_pending_rendered_message(session: Session) -> None:
    notice = queue_notice(
        session,
        SMTP,
        kind=NoticeKind.rejection,
        to="claire.roy@erable.example",
        language="fr",
        context={"reference": "CERS-000007", "reason_en": "Invalid number.", "reason_fr": "Numéro invalide."},
    )
    session.commit()
    stored = session.exec(select(Notice)).one()
    assert stored.id == notice.id and stored.status == NoticeStatus.pending and stored.attempts == 0
    assert (stored.kind, stored.to_address) == (NoticeKind.rejection, "claire.roy@erable.example")
    message = parsed(stored.raw)
    assert message["To"] == "claire.roy@erable.example"
    assert parseaddr(message["From"]) == ("CBSA CERS", "cers-applications@cbsa-asfc.example")
    assert message["Message-ID"] == stored.message_id and stored.message_id.endswith("@cbsa-asfc.example>")
    assert (
        message["Subject"]
        == stored.subject
        == render_bilingual("rejection", "fr", {"reference": "CERS-000007", "reason_en": "x", "reason_fr": "x"}).subject
    )
    assert message["Auto-Submitted"] is None  # an officer's own words: no automatic answer (RFC 3834)
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert "Numéro invalide." in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert stored.raw_redacted is None and message["In-Reply-To"] is None


def test_each_notice_gets_its_own_message_id(session: Session) -> None:
    context = {"reference": "CERS-000001", "reason_en": "r", "reason_fr": "r"}
    first = queue_notice(session, SMTP, kind=NoticeKind.rejection, to="a@example.ca", language="en", context=context)
    second = queue_notice(session, SMTP, kind=NoticeKind.rejection, to="a@example.ca", language="en", context=context)
    assert first.message_id != second.message_id


@pytest.mark.parametrize(("language", "expected"), [("en", "en, fr"), ("fr", "fr, en")])
def test_a_notice_says_its_languages_lead_first(session: Session, language: str, expected: str) -> None:
    notice = queue_notice(
        session,
        SMTP,
        kind=NoticeKind.rejection,
        to="a@example.ca",
        language=language,
        context={"reference": "CERS-000001", "reason_en": "r", "reason_fr": "r"},
    )
    assert parsed(notice.raw)["Content-Language"] == expected


def test_a_reply_threads_to_the_applicants_message(session: Session) -> None:
    inbound = InboundMessage(
        mailbox="applications",
        folder="INBOX",
        uidvalidity=1,
        uid=5,
        size=10,
        message_id="<m2@erable.example>",
        references="<m0@erable.example> <m1@erable.example>",
        sender="a@erable.example",  # threads only to a message the recipient wrote
    )
    session.add(inbound)
    session.flush()
    notice = queue_notice(
        session,
        SMTP,
        kind=NoticeKind.correspondence_acknowledgment,
        to="a@erable.example",
        language="en",
        context=sample_context("correspondence_acknowledgment"),
        in_reply_to=inbound,
    )
    message = parsed(notice.raw)
    assert notice.inbound_message_id == inbound.id
    assert message["In-Reply-To"] == "<m2@erable.example>"
    assert message["References"] == "<m0@erable.example> <m1@erable.example> <m2@erable.example>"


def test_secret_keys_are_kept_only_in_the_raw_message(session: Session) -> None:
    context = {**sample_context("activation"), "activation_code": "ABCD-EFGH-JKMN-PQRS"}
    notice = queue_notice(
        session,
        SMTP,
        kind=NoticeKind.activation,
        to="exports@erable.example",
        language="en",
        context=context,
        secret_keys=("activation_code",),
    )
    assert notice.raw_redacted is not None
    assert "ABCD-EFGH-JKMN-PQRS" in parsed(notice.raw).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    redacted = parsed(notice.raw_redacted)
    assert b"ABCD-EFGH-JKMN-PQRS" not in notice.raw_redacted
    assert REDACTED in redacted.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert redacted["Message-ID"] == notice.message_id  # the same message, minus the secret


def test_queue_internal_is_plain_text_auto_generated(session: Session) -> None:
    notice = queue_internal(session, SMTP, kind=NoticeKind.alert, to="monitor@cbsa-asfc.example", subject="Backlog", body="12 waiting")
    message = parsed(notice.raw)
    assert (notice.kind, notice.status, notice.subject) == (NoticeKind.alert, NoticeStatus.pending, "Backlog")
    assert message["Auto-Submitted"] == "auto-generated" and message.get_content_type() == "text/plain"
    assert message.get_content().strip() == "12 waiting"


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_notice_decodes_to_exactly_what_was_rendered(kind: str, language: str) -> None:
    rendered = render_bilingual(kind, language, sample_context(kind))
    headers = notice_headers(SMTP, NoticeKind(kind), "a@example.ca", rendered.subject)
    raw = bilingual_message(headers, rendered, language)
    message = parsed(raw)
    assert raw.isascii() and max(len(line) for line in raw.splitlines()) <= 78
    assert not message.defects and not any(part.defects for part in message.walk())
    assert message["Subject"] == rendered.subject and message["To"] == "a@example.ca"
    assert message.get_content_type() == "multipart/alternative" and message["MIME-Version"] == "1.0"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    assert (plain.get_content(), html.get_content()) == (rendered.body, rendered.html)
    assert [part.get_content_charset() for part in (plain, html)] == ["utf-8", "utf-8"]
    assert [part["MIME-Version"] for part in (plain, html)] == [None, None]


def email_mime_notice(headers: dict[str, str], rendered: RenderedText, language: str) -> bytes:
    """The same notice built with email.mime and written by compat32's generator: what bilingual_message must write."""
    import binascii
    import email.policy
    from email.mime.multipart import MIMEMultipart
    from email.mime.nonmultipart import MIMENonMultipart

    message = MIMEMultipart("alternative")
    for name, value in headers.items():
        message[name] = value.encode().decode("ascii", "surrogateescape") if name == "To" and not value.isascii() else value
    message["Content-Language"] = "en, fr" if language != "fr" else "fr, en"
    for body, subtype in ((rendered.body, "plain"), (rendered.html, "html")):
        part = MIMENonMultipart("text", subtype, charset="utf-8")
        del part["MIME-Version"]
        part["Content-Transfer-Encoding"] = "quoted-printable"
        part.set_payload(binascii.b2a_qp(body.encode(), istext=True).decode("ascii"))
        message.attach(part)
    return message.as_bytes(policy=email.policy.compat32)


def without_boundary(raw: bytes) -> bytes:
    boundary = re.search(rb'boundary="(={15}\d{19}==)"', raw)
    assert boundary is not None
    return raw.replace(boundary.group(1), b"BOUNDARY")


THREAD_HEADERS = {
    "Message-ID": "<n1@cbsa-asfc.example>",
    "In-Reply-To": "<" + "m" * 49 + "@e.example>",  # the line is 78 characters: the longest copied as it is
    "References": " ".join(f"<{n}.thread@erable.example>" for n in range(12)),  # folded over several lines
    "X-Long": "y" * 72,  # 80 characters: folded by Header
    "X-Spaces": "two  spaces\tand a tab ",
}


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_notice_is_byte_for_byte_what_email_mime_writes(kind: str, language: str) -> None:
    rendered = render_bilingual(kind, language, sample_context(kind))
    headers = notice_headers(SMTP, NoticeKind(kind), "a@example.ca", rendered.subject) | THREAD_HEADERS
    ours = bilingual_message(headers, rendered, language)
    assert without_boundary(ours) == without_boundary(email_mime_notice(headers, rendered, language))
    assert b"\nIn-Reply-To: <" + b"m" * 49 + b"@e.example>\n" in ours


@pytest.mark.parametrize(
    "body",
    [
        "windows\r\nline ends\r\n",
        "a lone\rcarriage return\r",
        "--===============0000000000000000000==\n--x--\nFrom the start\n",  # boundary-like and mbox-like lines
        "trailing spaces   \n\ttab\t\n" + "long " * 40 + "\n= and =3D\n",
        "accents é à « » \u202f; 日本 😀\n.\n..\n",
        "no line end at all",
        "",
    ],
)
def test_any_body_is_written_byte_for_byte_as_email_mime_writes_it(body: str) -> None:
    rendered = RenderedText(subject="Objet é", body=body, html=f"<p>{body}</p>")
    headers = notice_headers(SMTP, NoticeKind.rejection, "josé@érable.example", rendered.subject) | THREAD_HEADERS
    for language in ("en", "fr"):
        ours = bilingual_message(headers, rendered, language)
        assert without_boundary(ours) == without_boundary(email_mime_notice(headers, rendered, language))
        plain = parsed(ours).get_body(("plain",))
        assert plain is not None and plain.get_content() == re.sub(r"\r\n?", "\n", body)  # lines end as in any mail


def test_each_notice_has_its_own_boundary() -> None:
    rendered = render_bilingual("rejection", "fr", sample_context("rejection"))
    headers = notice_headers(SMTP, NoticeKind.rejection, "a@example.ca", rendered.subject)
    assert len({bilingual_message(headers, rendered, "fr") for _ in range(20)}) == 20


def test_an_address_with_accents_is_written_in_utf8_and_a_line_break_is_refused() -> None:
    rendered = render_bilingual("rejection", "fr", sample_context("rejection"))
    raw = bilingual_message(notice_headers(SMTP, NoticeKind.rejection, "josé@érable.example", rendered.subject), rendered, "fr")
    assert b"\nTo: jos\xc3\xa9@\xc3\xa9rable.example\n" in raw  # RFC 6532, sent only with SMTPUTF8
    assert parsed(raw)["To"] == "josé@érable.example"
    for hostile in ("<a@b>\r\nBcc: x@evil.example", "<a@b>\nfoo", "<a@b>\rX: y"):
        with pytest.raises(ValueError, match="line break"):
            bilingual_message({"References": hostile}, rendered, "fr")


def test_headers_with_accents_are_folded_byte_for_byte_as_compat32_folds_them() -> None:
    """encoded_words() cuts the words where email.header.Header does, Q or base64 alike, for any one-line value."""
    import email.policy
    import random

    from outbox.compose import NOTICE_POLICY

    alphabet = "abcdefghij ABC-!*+/=?_()\"',.;:\t\x00\x1b\x7féèàçÉœ€日😀\u00a0\u202f\U0010ffff"
    draw = random.Random(831)
    values = ["Nous avons reçu votre demande (référence CERS-000123)", "日本語のテキスト" * 9, "😀" * 40, "é"]
    values += ["".join(draw.choice(alphabet) for _ in range(draw.randint(1, 300))) for _ in range(1500)]
    for name in ("Subject", "X-" + "n" * 50):
        for value in values:
            assert NOTICE_POLICY.fold_binary(name, value) == email.policy.compat32.fold_binary(name, value), (name, value)
