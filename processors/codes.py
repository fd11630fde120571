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
