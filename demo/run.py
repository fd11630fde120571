"""The embedded default's own pieces: its settings and the seeding of its mailbox (app/demo.py runs it)."""

from __future__ import annotations

from pathlib import Path

import imapclient
from pydantic import SecretStr

from core.settings import Settings
from demo.mailservers import PymapServer
from demo.samples import demo_messages

DEMO_POLL_SECONDS = 5.0


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
