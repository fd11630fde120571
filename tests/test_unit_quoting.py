"""What of an applicant's text a notice may quote, and whose address a forged From really is."""

from __future__ import annotations

import pytest

from mail.mime import parse_message
from outbox.render import quotable

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "text", ["Érable Exports Ltée", "Export Inc.", "J.K. Exports", "Les Bleuets du Lac-St-Jean inc.", "BSF831.pdf", "formulaire final.PDF"]
)
def test_plain_names_are_quoted(text: str) -> None:
    assert quotable(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Visit https://evil.example/cbsa",
        "refunds@evil.example",
        "www.evil.example",
        "evil-cbsa.example Ltd",
        "see evil.example.pdf",
        "ftp://x.example",
    ],
)
def test_anything_a_reader_could_follow_is_not(text: str) -> None:
    assert quotable(text) is None


@pytest.mark.parametrize(
    ("header", "address"),
    [
        ("victim@erable.example <mallory@evil.example>", "mallory@evil.example"),
        ('"victim@erable.example" <mallory@evil.example>', "mallory@evil.example"),
        ('"<victim@erable.example>" <mallory@evil.example>', "mallory@evil.example"),
        ("Name (<victim@erable.example>) <mallory@evil.example>", "mallory@evil.example"),
        ("Claire Roy <claire.roy@erable.example>", "claire.roy@erable.example"),
        ("claire.roy@erable.example", "claire.roy@erable.example"),
    ],
)
def test_the_sender_is_the_from_addr_spec(header: str, address: str) -> None:
    parsed = parse_message(f"From: {header}\r\nReply-To: other@elsewhere.example\r\nSubject: s\r\n\r\nbody".encode())
    assert parsed.sender == address and parsed.reply_address == address
