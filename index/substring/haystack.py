"""Exact, case-insensitive substring lookup over every entry: the recall half of a search.

jieba keeps OpenCV4.3 or TengineKit as one word and may cut 量化 out of a sentence differently
from the query, so word matching alone misses entries. Each index generation therefore also
holds the lower-cased text of every record (one per live Whoosh document, in document order):

    haystack.bin   each record's title, source, tags and summary, joined by newlines, UTF-8,
                   each record followed by "\\0"
    grams.*        where each character bigram occurs in haystack.bin (grams.py)

and, in records.json, where each record starts in haystack.bin and where its title ends.

`Haystack.find(word)` gives exactly the records whose text contains the word, and those whose
title does: the word's occurrences come from the bigram offsets, each is placed in its record
by binary search over the records' starts, and it lies in the title when it ends before the
title does (the title comes first). A word of one character has no bigram: then the text is
scanned once, a record at a time. The text and the offsets stay on disk, memory-mapped.
"""

from __future__ import annotations

import mmap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.substring.grams import Grams
from index.substring.records import NONE, Records, distinct

TEXT = "haystack.bin"
SEP = "\x00"
SPACE = 0x20
ENDINGS = (b"s", b"es", b"d", b"ed", b"ing", b"al")  # still the same word: searches, pruned
_LATIN = np.zeros(256, dtype=bool)  # bytes of Latin letters and digits (the text is lower case)
_LATIN[list(b"abcdefghijklmnopqrstuvwxyz0123456789")] = True


def map_file(path: Path) -> mmap.mmap | bytes:
    """A file's bytes, memory-mapped (b"" for an empty file, which cannot be mapped)."""
    with open(path, "rb") as handle:
        if handle.seek(0, 2) == 0:
            return b""
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def unmap(mapped: mmap.mmap | bytes) -> None:
    if isinstance(mapped, mmap.mmap):
        mapped.close()


class Haystack:
    """The records' texts of one generation and their bigram offsets, memory-mapped."""

    def __init__(self, gen_dir: Path, starts: Sequence[int], title_ends: Sequence[int]) -> None:
        self._starts = np.array(starts, dtype=np.int64)  # of each record, plus the end
        self._title_ends = np.array(title_ends, dtype=np.int64)
        self._text = map_file(gen_dir / TEXT)
        self.grams = Grams(gen_dir)

    def close(self) -> None:
        self.grams.close()
        unmap(self._text)

    def find(self, word: str, whole: bool = False) -> tuple[Records, Records]:
        """Records whose title, source, tags or summary contain `word` (any case; several
        words separated by single spaces: a phrase), and those whose title does; both
        ascending. `whole`: only where `word` is not inside a longer Latin word (no letter or
        digit before it; after it none, or an English ending and then none: searches)."""
        lowered = " ".join(word.lower().split())
        needle = lowered.encode("utf-8")
        if not needle or SEP in lowered:
            return NONE, NONE
        found = self._occurrences(lowered)
        at = self._scan(needle) if found is None else found
        if whole:
            at = at[self._whole(at, len(needle))]
        records = np.searchsorted(self._starts, at, side="right") - 1
        in_title = at + len(needle) <= self._title_ends[records]
        return distinct(records), distinct(records[in_title])

    def _occurrences(self, lowered: str) -> np.ndarray | None:
        """Every offset of `lowered` from the bigrams: a phrase is its words one space apart
        (the text's whitespace is single spaces); None when a word has one character."""
        words = lowered.split(" ")
        if any(len(w) < 2 for w in words):
            return None
        first = self.grams.occurrences(words[0])
        starts = np.zeros(0, dtype=np.int64) if first is None else first.astype(np.int64)
        shift = len(words[0].encode("utf-8"))
        for next_word in words[1:]:
            starts = starts[self._bytes(starts + shift) == SPACE]
            offsets = self.grams.occurrences(next_word)
            if offsets is None or not len(offsets) or not len(starts):
                return starts[:0]
            wanted = starts + shift + 1
            at = np.minimum(np.searchsorted(offsets, wanted), len(offsets) - 1)
            starts = starts[offsets[at] == wanted]
            shift += 1 + len(next_word.encode("utf-8"))
        return starts

    def _bytes(self, at: np.ndarray) -> np.ndarray:
        """The text's bytes at offsets `at` (the last byte, a NUL, past the end). The view of
        the mapped text lives only inside this call, so that close() can unmap it."""
        if not len(self._text):
            return np.zeros(len(at), dtype=np.uint8)
        text = np.frombuffer(self._text, dtype=np.uint8)
        return text[np.minimum(at, len(text) - 1)]

    def _whole(self, at: np.ndarray, size: int) -> np.ndarray:
        """Which occurrences of `size` bytes at `at` stand as a word (see find)."""
        before = self._bytes(np.maximum(at - 1, 0))
        keep = ~_LATIN[before] | (at == 0)
        end = at + size
        ends = ~_LATIN[self._bytes(end)]
        for ending in ENDINGS:
            has = np.ones(len(at), dtype=bool)
            for i, byte in enumerate(ending):
                has &= self._bytes(end + i) == byte
            ends |= has & ~_LATIN[self._bytes(end + len(ending))]
        return keep & ends

    def _scan(self, needle: bytes) -> np.ndarray:
        """The first offset of `needle` in each record holding it: one pass over all texts,
        skipping to the next record (a title's occurrence is its record's first)."""
        text, starts, found = self._text, self._starts, []
        at = text.find(needle)
        while at != -1:
            found.append(at)
            record = int(np.searchsorted(starts, at, side="right")) - 1
            at = text.find(needle, int(starts[record + 1]))
        return np.array(found, dtype=np.int64)
