"""At least 200 generated hostile PDFs, each read in the sandbox: a typed result or a typed error, never a crash."""

from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path

import pytest
from hostile_pdfs import STILL_A_FORM, hostile_pdfs
from pypdf import PdfWriter

from core.errors import FormError
from demo.forms import fill_form, sample_values
from parsers import sandbox
from parsers.errors import LimitExceeded, ParserFault
from parsers.form import Bsf831Form, NotAForm
from parsers.sandbox import NICENESS, SPOOL_BYTES, Limits, parse_sandboxed

LIMITS = Limits(timeout_seconds=10, cpu_seconds=5, memory_mb=512, max_pages=50)


def one_helper_that_read_a_form() -> sandbox._Helper:
    """The sandbox stopped and asked for one form: the one helper it started to read it."""
    from pdf_fixtures import fixture

    sandbox.stop_helper()
    assert isinstance(parse_sandboxed(fixture("acroform"), LIMITS), Bsf831Form)
    (helper,) = sandbox.running_helpers()
    return helper


def test_a_helper_and_its_reader_run_at_a_lower_priority_than_the_daemon() -> None:
    helper = one_helper_that_read_a_form()
    pid = helper.process.pid
    readers = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    assert readers, "the helper keeps its reader between PDFs"
    expected = min(os.getpriority(os.PRIO_PROCESS, 0) + NICENESS, 19)
    assert {os.getpriority(os.PRIO_PROCESS, p) for p in [pid, *readers]} == {expected}


def test_hostile_pdfs_cost_one_item_each() -> None:
    outcomes: dict[str, str] = {}
    started = time.monotonic()
    for name, data, family in hostile_pdfs():
        try:
            result = parse_sandboxed(data, LIMITS)
            outcomes[name] = type(result).__name__
            assert isinstance(result, Bsf831Form | NotAForm), name
            if family in STILL_A_FORM:  # scripts and attachments are ignored, never run or extracted
                assert isinstance(result, Bsf831Form) and result.exporter_business_number == "123456782RM0001", name
        except ParserFault as exc:
            raise AssertionError(f"{name}: the reader failed in an unexpected way: {exc}") from exc
        except FormError as exc:
            outcomes[name] = type(exc).__name__
    assert len(outcomes) >= 200
    assert time.monotonic() - started < 60
    assert outcomes["kids_repeat_5000"] == LimitExceeded.__name__
    assert outcomes["truncated_16_of_32"] in ("DamagedPdf", "Bsf831Form", "NotAForm")


def test_a_parse_past_the_wall_clock_limit_is_a_limit_breach() -> None:
    data = next(d for name, d, _ in hostile_pdfs() if name == "content_bomb_128mb")
    started = time.monotonic()
    try:
        parse_sandboxed(data, Limits(timeout_seconds=0.05, cpu_seconds=5, memory_mb=512))
    except LimitExceeded as exc:
        assert "longer than 0.05 seconds" in str(exc)
    else:
        raise AssertionError("no limit breached")
    assert time.monotonic() - started < 5


def test_a_child_over_its_memory_limit_is_a_limit_breach() -> None:
    try:
        data = next(d for name, d, _ in hostile_pdfs() if name == "content_bomb_48mb")
        parse_sandboxed(data, Limits(memory_mb=96))
    except LimitExceeded as exc:
        assert "MB" in str(exc)
    else:
        raise AssertionError("no limit breached")


def test_a_dead_helper_is_started_again() -> None:
    from pdf_fixtures import fixture

    helper = one_helper_that_read_a_form()
    helper.process.kill()
    helper.process.wait()
    assert isinstance(parse_sandboxed(fixture("acroform"), LIMITS), Bsf831Form)
    assert sandbox.running_helpers() and helper not in sandbox.running_helpers()


def test_pdfs_read_one_after_another_use_one_helper() -> None:
    from pdf_fixtures import fixture

    sandbox.stop_helper()
    for _ in range(3):
        assert isinstance(parse_sandboxed(fixture("acroform"), LIMITS), Bsf831Form)
    assert len(sandbox.running_helpers()) == 1


