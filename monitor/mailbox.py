"""The watched folder's message and unseen counts (IMAP STATUS), asked with a short timeout."""

from __future__ import annotations

from typing import Any

from imapclient.exceptions import IMAPClientError

from core.errors import IntakeError
from core.settings import MailboxSettings
from intake.connection import imap_connection


def mailbox_counts(settings: MailboxSettings, timeout: float) -> dict[str, Any]:
    """{"reachable", "folder", "messages", "unseen", "error"}; an unreachable server is reported, not raised."""
    result: dict[str, Any] = {"reachable": False, "folder": settings.folder, "messages": None, "unseen": None, "error": None}
    try:
        with imap_connection(settings.model_copy(update={"timeout": timeout})) as client:
            status = client.folder_status(settings.folder, [b"MESSAGES", b"UNSEEN"])
    except (IntakeError, IMAPClientError, OSError) as exc:
        result["error"] = str(exc) or type(exc).__name__
        return result
    result.update(reachable=True, messages=int(status[b"MESSAGES"]), unseen=int(status[b"UNSEEN"]))
    return result
