"""UIDs written as IMAP sequence sets: consecutive ones as a range, so that a command naming thousands stays short."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import groupby

# RFC 7162 (section 4) asks clients to keep a command line under 8,192 octets; a set stays well inside that.
UID_SET_CHARS = 4000


def uid_set(uids: Iterable[int]) -> str:
    """The UIDs as one sequence set, in ascending order: [7, 1, 2, 3] is "1:3,7"."""
    return ",".join(_range(start, end) for start, end in _runs(uids))


def uid_chunks(uids: Iterable[int], most: int, chars: int = UID_SET_CHARS) -> Iterator[list[int]]:
    """The UIDs in ascending order, in chunks of at most `most` UIDs whose uid_set is at most `chars` long."""
    chunk: list[int] = []
    length = 0
    for start, end in _runs(uids):
        while start <= end:
            stop = min(end, start + most - len(chunk) - 1)
            piece = len(_range(start, stop)) + (1 if chunk else 0)  # with its comma
            if chunk and length + piece > chars:
                yield chunk
                chunk, length = [], 0
                continue
            chunk.extend(range(start, stop + 1))
            length += piece
            start = stop + 1
            if len(chunk) == most:
                yield chunk
                chunk, length = [], 0
    if chunk:
        yield chunk


def _range(start: int, end: int) -> str:
    return f"{start}:{end}" if end > start else str(start)


def _runs(uids: Iterable[int]) -> Iterator[tuple[int, int]]:
    """Each run of consecutive UIDs as (first, last), in ascending order, duplicates ignored."""
    # in a run, a UID minus its position in the sorted list is the same number
    for _, run in groupby(enumerate(sorted(set(uids))), key=lambda pair: pair[1] - pair[0]):
        members = [uid for _, uid in run]
        yield members[0], members[-1]
