"""Real IMAP servers for tests: a throwaway loopback Dovecot, plus IMAP helpers."""

from __future__ import annotations

import grp
import itertools
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from imapclient import IMAPClient

from demo.mailservers import PymapServer, free_port, port_open, wait_for_port

DOVECOT_IMAP = Path("/usr/lib/dovecot/imap")


def _dovecot_binary() -> str | None:
    found = shutil.which("dovecot")
    if found:
        return found
    return "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None


def dovecot_missing_reason() -> str | None:
    """Why a test Dovecot cannot run here, or None if it can."""
    if _dovecot_binary() is None:
        return "Debian's dovecot-imapd is not installed (no /usr/sbin/dovecot)"
    if not DOVECOT_IMAP.exists():
        return f"Debian's dovecot-imapd is not installed (no {DOVECOT_IMAP})"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("nobody")
            grp.getgrnam("nogroup")
        except KeyError:
            return "Dovecot as root needs the user nobody and the group nogroup"
    return None


def _make_traversable(path: Path) -> None:
    """Give others search permission on *path* and every parent (Dovecot's users need it)."""
    for part in [path, *path.parents]:
        mode = part.stat().st_mode
        if not mode & stat.S_IXOTH:
            part.chmod(stat.S_IMODE(mode) | 0o755)


_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth_mechanisms}
auth_failure_delay = 0
mail_fsync = never
{user_settings}{oauth_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users/%u
}}
userdb {{
  driver = static
  args = {uid_args}home={dir}/mail/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{{chroot}
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{{chroot}
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


class DovecotServer:
    """A loopback-only Dovecot with its own configuration in a temporary directory."""

    start_timeout = 10.0

    def __init__(
        self,
        base_dir: Path | None = None,
        port: int = 0,
        username: str = "intake",
        password: str = "intakepass",
        oauth2_introspection_url: str | None = None,
    ) -> None:
        self.oauth2_introspection_url = oauth2_introspection_url
        self._own_dir = base_dir is None
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="dovecot-"))
        self.host = "127.0.0.1"
        self.port = port
        self.username = username
        self.password = password
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.base_dir / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "dovecot.log"

    @property
    def maildir(self) -> Path:
        """The Maildir of the default user (exists after its first login)."""
        return self.maildir_of(self.username)

    def maildir_of(self, username: str) -> Path:
        return self.base_dir / "mail" / username / "Maildir"

    def add_user(self, username: str, password: str) -> None:
        """Create or replace a user; a new user can log in at once, also while running."""
        users = self.base_dir / "users"
        users.mkdir(parents=True, exist_ok=True)
        tmp = users / f".{username}.tmp"
        tmp.write_text(f"{username}:{{PLAIN}}{password}\n")
        os.replace(tmp, users / username)

    def _write_config(self) -> None:
        d = self.base_dir
        for sub in ("mail", "run", "state"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            _make_traversable(d)
            shutil.chown(d / "mail", "nobody", "nogroup")
            user_settings, uid_args, chroot = "", "uid=nobody gid=nogroup ", ""
        else:
            user = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            user_settings = (
                f"default_internal_user = {user}\ndefault_internal_group = {group}\ndefault_login_user = {user}\nfirst_valid_uid = 1\n"
            )
            uid_args, chroot = "", "\n  chroot ="
        oauth_mechanisms, oauth_passdb = "", ""
        if self.oauth2_introspection_url:
            (d / "oauth2.conf.ext").write_text(
                "introspection_mode = post\n"
                f"introspection_url = {self.oauth2_introspection_url}\n"
                "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
            )
            oauth_mechanisms = " xoauth2 oauthbearer"
            oauth_passdb = f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {d}/oauth2.conf.ext\n}}\n"
        self.config_path.write_text(
            _CONFIG.format(
                dir=d,
                port=self.port,
                user_settings=user_settings,
                uid_args=uid_args,
                chroot=chroot,
                oauth_mechanisms=oauth_mechanisms,
                oauth_passdb=oauth_passdb,
            )
        )

    def start(self) -> Self:
        """Write the configuration and run Dovecot in the foreground until it listens."""
        if self._proc is not None:
            return self
        reason = dovecot_missing_reason()
        if reason:
            raise RuntimeError(reason)
        if self.port == 0:
            self.port = free_port(self.host)
        elif port_open(self.host, self.port):
            raise RuntimeError(f"cannot start dovecot: {self.host}:{self.port} is already in use")
        self._write_config()
        if not (self.base_dir / "users" / self.username).exists():
            self.add_user(self.username, self.password)
        cmd = [_dovecot_binary() or "dovecot", "-F", "-c", str(self.config_path)]
        stderr_path = self.base_dir / "dovecot.stderr"
        with stderr_path.open("wb") as stderr:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            wait_for_port(self.host, self.port, self.start_timeout, self._proc)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            log = self.log_path.read_text() if self.log_path.exists() else ""
            raise RuntimeError(
                f"dovecot failed to start on {self.host}:{self.port}: {exc}\n"
                f"stderr:\n{stderr_path.read_text(errors='replace')}\nlog:\n{log}"
            ) from None
        return self

    def stop(self) -> None:
        """Stop Dovecot (SIGTERM, then SIGKILL after 5 s); the files stay."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def restart(self) -> Self:
        """Stop and start again on the same port, keeping users and mail."""
        self.stop()
        return self.start()

    def cleanup(self) -> None:
        """Stop and remove the temporary directory if this object created it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()


class ImapServer(Protocol):
    host: str
    port: int
    username: str
    password: str


@dataclass
class ImapAccount:
    """One user, with an empty mailbox, on a running test server."""

    kind: str
    host: str
    port: int
    username: str
    password: str
    maildir: Path
    server: PymapServer | DovecotServer


_account_numbers = itertools.count(1)


def fresh_account(kind: str, server: PymapServer | DovecotServer) -> ImapAccount:
    """Add a new user to *server* and describe it; its mailbox starts empty."""
    username = f"{server.username}-{next(_account_numbers)}"
    server.add_user(username, server.password)
    return ImapAccount(
        kind,
        server.host,
        server.port,
        username,
        server.password,
        server.maildir_of(username),
        server,
    )


def connect(server: ImapServer, timeout: float = 10) -> IMAPClient:
    """An IMAPClient logged in to *server*."""
    client = IMAPClient(server.host, server.port, ssl=False, timeout=timeout)
    client.login(server.username, server.password)
    return client


def imap_append(server: ImapServer, raw: bytes, folder: str = "INBOX") -> int | None:
    """APPEND *raw* to *folder*; return the new UID when the server reports it."""
    with connect(server) as client:
        response = client.append(folder, raw)
    parts = response.split() if isinstance(response, bytes) else []
    if len(parts) >= 3 and parts[0].upper() == b"[APPENDUID":
        return int(parts[2].rstrip(b"]"))
    return None
