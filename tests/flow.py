"""Helpers for tests that drive the whole flow against real servers."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

from servers import ImapAccount

from app.runner import PassReport, Runner
from core.settings import Settings, load_settings
from demo.mailservers import SmtpSink

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = ROOT / "settings.toml"
# Set per test by the test_database fixture when the suite runs on PostgreSQL.
DATABASE_URL: str | None = None


def flow_environment(storage: Path, imap: ImapAccount, smtp: SmtpSink) -> dict[str, str]:
    return {
        "CERS_SETTINGS": str(SETTINGS_FILE),
        "CERS_MAILBOX__HOST": imap.host,
        "CERS_MAILBOX__PORT": str(imap.port),
        "CERS_MAILBOX__USERNAME": imap.username,
        "CERS_MAILBOX__PASSWORD": imap.password,
        "CERS_SMTP__HOST": smtp.host,
        "CERS_SMTP__PORT": str(smtp.port),
        "CERS_STORAGE__PATH": str(storage),
        **database_environment(),
    }


def daemon_environment(storage: Path, imap: ImapAccount, smtp: SmtpSink, **overrides: str) -> dict[str, str]:
    """The environment for a daemon subprocess: this one without CERS_ variables, the flow's, then overrides."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CERS_")}
    return {**clean, **flow_environment(storage, imap, smtp), **overrides}


def database_environment() -> dict[str, str]:
    """CERS_DATABASE__URL for the test's PostgreSQL database when the suite runs on PostgreSQL."""
    return {"CERS_DATABASE__URL": DATABASE_URL} if DATABASE_URL else {}


def flow_settings(storage: Path, imap: ImapAccount, smtp: SmtpSink) -> Settings:
    return load_settings(environ=flow_environment(storage, imap, smtp))


def run_until_idle(runner: Runner, max_passes: int = 5) -> list[PassReport]:
    """Passes until one fetches, processes and sends nothing."""
    reports = []
    for _ in range(max_passes):
        report = runner.run_once()
        reports.append(report)
        if not (report.fetch.fetched or report.process.processed or report.send.sent):
            return reports
    raise AssertionError(f"still busy after {max_passes} passes: {reports[-1]}")


def cli(env: dict[str, str], *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the cers-intake console script with only the given CERS_ variables (and input on its stdin)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CERS_")}
    script = Path(sys.executable).with_name("cers-intake")
    result = subprocess.run([str(script), *args], env={**clean, **env}, capture_output=True, text=True, timeout=120, input=input)
    if check and result.returncode != 0:
        raise AssertionError(f"cers-intake {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content()
