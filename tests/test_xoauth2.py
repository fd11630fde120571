"""XOAUTH2 login with OAuth 2.0 client credentials, against a local token endpoint and a real Dovecot."""

from __future__ import annotations

import json
import secrets
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from flow import cli, flow_environment
from servers import DovecotServer, imap_append

from app.runner import Runner
from core.errors import MailboxError
from core.settings import load_settings
from demo.mailservers import SmtpSink
from demo.samples import plain_email

CLIENT_ID, CLIENT_SECRET, MAILBOX_USER = "cers-intake-app", "client-secret-value", "intake"


class TokenEndpoint:
    """A local identity provider: client-credentials tokens, and introspection for Dovecot."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.token_requests = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
                if self.path == "/token":
                    endpoint.token_requests += 1
                    ok = form.get("grant_type") == "client_credentials" and (form.get("client_id"), form.get("client_secret")) == (
                        CLIENT_ID,
                        CLIENT_SECRET,
                    )
                    if not ok:
                        return self._answer(401, {"error": "invalid_client"})
                    token = secrets.token_urlsafe(24)
                    endpoint.tokens[token] = MAILBOX_USER
                    return self._answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
                user = endpoint.tokens.get(form.get("token", ""))
                self._answer(200, {"active": True, "username": user} if user else {"active": False})

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def token_endpoint() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint()
    yield endpoint
    endpoint.close()


@pytest.fixture
def oauth_dovecot(dovecot_instance: DovecotServer, token_endpoint: TokenEndpoint) -> Iterator[DovecotServer]:
    """A Dovecot that accepts XOAUTH2 tokens by asking the local endpoint to introspect them."""
    with DovecotServer(oauth2_introspection_url=f"{token_endpoint.url}/introspect") as server:
        yield server


def oauth_env(tmp_path: Path, server: DovecotServer, sink: SmtpSink, endpoint: TokenEndpoint, secret: str) -> dict[str, str]:
    env = flow_environment(tmp_path / "var", server, sink)  # type: ignore[arg-type]
    env.pop("CERS_MAILBOX__PASSWORD")
    return {
        **env,
        "CERS_MAILBOX__AUTH": "xoauth2",
        "CERS_MAILBOX__OAUTH_TOKEN_URL": f"{endpoint.url}/token",
        "CERS_MAILBOX__OAUTH_CLIENT_ID": CLIENT_ID,
        "CERS_MAILBOX__OAUTH_CLIENT_SECRET": secret,
    }


def test_xoauth2_login_fetches_mail(
    tmp_path: Path, oauth_dovecot: DovecotServer, smtp_sink: SmtpSink, token_endpoint: TokenEndpoint
) -> None:
    imap_append(oauth_dovecot, plain_email(sender="q@example.ca", subject="question", body="hello"))
    runner = Runner(load_settings(environ=oauth_env(tmp_path, oauth_dovecot, smtp_sink, token_endpoint, CLIENT_SECRET)))
    assert runner.run_once().fetch.fetched == 1
    assert runner.run_once().errors == []
    assert token_endpoint.token_requests == 1  # the token is reused until it nears expiry


def test_refused_client_credentials_are_a_clear_error_without_the_secret(
    tmp_path: Path, oauth_dovecot: DovecotServer, smtp_sink: SmtpSink, token_endpoint: TokenEndpoint
) -> None:
    env = oauth_env(tmp_path, oauth_dovecot, smtp_sink, token_endpoint, "wrong-secret-value")
    result = cli(env, "run", "--once", check=False)
    assert result.returncode == 1
    assert "refused the client credentials: HTTP 401" in result.stderr
    assert "wrong-secret-value" not in result.stdout + result.stderr


def test_xoauth2_needs_its_settings() -> None:
    from intake.oauth import TokenSource

    settings = load_settings(environ={"CERS_MAILBOX__AUTH": "xoauth2"}).mailbox
    with pytest.raises(MailboxError, match="oauth_token_url"):
        TokenSource(settings)
