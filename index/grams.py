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
FILES = (KEYS, STARTS, POSITIONS)
SHIFT = 21  # code points are below 2**21
MAX_BYTES = 2**32 - 1  # offsets are uint32
CHUNK = 1 << 22  # bigrams coded at a time
_BREAKS = np.array([0, *(c for c in range(0x3001) if chr(c).isspace())], dtype=np.uint32)


def key(pair: str) -> int:
    return ord(pair[0]) << SHIFT | ord(pair[1])


def write(gen_dir: Path, text: str) -> None:
    """Write the bigram offsets of `text` (the haystack text, decoded) beside it.

    Usually one sort of 64-bit numbers does it: the pair's rank among the characters used, then
    the index of its first character; with more than 46,340 distinct characters the rank needs
    over 31 bits, and a stable argsort of the keys does. Arrays are 32-bit where they can be,
    made a piece at a time and dropped once used: at 100,000 entries the text has 40 million
    characters, and a 64-bit array of them takes 320 MB."""
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    offsets = _offsets(points)
    kept = ~np.isin(points, _BREAKS)
    starts = _indices(kept[:-1] & kept[1:])  # the bigrams, by the index of their first char
    del kept
    used = np.zeros(0x110000, dtype=bool)
    used[points] = True
    chars = np.flatnonzero(used).astype(np.uint64)
    if len(chars) > 46_340:
        codes = points[starts].astype(np.uint64) << np.uint64(SHIFT) | points[starts + 1]
        order = np.argsort(codes, kind="stable")
        codes, order = codes[order], starts[order]
        keys_of: Callable[[np.ndarray], np.ndarray] = lambda found: found  # noqa: E731
    else:
        size = len(chars)
        rank = np.cumsum(used, dtype=np.int64) - 1
        codes = np.empty(len(starts), dtype=np.int64)
        for at in range(0, len(starts), CHUNK):
            some = starts[at : at + CHUNK]
            code = rank[points[some]] * size + rank[points[some + 1]]
            codes[at : at + CHUNK] = code << 32 | some  # the index is below 2**32
        del points, starts
        codes.sort()
        order = np.empty(len(codes), dtype=np.uint32)
        for at in range(0, len(codes), CHUNK):
            order[at : at + CHUNK] = codes[at : at + CHUNK] & 0xFFFFFFFF
        codes >>= 32

        def keys_of(found: np.ndarray) -> np.ndarray:
            return chars[found // size] << np.uint64(SHIFT) | chars[found % size]

    first = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    first = np.concatenate(([0], first)) if len(codes) else first
    keys_of(codes[first]).astype(np.uint64).tofile(gen_dir / KEYS)
    np.append(first, len(codes)).astype(np.uint64).tofile(gen_dir / STARTS)
    del codes
    offsets[order].tofile(gen_dir / POSITIONS)


def _offsets(points: np.ndarray) -> np.ndarray:
    """Where each character starts in the UTF-8 text, as uint32."""
    widths = 1 + (points >= 0x80).astype(np.uint8)  # UTF-8 bytes of each character
    widths += points >= 0x800
    widths += points >= 0x10000
    if int(widths.sum(dtype=np.uint64)) > MAX_BYTES:
        raise ArchiveError("the archive's text is over 4 GB, too large for one index: split it")
    offsets = np.zeros(len(points), dtype=np.uint32)
    np.cumsum(widths[:-1], dtype=np.uint32, out=offsets[1:])
    return offsets


def _indices(mask: np.ndarray) -> np.ndarray:
    """np.flatnonzero(mask) as uint32, a piece at a time (no 64-bit array of full length)."""
    pieces = [
        np.flatnonzero(mask[at : at + CHUNK]).astype(np.uint32) + np.uint32(at)
        for at in range(0, len(mask), CHUNK)
    ]
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint32)


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
