"""OAuth 2.0 client-credentials tokens for XOAUTH2 login (as Microsoft 365 requires)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from core.errors import MailboxError
from core.settings import MailboxSettings

EARLY_RENEWAL_SECONDS = 60


class TokenSource:
    """Fetches an access token from the token endpoint and reuses it until shortly before it expires."""

    def __init__(self, settings: MailboxSettings) -> None:
        if not settings.oauth_token_url or not settings.oauth_client_id:
            raise MailboxError("mailbox.auth is xoauth2: set mailbox.oauth_token_url and mailbox.oauth_client_id")
        if not settings.oauth_client_secret.get_secret_value():
            raise MailboxError("mailbox.auth is xoauth2: set CERS_MAILBOX__OAUTH_CLIENT_SECRET in the environment")
        self.settings = settings
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._token, lifetime = self._request()
                self._expires_at = time.monotonic() + max(0.0, lifetime - EARLY_RENEWAL_SECONDS)
            return self._token

    def _request(self) -> tuple[str, float]:
        s = self.settings
        body = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": s.oauth_client_id,
                "client_secret": s.oauth_client_secret.get_secret_value(),
                "scope": s.oauth_scope,
            }
        ).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        request = urllib.request.Request(s.oauth_token_url, data=body, headers=headers)  # noqa: S310 - the operator's own setting, not mail input
        try:
            with urllib.request.urlopen(request, timeout=s.timeout) as response:  # noqa: S310 - same URL
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise MailboxError(f"the token endpoint {s.oauth_token_url} refused the client credentials: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise MailboxError(f"cannot get a token from {s.oauth_token_url}: {exc}") from exc
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise MailboxError(f"the token endpoint {s.oauth_token_url} answered without an access_token")
        return token, float(answer.get("expires_in", 3600))
