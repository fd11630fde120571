"""Evidence as it is on the application and correspondence pages: the From addr-spec, whose
Authentication-Results they are, each raw message parsed once per request, and no activation code shown."""

from __future__ import annotations

import email
from html import unescape
from pathlib import Path

import pytest
from console_support import console_app, console_settings, seed_message, sign_in
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from core.blobs import BlobStore
from core.db import session_scope
from core.enums import AppState, MessageKind
from core.models import Application, Submission
from demo.samples import plain_email
from processors import codes
from processors.mail_view import version_messages

SPOOFED = "victim@x.example <attacker@y.example>"
OURS = "mx.cbsa-asfc.example"


def raw_message(sender: str, body: str = "Please find our form attached.", subject: str = "BSF831 application") -> bytes:
    headers = {
        "Authentication-Results": f"{OURS}; spf=fail smtp.mailfrom=y.example; dkim=none",
    }
    raw = plain_email(sender="placeholder@example.ca", subject=subject, body=body, extra_headers=headers)
    # the sender's own claim, written before ours as a forger would, and a From no library builds
    raw = b"Authentication-Results: bank.example; spf=pass smtp.mailfrom=x.example; dkim=pass\r\n" + raw
    return raw.replace(b"From: placeholder@example.ca", f"From: {sender}".encode())


def seed(engine: Engine, blobs: BlobStore, raw: bytes, *, versions: int, kind: MessageKind = MessageKind.form) -> tuple[int, int]:
    """An application whose versions all came in one message; (application id, message row id)."""
    row_id = seed_message(engine, blobs, raw, sender="victim@x.example", kind=kind)  # the sender as a naive parse of From stores it
    with session_scope(engine) as db:
        application = Application(state=AppState.pending_review, legal_name="Érable Exports Ltée", sender="victim@x.example")
        db.add(application)
        db.flush()
        assert application.id is not None
        for n in range(versions):
            submission = Submission(message_id=row_id, application_id=application.id, sha256=f"{n:064d}", revision="bsf831-en")
            db.add(submission)
            db.flush()
            application.latest_submission_id = submission.id
        db.add(application)
        return application.id, row_id


def page_client(
    tmp_path: Path, raw: bytes, *, versions: int = 1, kind: MessageKind = MessageKind.form, **extra: str
) -> tuple[TestClient, int, int]:
    settings = console_settings(tmp_path / "var", **extra)
    app, engine = console_app(settings)
    application_id, row_id = seed(engine, BlobStore(settings.blob_dir), raw, versions=versions, kind=kind)
    client = TestClient(app)
    sign_in(client, "olga")
    return client, application_id, row_id


def test_the_application_page_parses_its_one_message_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client, application_id, _ = page_client(tmp_path, raw_message("Claire <claire@erable.example>"), versions=5)
    parses: list[int] = []
    real = email.message_from_bytes

    def counting(data: bytes, *args: object, **kwargs: object) -> object:
        parses.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(email, "message_from_bytes", counting)
    for version in (None, 1, 3):
        query = f"?version={version}" if version else ""
        assert client.get(f"/applications/{application_id}{query}").status_code == 200
    assert len(parses) == 3, f"{len(parses)} parses for 3 requests of a 5-version application from one message"

    # every version's message at once (what a page showing them all would ask for): still one parse
    console = client.app.state.console  # type: ignore[attr-defined]
    with session_scope(console.engine) as db:
        ids = [s.id for s in db.exec(select(Submission).where(Submission.application_id == application_id))]
        views = version_messages(db, console.blobs, [i for i in ids if i is not None])
    assert len(views) == 5 and len(parses) == 4
    assert {view["sender"] for view in views.values()} == {"claire@erable.example"}


