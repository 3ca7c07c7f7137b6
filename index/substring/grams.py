"""Where each character bigram occurs in the haystack text: exact substring search by arrays.

The haystack text (haystack.py) is every record's lower-cased text followed by NUL, as
UTF-8. For each bigram of two characters that are neither whitespace nor NUL, these files keep
the byte offsets where it starts, ascending:

    grams.keys   the bigrams as uint64 keys, sorted: first code point << 21 | second code point
    grams.idx    where each key's offsets start in grams.pos, plus the end (uint64)
    grams.pos    the byte offsets (uint32)

A word of k >= 2 characters starts at offset p exactly when each of its bigrams w[i:i+2]
starts at p + bytes(w[:i]); the bigrams at i = 0, 2, 4, ... and k-2 cover every character,
so they suffice. Starting from the rarest one, each further bigram keeps the offsets where it
is found by binary search in its sorted offsets (numpy, no Python loop per offset): the result
is every occurrence of the word, with no text to check. A phrase (words one space apart: the
text's whitespace is single spaces) is its words' occurrences that follow each other
(haystack.py); it never spans two records or two fields (they are joined by newlines and NUL).
A word of one character has no bigram: the caller scans the text for it. Ingest writes these
files (index/ingest/grams.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

KEYS = "grams.keys"
STARTS = "grams.idx"
POSITIONS = "grams.pos"
FILES = (KEYS, STARTS, POSITIONS)
SHIFT = 21  # code points are below 2**21


def key(pair: str) -> int:
    return ord(pair[0]) << SHIFT | ord(pair[1])


def _load(path: Path, dtype: type) -> np.ndarray:
    """A file of numbers, memory-mapped (an empty file gives an empty array)."""
    if path.stat().st_size == 0:
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r")


class Grams:
    """The bigram offsets of one generation (memory-mapped, read on first use)."""

    def __init__(self, gen_dir: Path) -> None:
        self._dir = gen_dir
        self._keys: np.ndarray | None = None
        self._starts = np.zeros(0, dtype=np.uint64)
        self._positions = np.zeros(0, dtype=np.uint32)

    def _offsets(self, pair: str) -> np.ndarray:
        """The ascending byte offsets where `pair` (two characters) starts."""
        if self._keys is None:
            self._keys = _load(self._dir / KEYS, np.uint64)
            self._starts = _load(self._dir / STARTS, np.uint64)
            self._positions = _load(self._dir / POSITIONS, np.uint32)
        wanted = np.uint64(key(pair))
        at = int(np.searchsorted(self._keys, wanted))
        if at == len(self._keys) or self._keys[at] != wanted:
            return self._positions[:0]
        return self._positions[int(self._starts[at]) : int(self._starts[at + 1])]

    def occurrences(self, word: str) -> np.ndarray | None:
        """The ascending byte offsets where `word` (lower-cased, 2+ characters) starts in the
        haystack text; None for a word of one character (it has no bigram)."""
        if len(word) < 2:
            return None
        ahead = np.cumsum([0, *(len(c.encode("utf-8")) for c in word)])
        picks = {*range(0, len(word) - 1, 2), len(word) - 2}
        found = sorted(
            ((self._offsets(word[i : i + 2]), int(ahead[i])) for i in picks),
            key=lambda item: len(item[0]),
        )
        rarest, shift = found[0]
        starts = rarest[rarest >= shift] - np.uint32(shift)
        for offsets, shift in found[1:]:
            if not len(starts):
                break
            wanted = starts + np.uint32(shift)
            at = np.searchsorted(offsets, wanted)
            at[at == len(offsets)] = 0
            starts = starts[offsets[at] == wanted] if len(offsets) else starts[:0]
        return starts

    def close(self) -> None:
        self._keys = None
        self._starts = np.zeros(0, dtype=np.uint64)
        self._positions = np.zeros(0, dtype=np.uint32)
