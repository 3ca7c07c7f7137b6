"""The set algebra of sorted record arrays (and of their bits) agrees with Python's sets."""

from __future__ import annotations

import random

import numpy as np

from index.substring.records import (
    all_of,
    any_of,
    both,
    distinct,
    either,
    from_bits,
    member,
    minus,
    to_bits,
)


def records(rng: random.Random, size: int) -> np.ndarray:
    return np.array(sorted(rng.sample(range(60), size)), dtype=np.int64)


def test_set_operations_match_python_sets() -> None:
    rng = random.Random(3)
    for _ in range(300):
        a, b, c = (records(rng, rng.randint(0, 30)) for _ in range(3))
        sa, sb, sc = set(a.tolist()), set(b.tolist()), set(c.tolist())
        assert both(a, b).tolist() == sorted(sa & sb)
        assert either(a, b).tolist() == sorted(sa | sb)
        assert minus(a, b).tolist() == sorted(sa - sb)
        assert all_of([a, b, c]).tolist() == sorted(sa & sb & sc)
        assert any_of([a, b, c]).tolist() == sorted(sa | sb | sc)
        assert member(a, b).tolist() == [x in sb for x in a.tolist()]


def test_distinct_keeps_one_of_each_run() -> None:
    assert distinct(np.array([1, 1, 2, 5, 5, 5, 9])).tolist() == [1, 2, 5, 9]
    assert distinct(np.array([], dtype=np.int64)).tolist() == []


def test_record_sets_as_bits_come_back_the_same_and_combine_as_sets() -> None:
    rng = random.Random(5)
    for _ in range(300):
        a, b = (records(rng, rng.randint(0, 30)) for _ in range(2))
        assert from_bits(to_bits(a)).tolist() == a.tolist()
        assert from_bits(to_bits(a)).dtype == np.int64
        assert from_bits(to_bits(a) & ~to_bits(b)).tolist() == minus(a, b).tolist()
        assert from_bits(to_bits(a) | to_bits(b)).tolist() == either(a, b).tolist()
    large = np.array([0, 7, 8, 99_999], dtype=np.int64)  # an archive of 100,000 entries
    assert from_bits(to_bits(large)).tolist() == [0, 7, 8, 99_999]