@pytest.mark.parametrize("page", ["application", "correspondence"])
def test_the_sender_shown_is_the_from_addr_spec_not_its_display_name(tmp_path: Path, page: str) -> None:
    kind = MessageKind.form if page == "application" else MessageKind.correspondence
    client, application_id, row_id = page_client(tmp_path, raw_message(SPOOFED), kind=kind)
    html = client.get(f"/applications/{application_id}" if page == "application" else f"/correspondence/{row_id}").text
    sender = html.split("<dt>Sender</dt><dd>", 1)[1].split("</dd>", 1)[0]
    assert sender.strip() == "attacker@y.example"


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("trusted", ["", OURS])
def test_only_our_authserv_id_is_shown_as_our_servers_verdict(tmp_path: Path, language: str, trusted: str) -> None:
    client, _, row_id = page_client(tmp_path, raw_message(SPOOFED), kind=MessageKind.correspondence, CERS_MAILBOX__AUTHSERV_ID=trusted)
    if language == "fr":
        client.post("/language", data={"lang": "fr", "csrf_token": sign_in(client, "olga")})
    html = unescape(client.get(f"/correspondence/{row_id}").text).lower()
    ours, sender = (
        ("verdict of our mail server", "written by the sender")
        if language == "en"
        else ("verdict de notre serveur", "écrit par l'expéditeur")
    )
    forged = html.split("bank.example", 1)[0].rsplit("<li", 1)[1]
    genuine = html.split(f"{OURS};", 1)[0].rsplit("<li", 1)[1]
    assert sender in forged and ours not in forged
    if trusted:
        assert ours in genuine and sender not in genuine
    else:
        assert sender in genuine and ours not in genuine


@pytest.mark.unit
def test_mask_codes_hides_every_shape_of_an_activation_code() -> None:
    for _ in range(50):
        code = codes.new_activation_code()
        compact = code.replace("-", "")
        for shape in (code, code.lower(), compact, compact.lower(), code.replace("-", " "), code.replace("-", " - ")):
            masked = codes.mask_codes(f"My code {shape}, please help.")
            assert compact not in masked.replace("-", "").replace(" ", "").upper(), masked
            assert masked.startswith("My code ") and masked.endswith(", please help.")
        wrapped = f"> Activation code: {code[:10]}\n> {code[10:]}\n"
        assert compact not in codes.mask_codes(wrapped).replace("-", "").replace(" ", "").replace("\n", "").replace(">", "")
    prose = "We want to know when it will come. That form is fine. Reference CERS-000042, ID AB1234, BN 123456782RM0001."
    assert codes.mask_codes(prose) == prose


@pytest.mark.unit
def test_the_skeleton_reads_the_same_headers_and_text_as_the_whole_message() -> None:
    import email.policy
    from email.message import EmailMessage

    import client_messages as clients

    from demo.forms import fill_form, sample_values
    from demo.samples import application_email, demo_messages
    from processors.mail_view import _plain_text, skeleton

    pdf = fill_form(sample_values("valid"))
    shapes = [
        clients.outlook_rich_text(pdf),
        clients.apple_mail_inline(pdf),
        clients.gmail_rfc2047_name(pdf),
        clients.thunderbird_rfc2231_name(pdf),
        clients.webmail_octet_stream(pdf),
        clients.forwarded_as_attachment(pdf),
        clients.legacy_charset_headers(pdf),
        clients.two_forms(pdf, pdf),
        *demo_messages(),
        application_email(pdf, sender="a@b.example", body="Bonjour, voici le formulaire.\n--\nClaire"),
    ]
    html_first = EmailMessage()
    html_first["From"] = "a@b.example"
    html_first.set_content("plain words")
    html_first.add_alternative("<p>html words</p>", subtype="html")
    html_first.add_attachment(pdf, maintype="application", subtype="pdf", filename="f.pdf")
    shapes += [html_first.as_bytes(), b"From: a@b.example\r\nContent-Type: application/pdf\r\n\r\n" + pdf, b"no headers at all"]
    for raw in shapes:
        whole = email.message_from_bytes(raw, policy=email.policy.default)
        light = email.message_from_bytes(skeleton(raw), policy=email.policy.default)
        assert list(light.raw_items()) == list(whole.raw_items())
        assert _plain_text(light) == _plain_text(whole)
        assert len(skeleton(raw)) <= len(raw) + 200
