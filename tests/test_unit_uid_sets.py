"""UIDs as IMAP sequence sets: ranges for runs, and chunks whose set stays short however scattered the UIDs are."""

from __future__ import annotations

import pytest

from intake.uid_sets import uid_chunks, uid_set

pytestmark = pytest.mark.unit


def test_runs_are_ranges_in_ascending_order() -> None:
    assert uid_set([7, 1, 2, 3, 9, 10, 3]) == "1:3,7,9:10"
    assert uid_set([42]) == "42"
    assert uid_set([]) == ""


def test_a_run_longer_than_a_chunk_is_split_at_the_chunk_size() -> None:
    chunks = list(uid_chunks(range(1, 5001), most=2000))
    assert [(chunk[0], chunk[-1], len(chunk)) for chunk in chunks] == [(1, 2000, 2000), (2001, 4000, 2000), (4001, 5000, 1000)]
    assert [uid_set(chunk) for chunk in chunks] == ["1:2000", "2001:4000", "4001:5000"]


@pytest.mark.parametrize("chars", [20, 100, 4000])
def test_scattered_uids_make_more_chunks_each_set_within_the_limit(chars: int) -> None:
    uids = list(range(100_000, 140_000, 2))  # every other UID: no run at all
    chunks = list(uid_chunks(uids, most=2000, chars=chars))
    assert [uid for chunk in chunks for uid in chunk] == uids
    assert all(len(uid_set(chunk)) <= chars and len(chunk) <= 2000 for chunk in chunks)
    assert len(chunks) > len(uids) // 2000  # the characters, not the count, ended most chunks


def test_runs_and_single_uids_mixed_are_all_kept_once() -> None:
    uids = [5, 1, 2, 3, 4, 100, 101, 7, 7, 300, *range(1000, 1600)]
    chunks = list(uid_chunks(uids, most=250, chars=30))
    assert [uid for chunk in chunks for uid in chunk] == sorted(set(uids))
    assert all(len(uid_set(chunk)) <= 30 and len(chunk) <= 250 for chunk in chunks)
