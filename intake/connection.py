"""Opening an authenticated IMAP connection as the settings say."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import imapclient
from imapclient.exceptions import IMAPClientError

from core.errors import MailboxError
from core.settings import MailboxSettings
from intake.oauth import TokenSource

_token_sources: dict[tuple[str, str, str], TokenSource] = {}


@contextmanager
def imap_connection(settings: MailboxSettings) -> Iterator[imapclient.IMAPClient]:
    """A logged-in IMAPClient; logged out when the block ends."""
    client = open_connection(settings)
    try:
        yield client
    finally:
        close_connection(client)


def close_connection(client: imapclient.IMAPClient) -> None:
    """Log out; a connection that is already gone is only closed."""
    try:
        client.logout()
    except (IMAPClientError, OSError):
        _close(client)


def open_connection(settings: MailboxSettings) -> imapclient.IMAPClient:
    where = f"{settings.host}:{settings.port}"
    try:
        client = imapclient.IMAPClient(
            settings.host,
            port=settings.port,
            ssl=settings.security == "tls",
            ssl_context=ssl.create_default_context() if settings.security != "none" else None,
            timeout=settings.timeout,
        )
        if settings.security == "starttls":
            client.starttls(ssl.create_default_context())
    except (TimeoutError, OSError, IMAPClientError) as exc:
        raise MailboxError(f"cannot connect to the IMAP server at {where}: {exc}") from exc
    try:
        if settings.auth == "xoauth2":
            client.oauth2_login(settings.username, _token_source(settings).token())
        else:
            client.login(settings.username, settings.password.get_secret_value())
    except (IMAPClientError, OSError) as exc:
        _close(client)
        raise MailboxError(f"IMAP {settings.auth} login as {settings.username!r} at {where} failed: {exc}") from exc
    except MailboxError:
        _close(client)
        raise
    return client


def _token_source(settings: MailboxSettings) -> TokenSource:
    key = (settings.oauth_token_url, settings.oauth_client_id, settings.username)
    if key not in _token_sources:
        _token_sources[key] = TokenSource(settings)
    return _token_sources[key]


def _close(client: imapclient.IMAPClient) -> None:
    with suppress(IMAPClientError, OSError):
        client.shutdown()
