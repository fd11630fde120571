"""Waiting for new mail: IMAP IDLE where the server has it, a plain wait where it does not."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from core.errors import MailboxError

log = structlog.get_logger("intake")
# RFC 2177: servers may drop an IDLE after 30 minutes; re-issue it well before.
IDLE_RENEW_SECONDS = 25 * 60
CHECK_SECONDS = 1.0
# Mail delivered in the instant between the last look and the start of IDLE can go unannounced
# (announced with another command's answer, or missed by a maildir server until its next sync):
# look once more this long into the wait.
RECHECK_SECONDS = 2.0


def wait_for_mail(client: IMAPClient, timeout: float, stop: threading.Event, look: Callable[[], bool], use_idle: bool = True) -> bool:
    """Return True as soon as there is new mail, False after timeout or stop.

    look() says whether mail is waiting; it is asked once shortly after the wait begins.
    """
    if not (use_idle and client.has_capability("IDLE")):
        stop.wait(timeout)
        return False
    deadline = time.monotonic() + min(timeout, IDLE_RENEW_SECONDS)
    first = min(RECHECK_SECONDS, max(0.0, deadline - time.monotonic()))
    if _idle(client, time.monotonic() + first, stop):
        return True
    if stop.is_set() or time.monotonic() >= deadline:
        return False
    return look() or _idle(client, deadline, stop)


def _idle(client: IMAPClient, deadline: float, stop: threading.Event) -> bool:
    try:
        client.idle()
        try:
            while not stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                try:
                    responses = client.idle_check(timeout=min(CHECK_SECONDS, remaining))
                except IMAPClientAbortError:
                    raise
                except IMAPClientError as exc:  # an update this client cannot parse is still an update
                    log.debug("unparsed update during IDLE", error=str(exc))
                    return True
                if any(_is_new_mail(response) for response in responses):
                    return True
        finally:
            client.idle_done()
    except (IMAPClientError, OSError) as exc:
        raise MailboxError(f"IDLE failed: {exc}") from exc
    return False


def _is_new_mail(response: tuple) -> bool:
    return len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT")
