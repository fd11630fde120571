"""Embedded local mail servers: a pymap IMAP server and an aiosmtpd SMTP sink."""

from __future__ import annotations

import asyncio
import mailbox
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pysasl.hashing import BuiltinHash

__all__ = ["PymapServer", "SentMessage", "SmtpSink", "free_port", "port_open", "wait_for_port"]

LOCALHOST = "127.0.0.1"

SentMessage = tuple[str, list[str], bytes]


def free_port(host: str = LOCALHOST) -> int:
    """Return a TCP port on *host* that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until host:port accepts connections; raise if *proc* exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"exited with status {proc.returncode}")
        if port_open(host, port):
            return
        time.sleep(0.02)
    raise TimeoutError(f"not listening on {host}:{port} after {timeout:g} s")


def _pymap_command() -> list[str]:
    script = Path(sys.executable).with_name("pymap")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from pymap.main import main; main()"]


class PymapServer:
    """A pymap IMAP server (maildir backend) on loopback, run as a subprocess.

    Each login verifies a PBKDF2 hash; *hash_rounds* (pysasl's default when None,
    about 0.25 s a login) can be lowered where speed matters more than secrecy.
    """

    start_timeout = 10.0

    def __init__(
        self,
        base_dir: Path,
        port: int = 0,
        username: str = "intake",
        password: str = "intake",
        hash_rounds: int | None = None,
    ) -> None:
        self.base_dir = Path(base_dir)
        self.host = LOCALHOST
        self.port = port
        self.username = username
        self.password = password
        self._hash = BuiltinHash() if hash_rounds is None else BuiltinHash(rounds=hash_rounds)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    @property
    def maildir(self) -> Path:
        """The default user's Maildir: INBOX, with folders as `.Name` inside it."""
        return self.maildir_of(self.username)

    def maildir_of(self, username: str) -> Path:
        return self.base_dir / "mail" / username

    def add_user(self, username: str, password: str) -> None:
        """Create or replace a user; takes effect on the next login, also while running."""
        passwd = self.base_dir / "pymap-etc-passwd"
        shadow = self.base_dir / "pymap-etc-shadow"
        users = _read_records(passwd)
        hashes = _read_records(shadow)
        users[username] = f"{username}:x::::mail/{username}:"
        hashes[username] = f"{username}:{self._hash.hash(password)}:::::::"
        maildir = self.maildir_of(username)
        if not maildir.exists():
            maildir.parent.mkdir(parents=True, exist_ok=True)
            mailbox.Maildir(maildir, create=True)
        _write_records(passwd, users)
        _write_records(shadow, hashes)

    def start(self) -> Self:
        """Write the user files and launch pymap; return once it accepts connections."""
        if self._proc is not None:
            return self
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.add_user(self.username, self.password)
        if self.port == 0:
            self.port = free_port(self.host)
        elif port_open(self.host, self.port):
            raise RuntimeError(f"cannot start pymap: {self.host}:{self.port} is already in use")
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - open for the server's lifetime; closed in stop()
        cmd = [*_pymap_command(), "--host", self.host, "--port", str(self.port), "--no-tls", "maildir", str(self.base_dir)]
        env = {**os.environ, "FQDN": "localhost"}
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env=env,
        )
        try:
            wait_for_port(self.host, self.port, self.start_timeout, self._proc)
        except (RuntimeError, TimeoutError) as exc:
            stderr = self._read_stderr()
            self.stop()
            raise RuntimeError(
                f"pymap failed to start on {self.host}:{self.port}: {exc}\ncommand: {' '.join(cmd)}\nstderr:\n{stderr}"
            ) from None
        return self

    def stop(self) -> None:
        """Terminate pymap (SIGTERM, then SIGKILL after 5 s)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def restart(self) -> Self:
        """Stop and start again on the same port, keeping users and mail."""
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _read_stderr(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _read_records(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    lines = path.read_text().splitlines()
    return {line.split(":", 1)[0]: line for line in lines if line.strip()}


def _write_records(path: Path, records: dict[str, str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in records.values()))
    os.replace(tmp, path)


class _SinkHandler:
    """aiosmtpd handler that hands every accepted message to its SmtpSink."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() in self.sink.reject_rcpt:
            return "550 5.1.1 Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        self.sink._store((envelope.mail_from or "", list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"


class _Controller(Controller):
    """Controller that also works with port 0 (learns the bound port before its self-test)."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            self.port = cast(asyncio.Server, self.server).sockets[0].getsockname()[1]  # loop.create_server's Server
        super()._trigger_server()


class SmtpSink:
    """An SMTP server on loopback that accepts everything and keeps it (and optionally files it)."""

    def __init__(
        self,
        maildir: Path | None = None,
        port: int = 0,
        reject_rcpt: set[str] | None = None,
        host: str = LOCALHOST,
    ) -> None:
        self.host = host
        self.port = port
        self.maildir = Path(maildir) if maildir is not None else None
        self.reject_rcpt = {a.lower() for a in reject_rcpt or ()}
        self.messages: list[SentMessage] = []
        self._cond = threading.Condition()
        self._controller: _Controller | None = None

    def start(self) -> Self:
        """Start listening; with port 0 a free port is chosen and stored in `.port`."""
        if self._controller is not None:
            return self
        if self.maildir is not None:
            mailbox.Maildir(self.maildir, create=True)
        controller = _Controller(
            _SinkHandler(self),
            hostname=self.host,
            port=self.port,
            enable_SMTPUTF8=True,
            ready_timeout=10,
        )
        controller.start()
        self._controller = controller
        self.port = controller.port
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def _store(self, message: SentMessage) -> None:
        with self._cond:
            if self.maildir is not None:
                mailbox.Maildir(self.maildir, create=True).add(message[2])
            self.messages.append(message)
            self._cond.notify_all()

    def clear(self) -> None:
        """Forget the messages kept in memory (files in the Maildir stay)."""
        with self._cond:
            self.messages.clear()

    def wait_for(self, count: int, timeout: float = 10) -> list[SentMessage]:
        """Wait until at least *count* messages arrived and return them all."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"SMTP sink got {len(self.messages)} message(s), expected {count} within {timeout:g} s")
            return list(self.messages)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
