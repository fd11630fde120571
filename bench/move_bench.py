"""Moving handled mail out of a large folder on a real Dovecot: MOVE_CHUNK messages a command, against 500.

Run: .venv/bin/python bench/move_bench.py [--messages 10000] [--move 4000]   (as root, Dovecot installed)
Each account's folder is filled with --messages messages; --move of them are then moved to another
folder, by intake.fetcher.move_messages, in chunks of 500 (the baseline) and of MOVE_CHUNK, alternated
on fresh accounts. In a maildir folder each MOVE costs the server a rewrite of the folder's index.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from common import fill_maildir
from servers import DovecotServer, connect, fresh_account

from intake.fetcher import MOVE_CHUNK, move_messages
from intake.uid_sets import uid_chunks

BASELINE_CHUNK = 500


def message(n: int) -> bytes:
    return (f"From: s{n}@example.ca\r\nTo: intake@example.ca\r\nSubject: m{n}\r\nMessage-ID: <m{n}@example.ca>\r\n\r\n").encode() + (
        b"a line of the body\r\n" * 2000
    )


def seconds_to_move(server: DovecotServer, messages: int, move: int, chunk: int) -> float:
    account = fresh_account("dovecot", server)
    fill_maildir(account, (message(n) for n in range(messages)))
    with connect(account) as client:
        client.create_folder("Processed")
        client.select_folder("INBOX")
        uids = client.search("ALL")[:move]
        started = time.perf_counter()
        for part in uid_chunks(uids, chunk):
            move_messages(client, part, "Processed")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--move", type=int, default=4_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    ours, base = [], []
    with DovecotServer(base_dir=Path(tempfile.mkdtemp(prefix="cers-bench-")) / "dovecot") as server:
        for _ in range(args.rounds):
            base.append(seconds_to_move(server, args.messages, args.move, BASELINE_CHUNK))
            ours.append(seconds_to_move(server, args.messages, args.move, MOVE_CHUNK))
    value, baseline = statistics.median(ours), statistics.median(base)
    print(f"{'figure':<70} {'value':>9}  {'baseline (same run)':<28} {'ratio':>5}")
    figure = f"moving {args.move:,} of {args.messages:,} messages, {MOVE_CHUNK:,} a MOVE (median of {args.rounds})"
    print(f"{figure:<70} {value:>8.2f}s  {f'500 a MOVE: {baseline:.2f} s':<28} {value / baseline:>5.2f}")


if __name__ == "__main__":
    main()
