"""A throwaway PostgreSQL cluster on loopback for tests (Debian's postgresql package)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from demo.mailservers import free_port


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: [int(x) for x in Path(p).parts[4].split(".")])
    return Path(found[-1]).parent if found else None


def postgres_missing_reason() -> str | None:
    if _pg_bin() is None:
        return "Debian's postgresql is not installed (no /usr/lib/postgresql/*/bin/initdb)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "PostgreSQL's system user 'postgres' is missing"
    return None


class PostgresCluster:
    """initdb + pg_ctl in a temporary directory, listening on 127.0.0.1 only, trust authentication."""

    def __init__(self) -> None:
        self.base_dir = Path(tempfile.mkdtemp(prefix="cers-pg-"))
        self.port = free_port()
        self.bin = _pg_bin()

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["su", "postgres", "-c", " ".join(f"'{part}'" for part in command)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}\n{result.stderr}")

    def start(self) -> PostgresCluster:
        if os.geteuid() == 0:
            os.chmod(self.base_dir, 0o755)  # noqa: S103 - the postgres user must traverse it
            shutil.chown(self.base_dir, "postgres", "postgres")
        data = self.base_dir / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(data), "-l", str(self.base_dir / "log"), "-w", "-o", options, "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True) as connection:
            connection.execute(sql)  # type: ignore[arg-type]

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.base_dir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)
