"""The embedded default's own pieces: its settings and the seeding of its mailbox (app/demo.py runs it)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import imapclient
from pydantic import SecretStr

from core.settings import Settings
from demo.mailservers import PymapServer
from demo.samples import demo_messages

DEMO_POLL_SECONDS = 5.0


PASSWORD_FILE = "imap-password"  # noqa: S105 - the file name, not a password


def demo_password(base: Path) -> str:
    """The demo mailbox's password: made once at random, kept in base/imap-password (mode 0600).

    Another command run while the demo runs (`cers-intake status`) logs in with it:
    `CERS_MAILBOX__PASSWORD="$(cat var/demo/imap-password)" .venv/bin/cers-intake status`.
    It is a password for a loopback-only demo server and is never written to settings.toml.
    """
    path = base / PASSWORD_FILE
    if path.is_file():
        kept = path.read_text(encoding="utf-8").strip()
        if kept:
            return kept
    base.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(password + "\n")
    return password


def demo_settings(settings: Settings, password: str) -> Settings:
    """The settings with the demo mailbox's password and a short poll interval."""
    mailbox = settings.mailbox.model_copy(update={"password": SecretStr(password), "security": "none", "poll_interval": DEMO_POLL_SECONDS})
    smtp = settings.smtp.model_copy(update={"security": "none", "username": ""})
    return settings.model_copy(update={"mailbox": mailbox, "smtp": smtp})


def seed(server: PymapServer, folder: str, marker: Path) -> int:
    """Put the sample applications in the mailbox, once per demo directory."""
    if marker.exists():
        return 0
    messages = demo_messages()
    with imapclient.IMAPClient(server.host, port=server.port, ssl=False) as client:
        client.login(server.username, server.password)
        for raw in messages:
            client.append(folder, raw)
    marker.write_text("seeded\n")
    return len(messages)
