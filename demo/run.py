"""The embedded default: a local IMAP server (pymap) and SMTP sink (aiosmtpd), seeded, with the daemon."""

from __future__ import annotations

import secrets
from pathlib import Path

import imapclient
from pydantic import SecretStr

from core.db import session_scope
from core.errors import IntakeError
from core.runner import Runner
from core.settings import Settings
from demo.mailservers import PymapServer, SmtpSink
from demo.samples import demo_messages
from processors.queue import list_applications

DEMO_POLL_SECONDS = 5.0


def demo_settings(settings: Settings, password: str) -> Settings:
    """The settings with the demo mailbox's password and a short poll interval."""
    mailbox = settings.mailbox.model_copy(
        update={"password": SecretStr(password), "security": "none", "poll_interval": DEMO_POLL_SECONDS}
    )
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


def run_demo(settings: Settings, once: bool = False) -> None:
    base = settings.storage.path / "demo"
    sent_mail = base / "sent-mail"
    password = secrets.token_urlsafe(12)
    imap = PymapServer(base / "imap", port=settings.mailbox.port, username=settings.mailbox.username, password=password)
    sink = SmtpSink(maildir=sent_mail, port=settings.smtp.port)
    try:
        imap.start()
        sink.start()
    except Exception as exc:
        imap.stop()
        raise IntakeError(
            f"cannot start the demo mail servers on 127.0.0.1:{settings.mailbox.port} (IMAP) and "
            f":{settings.smtp.port} (SMTP): {exc}. Is another demo running?"
        ) from exc
    try:
        seeded = seed(imap, settings.mailbox.folder, base / "seeded")
        runner = Runner(demo_settings(settings, password))
        _say(f"demo mailbox: IMAP 127.0.0.1:{imap.port} (pymap), SMTP sink 127.0.0.1:{sink.port} (aiosmtpd)")
        _say(f"seeded {seeded} sample message(s)" if seeded else "samples were seeded on an earlier run")
        report = runner.run_once()
        _say(f"pass: fetched {report.fetch.fetched}, processed {report.process.processed}, sent {report.send.sent}")
        _print_queue(runner)
        _say(f"sent mail is kept as one file per message in {sent_mail.resolve()}/new/")
        if once:
            return
        _say("approve one from another terminal, in this folder:")
        _say("    .venv/bin/cers-intake queue")
        _say("    .venv/bin/cers-intake approve ID --officer YOUR-NAME")
        _say(f"the daemon polls every {DEMO_POLL_SECONDS:g} s and sends the activation code; Ctrl-C stops it")
        runner.run_forever()
    finally:
        sink.stop()
        imap.stop()


def _print_queue(runner: Runner) -> None:
    with session_scope(runner.engine) as session:
        rows = list_applications(session)
    _say("queue:")
    for row in rows:
        errors = [f"item {f['item']} ({f['code']})" for f in row["findings"] if f["severity"] == "error"]
        problems = f" - needs: {', '.join(errors)}" if errors else ""
        _say(f"  #{row['id']} {row['state']:<15} {row['legal_name'] or '(no legal name)'}{problems}")


def _say(text: str) -> None:
    print(text, flush=True)
