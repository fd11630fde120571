"""Unit tests for intake/fetcher.py logic that needs no server, on imapclient's mock-backed TestableIMAPClient."""

from __future__ import annotations

from unittest.mock import Mock, call

import pytest
from imapclient import testable_imapclient
from imapclient.exceptions import IMAPClientError

from core.errors import MailboxError
from core.settings import MailboxSettings
from intake.fetcher import move_messages, select_inbox

pytestmark = pytest.mark.unit

SETTINGS = MailboxSettings(folder="INBOX", processed_folder="Processed", quarantine_folder="Quarantine")


def client(
    uidvalidity: int = 1234, existing: tuple[str, ...] = (), capabilities: tuple[str, ...] = ()
) -> testable_imapclient.TestableIMAPClient:
    fake = testable_imapclient.TestableIMAPClient()  # module-qualified: pytest would try to collect a Test* name
    fake.select_folder = Mock(return_value={b"UIDVALIDITY": uidvalidity, b"EXISTS": 3})  # type: ignore[method-assign]
    fake.folder_exists = Mock(side_effect=lambda name: name in existing)  # type: ignore[method-assign]
    fake.create_folder = Mock()  # type: ignore[method-assign]
    fake.noop = Mock()  # type: ignore[method-assign]
    fake.has_capability = Mock(side_effect=lambda name: name in capabilities)  # type: ignore[method-assign]
    for name in ("move", "copy", "delete_messages", "uid_expunge", "expunge"):
        setattr(fake, name, Mock())
    return fake


def test_select_inbox_returns_uidvalidity_and_creates_missing_folders() -> None:
    fake = client(uidvalidity=987654321, existing=("Processed",))
    assert select_inbox(fake, SETTINGS) == 987654321
    fake.select_folder.assert_called_once_with("INBOX")
    fake.create_folder.assert_called_once_with("Quarantine")


def test_select_inbox_selects_once_per_connection_then_only_noops() -> None:
    fake = client(uidvalidity=42)
    assert select_inbox(fake, SETTINGS) == 42
    fake.select_folder.return_value = {b"UIDVALIDITY": 43}
    assert select_inbox(fake, SETTINGS) == 42
    assert fake.select_folder.call_count == 1 and fake.noop.call_count == 1
    other = client(uidvalidity=43)  # a new connection selects again and sees the new UIDVALIDITY
    assert select_inbox(other, SETTINGS) == 43


def test_an_empty_quarantine_folder_setting_creates_no_folder() -> None:
    fake = client(existing=("Processed",))
    select_inbox(fake, MailboxSettings(quarantine_folder=""))
    fake.folder_exists.assert_called_once_with("Processed")
    fake.create_folder.assert_not_called()


@pytest.mark.parametrize("error", [IMAPClientError("NO [NONEXISTENT] no such folder"), OSError("connection reset")])
def test_select_errors_become_mailbox_errors_naming_the_folder(error: Exception) -> None:
    fake = client()
    fake.select_folder.side_effect = error
    with pytest.raises(MailboxError, match="cannot open folder 'INBOX'"):
        select_inbox(fake, SETTINGS)
    fake.select_folder.side_effect = None
    assert select_inbox(fake, SETTINGS) == 1234  # a failed select is not remembered


def test_move_uses_move_when_the_server_has_it() -> None:
    fake = client(capabilities=("MOVE",))
    move_messages(fake, [3, 4], "Processed")
    fake.move.assert_called_once_with("3:4", "Processed")
    fake.copy.assert_not_called()
    fake.delete_messages.assert_not_called()


def test_move_without_move_copies_deletes_and_expunges_only_those_uids_with_uidplus() -> None:
    fake = client(capabilities=("UIDPLUS",))
    move_messages(fake, [3, 4], "Processed")
    assert fake.copy.call_args == call("3:4", "Processed")
    fake.delete_messages.assert_called_once_with("3:4")
    fake.uid_expunge.assert_called_once_with("3:4")
    fake.expunge.assert_not_called()


def test_move_without_move_or_uidplus_falls_back_to_expunge() -> None:
    fake = client()
    move_messages(fake, [7], "Quarantine")
    fake.copy.assert_called_once_with("7", "Quarantine")
    fake.expunge.assert_called_once_with()
    fake.uid_expunge.assert_not_called()
