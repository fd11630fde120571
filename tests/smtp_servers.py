"""aiosmtpd servers that misbehave on purpose: temporary refusals, dropped connections, TLS only."""

from __future__ import annotations

import email
import email.policy
import shutil
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from missing import require

from demo.mailservers import LOCALHOST, free_port


@dataclass
class Mailbag:
    """What a test server accepted, with the Message-ID of each message."""

    messages: list[tuple[list[str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, rcpts: list[str], content: bytes) -> None:
        with self.lock:
            self.messages.append((rcpts, content))

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(email.message_from_bytes(c, policy=email.policy.default)["Message-ID"]) for _, c in self.messages]

    def copies(self) -> Counter[str]:
        return Counter(self.message_ids())


class Handler:
    """Accepts everything; subclasses refuse or drop where a test needs it."""

    def __init__(self) -> None:
        self.bag = Mailbag()
        self.transactions = 0

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:
        self.transactions += 1
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        self.bag.add(list(envelope.rcpt_tos), content)
        return "250 Message accepted for delivery"


class BusyThenReady(Handler):
    """Answers `421` to the first `refusals` MAIL commands (and closes), then accepts."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:
        if self.refusals > 0:
            self.refusals -= 1
            self.transactions += 1
            return "421 4.3.2 Service not available, closing transmission channel"
        return await super().handle_MAIL(server, session, envelope, address, options)


class DropAfterData(Handler):
    """Reads the first `drops` messages completely, then cuts the connection without answering.

    With keep=True it has queued the message before the cut (the server accepted it, the
    client never heard); with keep=False it lost it."""

    def __init__(self, drops: int, keep: bool) -> None:
        super().__init__()
        self.drops, self.keep = drops, keep

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.drops > 0:
            self.drops -= 1
            if self.keep:
                await super().handle_DATA(server, session, envelope)
            assert server.transport is not None
            server.transport.abort()
            return "250 never heard"
        return await super().handle_DATA(server, session, envelope)


class Authenticator:
    """Accepts one user and password; refuses others without hanging the client."""

    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username.encode(), password.encode()
        self.logins: list[str] = []

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == (self.username, self.password):
            self.logins.append(data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@contextmanager
def smtp_server(handler: Handler, port: int | None = None, **kwargs: Any) -> Iterator[tuple[str, int]]:
    """Run *handler* on loopback; yields (host, port)."""
    port = port or free_port()
    controller = Controller(handler, hostname=LOCALHOST, port=port, ready_timeout=10, **kwargs)
    controller.start()
    try:
        yield LOCALHOST, port
    finally:
        controller.stop()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 and its key, made with openssl."""
    if shutil.which("openssl") is None:
        require("openssl is not installed (Debian's openssl package; scripts/test.sh installs it as root)", "TLS tests")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key
