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

    def find(self, word: str) -> tuple[Records, Records]:
        """Records whose title, source, tags or summary contain `word` (any case), and those
        whose title does; both ascending."""
        lowered = word.lower()
        needle = lowered.encode("utf-8")
        if not needle or SEP in lowered or any(c.isspace() for c in lowered):
            return NONE, NONE
        found = self.grams.occurrences(lowered)
        at = self._scan(needle) if found is None else found.astype(np.int64)
        records = np.searchsorted(self._starts, at, side="right") - 1
        in_title = at + len(needle) <= self._title_ends[records]
        return distinct(records), distinct(records[in_title])

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
