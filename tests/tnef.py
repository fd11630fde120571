"""Building Outlook winmail.dat (TNEF) attachments for tests, as Outlook's rich-text mode does."""

from __future__ import annotations

import struct

SIGNATURE = 0x223E9F78
LVL_MESSAGE, LVL_ATTACHMENT = 1, 2
ATT_TNEF_VERSION = 0x00089006
ATT_OEM_CODEPAGE = 0x00069007
ATT_MESSAGE_CLASS = 0x00078008
ATT_ATTACH_RENDDATA = 0x00069002
ATT_ATTACH_TITLE = 0x00018010
ATT_ATTACH_DATA = 0x0006800F


def _attribute(level: int, attribute: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BII", level, attribute, len(data)) + data + struct.pack("<H", checksum)


def winmail_dat(attachments: list[tuple[str, bytes]]) -> bytes:
    """A TNEF stream holding each (filename, bytes) as an attachment."""
    out = struct.pack("<IH", SIGNATURE, 0x0001)
    out += _attribute(LVL_MESSAGE, ATT_TNEF_VERSION, struct.pack("<I", 0x00010000))
    out += _attribute(LVL_MESSAGE, ATT_OEM_CODEPAGE, struct.pack("<II", 1252, 0))
    out += _attribute(LVL_MESSAGE, ATT_MESSAGE_CLASS, b"IPM.Microsoft Mail.Note\x00")
    for name, data in attachments:
        out += _attribute(LVL_ATTACHMENT, ATT_ATTACH_RENDDATA, struct.pack("<HIIHHI", 1, 0xFFFFFFFF, 0, 0, 0, 0))
        out += _attribute(LVL_ATTACHMENT, ATT_ATTACH_TITLE, name.encode("cp1252") + b"\x00")
        out += _attribute(LVL_ATTACHMENT, ATT_ATTACH_DATA, data)
    return out
