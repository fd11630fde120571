"""The daemon's own CPU for one PDF read in the sandbox, next to the bare exchange of the same bytes with the helper.

Run: .venv/bin/python bench/sandbox_ask_bench.py [--rounds N] [--pdf FILE]
Both send a filled BSF831 to the same sandbox helper and read its answer. The figure is parse_sandboxed, with
its deadline on the exchange; the baseline is write_message and read_message on the helper's pipes, blocking and
with no deadline. Only this process's CPU is counted (user + system, getrusage): the helper's reading is the same
for both, and runs on another core.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from demo.forms import fill_form, sample_values
from parsers import sandbox
from parsers.form import Bsf831Form
from parsers.sandbox import Limits, parse_sandboxed


def cpu_and_switches() -> tuple[float, int]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_nvcsw


def per_call(function: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median microseconds of this process's CPU per call over rounds batches of 20 calls, and voluntary context
    switches per call."""
    function()
    times, switches = [], []
    for _ in range(rounds):
        cpu, switched = cpu_and_switches()
        for _ in range(20):
            function()
        cpu_after, switched_after = cpu_and_switches()
        times.append((cpu_after - cpu) / 20)
        switches.append((switched_after - switched) / 20)
    return statistics.median(times) * 1e6, statistics.median(switches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--pdf", type=Path, help="a PDF to read instead of a filled BSF831")
    args = parser.parse_args()
    pdf = args.pdf.read_bytes() if args.pdf else fill_form(sample_values("valid"))
    limits = Limits()
    if not isinstance(parse_sandboxed(pdf, limits), Bsf831Form) and not args.pdf:
        raise SystemExit("the filled BSF831 did not read as one")
    slot = sandbox._free_slots.get()
    helper = slot.helper()
    requests, answers = helper.process.stdin, helper.process.stdout
    assert requests is not None and answers is not None

    def bare() -> object:
        was_blocking = os.get_blocking(requests.fileno())
        os.set_blocking(requests.fileno(), True)
        try:
            sandbox.write_message(requests, (pdf, limits))
            return sandbox.read_message(answers)
        finally:
            os.set_blocking(requests.fileno(), was_blocking)

    sandbox._free_slots.put(slot)
    rounds = []
    for _ in range(3):  # alternated, so that the machine's drift falls on both
        rounds.append((per_call(lambda: parse_sandboxed(pdf, limits), args.rounds), per_call(bare, args.rounds)))
    (ask, ask_switches), (base, base_switches) = sorted(rounds, key=lambda pair: pair[0][0] / pair[1][0])[1]
    print(f"{'figure':<60}{'value':>10}  {'baseline (same run)':<34}{'ratio':>6}")
    figure, baseline = "daemon CPU per PDF read (parse_sandboxed, with its deadline)", f"bare exchange {base:.0f} µs"
    print(f"{figure:<60}{ask:>7.0f} µs  {baseline:<34}{ask / base:>6.2f}")
    print(f"{'voluntary context switches per PDF':<60}{ask_switches:>10.1f}  {f'bare exchange {base_switches:.1f}':<34}")
    print(f"PDF: {len(pdf)} bytes; the median pair of three alternated, {args.rounds} batches of 20 each")


if __name__ == "__main__":
    main()
