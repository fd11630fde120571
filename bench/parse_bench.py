"""Parse time per form for each fixture kind, next to a plain pypdf ``get_fields()`` baseline.

Run: .venv/bin/python bench/parse_bench.py [--rounds N]
Both are measured in this run on the same bytes; "sandboxed" adds the child process.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pdf_fixtures import FIXTURES, fixture
from pypdf import PdfReader

from core.errors import FormError
from parsers.read import parse_pdf
from parsers.sandbox import Limits, parse_sandboxed, stop_helper


def per_call(function: Callable[[], object], rounds: int) -> float:
    """Median seconds per call over rounds calls (after one warm-up)."""
    function()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def quietly(function: Callable[[bytes], object], data: bytes) -> Callable[[], object]:
    def run() -> object:
        try:
            return function(data)
        except FormError as exc:
            return exc
        except Exception as exc:  # noqa: BLE001 - the baseline has no typed errors
            return exc

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    limits = Limits()
    print(f"{'kind':<26}{'bytes':>8}{'get_fields ms':>15}{'parse ms':>10}{'ratio':>7}{'sandboxed ms':>14}{'ratio':>7}  result")
    for kind in FIXTURES:
        data = fixture(kind)
        baseline = per_call(quietly(lambda d: PdfReader(io.BytesIO(d)).get_fields(), data), rounds)
        parse = per_call(quietly(parse_pdf, data), rounds)
        sandboxed = per_call(quietly(lambda d: parse_sandboxed(d, limits), data), max(3, rounds // 4))
        outcome = quietly(parse_pdf, data)()
        label = getattr(outcome, "method", None) or getattr(outcome, "kind", None) or type(outcome).__name__
        print(
            f"{kind:<26}{len(data):>8}{baseline * 1000:>15.2f}{parse * 1000:>10.2f}{parse / baseline:>7.1f}"
            f"{sandboxed * 1000:>14.2f}{sandboxed / baseline:>7.1f}  {label}"
        )
    stop_helper()


if __name__ == "__main__":
    main()
