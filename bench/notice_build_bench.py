"""The cost of building one notice's MIME, next to the same message built with `email.message.EmailMessage`.

Run: .venv/bin/python bench/notice_build_bench.py [--rounds N]
Both build the same rendered acknowledgment (French first, as the costlier French subject) with the
same headers; the baseline is the standard library's modern API under its default policy. Rendering
the templates is measured apart: it is the same for both.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.enums import NoticeKind
from core.settings import load_settings
from outbox.compose import bilingual_message, notice_headers
from outbox.render import RenderedText, render_bilingual

CONTEXT = {"reference": "CERS-000123", "legal_name": "Érable Exports Inc.", "due_on": "2026-12-04", "findings": [], "filename": "form.pdf"}
THREAD = {"Date": "Sun, 29 Nov 2026 18:38:28 +0000", "Message-ID": "<n1@cbsa-asfc.example>", "In-Reply-To": "<m1@erable.example>"}


def with_email_message(headers: dict[str, str], rendered: RenderedText, language: str) -> bytes:
    message = EmailMessage()
    for name, value in headers.items():
        message[name] = value
    message.set_content(rendered.body, charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    message["Content-Language"] = "fr, en" if language == "fr" else "en, fr"
    return message.as_bytes()


def per_call(function: Callable[[], object], rounds: int) -> float:
    """Median milliseconds per call, over rounds batches of 20 calls (after a warm-up)."""
    function()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(20):
            function()
        times.append((time.perf_counter() - started) / 20)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    settings = load_settings()
    rendered = render_bilingual(NoticeKind.acknowledgment, "fr", CONTEXT, settings.notices)
    headers = notice_headers(settings.smtp, NoticeKind.acknowledgment, "claire.roy@erable.example", rendered.subject) | THREAD
    ours, baseline = bilingual_message(headers, rendered, "fr"), with_email_message(headers, rendered, "fr")
    decoded = [message_from_bytes(raw, policy=policy.default) for raw in (ours, baseline)]
    # EmailMessage ends a part without a final newline with one: the only difference allowed
    bodies = [[part.get_content().rstrip("\n") for part in message.iter_parts()] for message in decoded]
    assert bodies[0] == bodies[1] and decoded[0]["Subject"] == decoded[1]["Subject"], "the two builds must decode alike"
    render = per_call(lambda: render_bilingual(NoticeKind.acknowledgment, "fr", CONTEXT, settings.notices), args.rounds)
    built = per_call(lambda: bilingual_message(headers, rendered, "fr"), args.rounds)
    base = per_call(lambda: with_email_message(headers, rendered, "fr"), args.rounds)
    print(f"{'figure':<58}{'value':>10}  {'baseline (same run)':<32}{'ratio':>6}")
    figure, baseline_text = "building one notice (bilingual_message, compat32's bytes)", f"EmailMessage {base:.3f} ms"
    print(f"{figure:<58}{built:>7.3f} ms  {baseline_text:<32}{built / base:>6.2f}")
    print(f"{'rendering its templates (both languages), for scale':<58}{render:>7.3f} ms")
    print(f"bytes: {len(ours)} (EmailMessage: {len(baseline)}); both decode to the same subject and parts")


if __name__ == "__main__":
    main()
