"""What the benchmarks share: daemon settings for a test account, and filling a Dovecot Maildir directly."""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from imapclient import IMAPClient

from core.log import configure_logging
from core.settings import Settings, load_settings
from demo.mailservers import SmtpSink

ROOT = Path(__file__).resolve().parent.parent


def settings_env(account, smtp_port: int, storage: Path, **settings: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The CERS_ variables of a daemon on this account; keywords are SECTION__KEY, e.g. outbox__batch_size."""
    env = {
        "CERS_MAILBOX__HOST": account.host,
        "CERS_MAILBOX__PORT": str(account.port),
        "CERS_MAILBOX__USERNAME": account.username,
        "CERS_MAILBOX__PASSWORD": account.password,
        "CERS_SMTP__PORT": str(smtp_port),
        "CERS_STORAGE__PATH": str(storage),
        "CERS_SETTINGS": str(ROOT / "settings.toml"),
        "CERS_LOGGING__LEVEL": "warning",
    }
    env.update({f"CERS_{key.upper()}": value for key, value in settings.items()})
    return env


def settings_for(account, sink: SmtpSink, storage: Path, **mailbox: str) -> Settings:  # type: ignore[no-untyped-def]
    env = settings_env(account, sink.port, storage, **{f"mailbox__{key}": value for key, value in mailbox.items()})
    settings = load_settings(environ=env)
    configure_logging(settings.logging)
    return settings


def fill_maildir(account, messages: Iterable[bytes | Path]) -> None:  # type: ignore[no-untyped-def]
    """Drop messages straight into the account's Maildir (as delivery would), owned by Dovecot's user.

    A Path is hard-linked rather than copied: Dovecot never rewrites a Maildir file, so accounts can
    share one. Ends with a SELECT, so Dovecot has indexed the folder before anything is measured.
    """
    with IMAPClient(account.host, account.port, ssl=False) as client:
        client.login(account.username, account.password)
        client.select_folder("INBOX")  # Dovecot creates the Maildir, owned by its user
    new = account.maildir / "new"
    new.mkdir(parents=True, exist_ok=True)
    for n, message in enumerate(messages):
        path = new / f"{1700000000 + n}.M{n}P1.bench"
        if isinstance(message, Path):
            os.link(message, path)
        else:
            path.write_bytes(message)
        if os.geteuid() == 0:
            shutil.chown(path, "nobody", "nogroup")
    with IMAPClient(account.host, account.port, ssl=False) as client:
        client.login(account.username, account.password)
        client.select_folder("INBOX")


def timed(function: Callable[[], object], rounds: int) -> tuple[float, float]:
    """(p50, p95) in milliseconds over rounds calls, after one warm-up."""
    function()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]
