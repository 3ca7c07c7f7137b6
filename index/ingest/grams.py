"""Writing the bigram offsets of the haystack text (the format: index/substring/grams.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.errors import ArchiveError
from index.substring.grams import KEYS, POSITIONS, SHIFT, STARTS

MAX_BYTES = 2**32 - 1  # offsets are uint32
CHUNK = 1 << 22  # bigrams coded at a time
_BREAKS = np.array([0, *(c for c in range(0x3001) if chr(c).isspace())], dtype=np.uint32)


def write_grams(gen_dir: Path, text: str) -> None:
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
