"""The runner's passes on a real IMAP server: the lease ends fetching, counts survive a failure, every exit lets the lease go."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flow import cli, flow_environment, flow_settings
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from servers import ImapAccount, connect, imap_append
from sqlalchemy import update
from structlog.testing import capture_logs

from app.runner import Runner
from core.models import MailboxState
from core.settings import Settings
from demo.mailservers import SmtpSink
from demo.samples import plain_email


def small_batches(settings: Settings) -> Settings:
    return settings.model_copy(update={"mailbox": settings.mailbox.model_copy(update={"batch_size": 1})})


class ClientWithHook:
    """A real IMAPClient whose n-th UID SEARCH first runs a hook (another fetcher, a server that fails)."""

    def __init__(self, client: IMAPClient, on_search: dict[int, Callable[[], None]]) -> None:
        self._client, self._on_search, self.searches = client, on_search, 0

    def search(self, *args: Any, **kwargs: Any) -> Any:
        self.searches += 1
        hook = self._on_search.get(self.searches)
        if hook:
            hook()
        return self._client.search(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def append_questions(account: ImapAccount, count: int) -> None:
    for number in range(count):
        imap_append(account, plain_email(sender=f"q{number}@example.ca", subject=f"question {number}", body="hello"))


def test_a_fetcher_that_loses_its_lease_in_a_backlog_stops_fetching(tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    runner = Runner(small_batches(flow_settings(tmp_path / "var", pymap_server, smtp_sink)))
    append_questions(pymap_server, 3)

    def another_fetcher_takes_the_lease() -> None:
        with runner.engine.begin() as connection:
            connection.execute(update(MailboxState).values(lease_holder="elsewhere:1:abc", lease_until=MailboxState.lease_until))

    with connect(pymap_server) as real, capture_logs() as logs:
        report = runner.run_once(ClientWithHook(real, {1: another_fetcher_takes_the_lease}))  # type: ignore[arg-type]
    assert report.fetch.fetched == 1  # the batch fetched under the lease; none after it was lost
    assert report.leased_elsewhere
    assert any(entry["event"].startswith("mailbox lease lost") for entry in logs)


def test_counts_of_earlier_batches_survive_a_mailbox_failure(tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    runner = Runner(small_batches(flow_settings(tmp_path / "var", pymap_server, smtp_sink)))
    append_questions(pymap_server, 2)

    def server_fails() -> None:
        raise IMAPClientError("connection reset")

    with connect(pymap_server) as real:
        report = runner.run_once(ClientWithHook(real, {2: server_fails}))  # type: ignore[arg-type]
    assert report.mailbox_failed and report.errors
    assert (report.fetch.fetched, report.process.processed, report.send.sent) == (1, 1, 1)


def test_run_once_lets_the_lease_go_so_the_next_run_fetches(tmp_path: Path, pymap_server: ImapAccount, smtp_sink: SmtpSink) -> None:
    env = flow_environment(tmp_path / "var", pymap_server, smtp_sink)
    append_questions(pymap_server, 1)
    assert cli(env, "run", "--once").stdout.startswith("fetched 1,")
    append_questions(pymap_server, 1)
    assert cli(env, "run", "--once").stdout.startswith("fetched 1,")  # not "fetched 0": no lease left behind
    runner = Runner(flow_settings(tmp_path / "var", pymap_server, smtp_sink))
    with runner.engine.connect() as connection:
        assert connection.execute(MailboxState.__table__.select()).one().lease_holder is None  # type: ignore[attr-defined]
