"""Sets of record numbers as ascending numpy arrays of distinct values, and their set algebra.

numpy's own intersect1d / union1d / setdiff1d sort their inputs again; these arrays are sorted
already, so membership is a binary search of the smaller in the larger and a union is a merge.
"""

from __future__ import annotations

from functools import reduce
from typing import TypeAlias

import numpy as np

Records: TypeAlias = np.ndarray  # int64, ascending, distinct
NONE: Records = np.zeros(0, dtype=np.int64)


def distinct(ascending: np.ndarray) -> np.ndarray:
    """The distinct values of an ascending array."""
    if len(ascending) < 2:
        return ascending
    return ascending[np.concatenate(([True], ascending[1:] != ascending[:-1]))]


def member(values: np.ndarray, records: Records) -> np.ndarray:
    """For each of `values`, whether it is in `records`."""
    if not len(records):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(records, values)
    at[at == len(records)] = 0
    return records[at] == values


def both(a: Records, b: Records) -> Records:
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return small[member(small, large)]


def either(a: Records, b: Records) -> Records:
    if not len(a) or not len(b):
        return a if len(a) else b
    return distinct(np.sort(np.concatenate((a, b)), kind="stable"))  # a merge of two runs


def minus(a: Records, b: Records) -> Records:
    return a[~member(a, b)] if len(a) and len(b) else a


def all_of(sets: list[Records]) -> Records:
    return reduce(both, sets)


def any_of(sets: list[Records]) -> Records:
    return reduce(either, sets)


# The same sets as Python integers, bit r standing for record r: a query combines a few words'
# sets with a dozen and/or/not steps, one C operation each, where the arrays take several numpy
# calls each (for 100,000 records an integer is 12.5 kB, its operations microseconds).
Bits: TypeAlias = int


def to_bits(records: Records) -> Bits:
    if not len(records):
        return 0
    mask = np.zeros(int(records[-1]) + 1, dtype=bool)
    mask[records] = True
    return int.from_bytes(np.packbits(mask, bitorder="little").tobytes(), "little")


def from_bits(bits: Bits) -> Records:
    if not bits:
        return NONE
    raw = np.frombuffer(bits.to_bytes((bits.bit_length() + 7) // 8, "little"), dtype=np.uint8)
    return np.flatnonzero(np.unpackbits(raw, bitorder="little")).astype(np.int64, copy=False)
