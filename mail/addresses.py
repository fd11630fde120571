"""Reading the addresses of an address header as a mail client delivers to them, never a display name."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.message import EmailMessage


def from_addresses(value: str) -> list[str]:
    """The addr-spec of each mailbox of a From value; a display name is never taken for an address.

    A well-formed value is read by email.headerregistry. A malformed one such as
    `victim@x <attacker@y>` (an unquoted `@` in the display name) is read the way a mail client
    delivers it: the angle-addr is the address, and the words before it are the name.
    """
    message = EmailMessage()
    try:
        message["From"] = value
        header = message["From"]
        addresses: tuple[Address, ...] = header.addresses
        if not header.defects and addresses and all("@" in a.addr_spec for a in addresses):
            return [a.addr_spec for a in addresses]
    except (ValueError, TypeError, IndexError, AttributeError):  # a header the registry cannot read: read it below
        pass
    found = []
    for mailbox in _split_outside(value, ","):
        angle = _angle_addr(mailbox)
        spec = angle.rpartition(":")[2] if angle is not None else without_comments(mailbox)  # drop an obsolete route
        spec = spec.strip()
        if re.fullmatch(r"[^\s<>(),;@]+@[^\s<>(),;@]+", spec):
            found.append(spec)
    return found


BARE, QUOTED, COMMENT = "bare", "quoted", "comment"


def _scan(value: str) -> list[tuple[str, str]]:
    """Each character with where it stands: bare, inside a quoted string, or inside a (comment)."""
    out: list[tuple[str, str]] = []
    quoted, depth, escaped = False, 0, False
    for char in value:
        where = QUOTED if quoted else COMMENT if depth else BARE
        if escaped:
            escaped = False
        elif char == "\\" and where != BARE:
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"' and not depth:
            quoted, where = True, QUOTED
        elif char == "(":
            depth, where = depth + 1, COMMENT
        elif char == ")" and depth:
            depth -= 1
        out.append((char, where))
    return out


def _split_outside(value: str, separator: str) -> list[str]:
    """The value split at each bare separator outside an <angle-addr>."""
    parts: list[str] = []
    current: list[str] = []
    in_angle = False
    for char, where in _scan(value):
        if where == BARE and char in "<>":
            in_angle = char == "<"
        if where == BARE and not in_angle and char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _angle_addr(mailbox: str) -> str | None:
    """The text inside the last bare <...> of one mailbox, or None."""
    found: str | None = None
    current: list[str] | None = None
    for char, where in _scan(mailbox):
        if where == BARE and char == "<":
            current = []
        elif where == BARE and char == ">" and current is not None:
            found, current = "".join(current), None
        elif current is not None:
            current.append(char)
    return found


def without_comments(value: str) -> str:
    """The value with its (comments) taken out, as RFC 5322 reads it."""
    return "".join(char for char, where in _scan(value) if where != COMMENT)
