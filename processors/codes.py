"""Authorization IDs (AA9999) and activation codes (shared secrets, stored only as a hash)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string

AUTHORIZATION_ID = re.compile(r"[A-Z][A-Y]\d{4}")
# No 0/O or 1/I/L: the code is typed by hand into the portal.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_GROUPS, CODE_GROUP_LENGTH = 4, 4


def new_authorization_id() -> str:
    """Two letters then four digits; the second letter is never Z (AZ9999 is for one-time submissions)."""
    first = secrets.choice(string.ascii_uppercase)
    second = secrets.choice(string.ascii_uppercase[:-1])
    digits = "".join(secrets.choice(string.digits) for _ in range(4))
    return f"{first}{second}{digits}"


def new_activation_code() -> str:
    """16 characters from a 31-letter alphabet (about 79 bits), in groups of four."""
    groups = ("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LENGTH)) for _ in range(CODE_GROUPS))
    return "-".join(groups)


def hash_activation_code(code: str) -> str:
    """A high-entropy random code needs no slow hash: SHA-256 of its canonical form."""
    canonical = code.replace("-", "").replace(" ", "").upper()
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def activation_code_matches(code: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_activation_code(code), stored_hash)


# Anything shaped like an activation code, as an applicant may write it back: four groups of
# CODE_GROUP_LENGTH letters of CODE_ALPHABET, joined by a dash (any kind), spaces, nothing, or a line
# break with its quote marks ("> ") when a mail client wrapped a quoted notice.
_CODE_CHARACTER = f"[{CODE_ALPHABET}{CODE_ALPHABET.lower()}]"
_GROUP = f"{_CODE_CHARACTER}{{{CODE_GROUP_LENGTH}}}"
_WRAP = r"(?:[ \t]*\r?\n[ \t>]*)"
_DASH = "[-\u2010-\u2015\u2212]"
_JOIN = rf"(?:[ \t]*{_WRAP}?{_DASH}?{_WRAP}?[ \t]*)"
_CODE_SHAPE = re.compile(rf"(?<![0-9A-Za-z]){_GROUP}(?:{_JOIN}{_GROUP}){{{CODE_GROUPS - 1}}}(?![0-9A-Za-z])")
_SPACE = re.compile(r"\s")  # groups joined by spaces alone may be words: "that were made sure"
MASKED_CODE = "[code hidden / code masqué]"


def mask_codes(text: str) -> str:
    """The text with anything shaped like an activation code replaced by MASKED_CODE.

    Dashed or unbroken, in any case, it is masked; four groups joined by spaces only are masked when
    written in capitals or holding a digit, so ordinary four-letter words stay readable.
    """
    return _CODE_SHAPE.sub(_mask_one, text)


def _mask_one(match: re.Match[str]) -> str:
    found = match.group(0)
    characters = "".join(c for c in found if c.isalnum())
    spaced_only = not re.search(_DASH, found) and _SPACE.search(found)
    if spaced_only and not (characters.isupper() or any(c.isdigit() for c in characters)):
        return found
    return MASKED_CODE
