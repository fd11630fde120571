"""Raw messages and PDFs on disk, named by the SHA-256 of their bytes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Write-once files under root/ab/abcdef…; writing the same bytes twice is a no-op."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str, suffix: str) -> Path:
        return self.root / digest[:2] / f"{digest}{suffix}"

    def put(self, data: bytes, suffix: str) -> str:
        digest = sha256_hex(data)
        target = self.path(digest, suffix)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
        return digest

    def get(self, digest: str, suffix: str) -> bytes:
        return self.path(digest, suffix).read_bytes()
