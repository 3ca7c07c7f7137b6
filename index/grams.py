"""Where each character bigram occurs in the haystack text: exact substring search by arrays.

The haystack text (index/haystack.py) is every record's lower-cased text followed by NUL, as
UTF-8. For each bigram of two characters that are neither whitespace nor NUL, these files keep
the byte offsets where it starts, ascending:

    grams.keys   the bigrams as uint64 keys, sorted: first code point << 21 | second code point
    grams.idx    where each key's offsets start in grams.pos, plus the end (uint64)
    grams.pos    the byte offsets (uint32)

A word of k >= 2 characters starts at offset p exactly when each of its bigrams w[i:i+2]
starts at p + bytes(w[:i]); the bigrams at i = 0, 2, 4, ... and k-2 cover every character,
so they suffice. Starting from the rarest one, each further bigram keeps the offsets where it
is found by binary search in its sorted offsets (numpy, no Python loop per offset): the result
is every occurrence of the word, with no text to check. A query word is split at whitespace,
so it never spans two records or two fields (they are joined by newlines). A word of one
character has no bigram: the caller scans the text for it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.errors import ArchiveError

KEYS = "grams.keys"
STARTS = "grams.idx"
POSITIONS = "grams.pos"
SHIFT = 21  # code points are below 2**21
MAX_BYTES = 2**32 - 1  # offsets are uint32
_BREAKS = np.array([0, *(c for c in range(0x3001) if chr(c).isspace())], dtype=np.uint32)


def key(pair: str) -> int:
    return ord(pair[0]) << SHIFT | ord(pair[1])


def write(gen_dir: Path, text: str) -> None:
    """Write the bigram offsets of `text` (the haystack text, decoded) beside it."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    if len(data) > MAX_BYTES:
        raise ArchiveError("the archive's text is over 4 GB, too large for one index: split it")
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    offsets = np.flatnonzero((data & 0xC0) != 0x80)  # where each character starts
    kept = ~np.isin(points, _BREAKS)
    starts = np.flatnonzero(kept[:-1] & kept[1:])  # bigrams, by the index of their first char
    codes, order, key_of = _sorted_pairs(points, starts)
    first = np.flatnonzero(np.diff(codes)) + 1
    first = np.concatenate(([0], first)) if len(codes) else first
    key_of(codes[first]).astype(np.uint64).tofile(gen_dir / KEYS)
    np.append(first, len(codes)).astype(np.uint64).tofile(gen_dir / STARTS)
    offsets[order].astype(np.uint32).tofile(gen_dir / POSITIONS)


def _sorted_pairs(
    points: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """The bigrams at `starts` as sortable codes, sorted; the char index of each (ascending
    among equal codes); and what turns codes into keys. The code is usually the pair's rank
    among the characters used, so that code and index fit one 64-bit number and one sort does;
    with more than 46,340 distinct characters, the code is the key, sorted by a stable argsort."""
    used = np.zeros(0x110000, dtype=bool)
    used[points] = True
    chars = np.flatnonzero(used).astype(np.uint64)
    if len(chars) > 46_340:  # the pair's rank needs more than 31 bits
        keys = points[starts].astype(np.uint64) << np.uint64(SHIFT) | points[starts + 1]
        order = np.argsort(keys, kind="stable")
        return keys[order], starts[order], lambda codes: codes
    size = len(chars)
    rank = np.cumsum(used, dtype=np.int64) - 1
    combined = (rank[points[starts]] * size + rank[points[starts + 1]]) << 32 | starts
    combined.sort()  # the index is below 2**32 (the text is below 4 GB)

    def key_of(codes: np.ndarray) -> np.ndarray:
        return chars[codes // size] << np.uint64(SHIFT) | chars[codes % size]

    return combined >> 32, combined & 0xFFFFFFFF, key_of


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