def test_a_pdf_asked_while_another_is_being_read_is_read_by_a_second_helper() -> None:
    """The helper reading the first PDF is stopped (SIGSTOP) until the second PDF has its answer."""
    import signal
    from concurrent.futures import ThreadPoolExecutor

    from pdf_fixtures import fixture

    first = one_helper_that_read_a_form()
    os.kill(first.process.pid, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            held = pool.submit(parse_sandboxed, fixture("acroform"), LIMITS)
            while sandbox._free_slots.qsize() == sandbox.HELPERS:  # until the thread holds the stopped helper
                time.sleep(0.005)
            assert isinstance(parse_sandboxed(fixture("french"), LIMITS), Bsf831Form)
            assert not held.done()
            assert len(sandbox.running_helpers()) == 2
            os.kill(first.process.pid, signal.SIGCONT)
            assert isinstance(held.result(timeout=30), Bsf831Form)
    finally:
        if first.alive():
            os.kill(first.process.pid, signal.SIGCONT)


@pytest.mark.parametrize("request_bytes", [1_000, 3 * 1024 * 1024], ids=["answer_late", "request_not_read"])
def test_a_helper_that_stops_answering_is_stopped_at_the_deadline(request_bytes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stopped helper (SIGSTOP) neither reads a large request nor answers a small one: the exchange ends at its
    deadline with LimitExceeded, the helper is killed, and the next PDF gets a new one."""
    import signal

    from pdf_fixtures import fixture

    helper = one_helper_that_read_a_form()
    os.kill(helper.process.pid, signal.SIGSTOP)
    monkeypatch.setattr(sandbox, "GRACE_SECONDS", 0.2)
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match=r"took longer than 0\.3 seconds"):
        helper.ask((b"%PDF-1.4 " + b"x" * request_bytes, LIMITS), 0.5)
    assert 0.5 <= time.monotonic() - started < 3
    assert not helper.alive() and helper.process.returncode == -signal.SIGKILL
    assert isinstance(parse_sandboxed(fixture("acroform"), LIMITS), Bsf831Form)
    assert helper not in sandbox.running_helpers()


def test_a_helper_gone_before_it_is_asked_is_a_parser_fault() -> None:
    from pdf_fixtures import fixture

    helper = one_helper_that_read_a_form()
    helper.process.kill()
    helper.process.wait()
    with pytest.raises(ParserFault, match="sandbox failed"):
        helper.ask((fixture("acroform"), LIMITS), 10)
    assert isinstance(parse_sandboxed(fixture("acroform"), LIMITS), Bsf831Form)


def test_a_verdict_does_not_depend_on_the_pdfs_read_before_it() -> None:
    """Readers serve several PDFs: a form read after breaches reads as it does on its own."""
    from pdf_fixtures import fixture

    limits = Limits(timeout_seconds=10, cpu_seconds=5, memory_mb=96)
    alone = parse_sandboxed(fixture("acroform"), limits)
    bomb = next(d for name, d, _ in hostile_pdfs() if name == "content_bomb_48mb")
    for _ in range(2):
        try:
            parse_sandboxed(bomb, limits)
        except LimitExceeded:
            pass
        else:
            raise AssertionError("no limit breached")
        after = parse_sandboxed(fixture("acroform"), limits)
        assert isinstance(after, Bsf831Form) and after.values == alone.values  # type: ignore[union-attr]


def test_a_large_pdf_reaches_the_reader_as_a_file_and_reads_as_the_same_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over SPOOL_BYTES a PDF is spooled to a file the reader reads: the same fields, and no file left behind."""
    form = fill_form(sample_values("valid"))
    writer = PdfWriter(clone_from=io.BytesIO(form))
    writer.add_attachment("survey.bin", os.urandom(SPOOL_BYTES))
    buffer = io.BytesIO()
    writer.write(buffer)
    large = buffer.getvalue()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    small, spooled = parse_sandboxed(form, Limits()), parse_sandboxed(large, Limits())
    assert isinstance(small, Bsf831Form) and isinstance(spooled, Bsf831Form)
    assert len(large) > SPOOL_BYTES and spooled.values == small.values
    assert list(tmp_path.iterdir()) == []
