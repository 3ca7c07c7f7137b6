"""Character bigrams of every entry's text: the candidates of an exact substring search.

An entry whose lower-cased text contains a word contains every two-character piece of it, so
the entries holding the word's rarest bigram are a superset of those holding the word; checking
the word in those few texts (index/haystack.py) gives exactly the substring matches without
reading the rest. Bigrams are taken inside runs of non-space characters, the only places a
query word (split at spaces) can sit.

Files of a generation, written beside the Whoosh index after its commit:

    grams.txt    the bigrams, sorted, one a line
    grams.idx    where each bigram's records start in grams.bin, and the end (uint32)
    grams.bin    the record numbers of each bigram, one after the other (uint32)

grams.bin is memory-mapped, so a lookup is a slice of it; the bigrams are read on first use.
"""

from __future__ import annotations

import mmap
from array import array
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

POSTINGS = "grams.bin"
KEYS = "grams.txt"
STARTS = "grams.idx"
INTERSECT_RATIO = 20  # intersect with a bigram's records while they are at most this many
# times the candidates left (a text check costs about as much as 20 set lookups)


def bigrams(text: str) -> set[str]:
    """The distinct bigrams of `text` that hold no whitespace."""
    found: set[str] = set()
    for run in text.split():
        found.update(map(str.__add__, run, run[1:]))
    return found


def write(gen_dir: Path, texts: Sequence[str]) -> None:
    """Write the bigram postings of `texts` (record number = position in `texts`)."""
    postings: defaultdict[str, array[int]] = defaultdict(lambda: array("I"))
    for record, text in enumerate(texts):
        for gram in bigrams(text):
            postings[gram].append(record)
    keys = sorted(postings)
    starts, numbers = array("I"), array("I")
    for gram in keys:
        starts.append(len(numbers))
        numbers.extend(postings[gram])
    starts.append(len(numbers))
    with open(gen_dir / POSTINGS, "wb") as handle:
        numbers.tofile(handle)
    with open(gen_dir / STARTS, "wb") as handle:
        starts.tofile(handle)
    (gen_dir / KEYS).write_text("\n".join(keys), encoding="utf-8")


class Grams:
    """The bigram postings of one generation (bigrams read on first use, records mapped)."""

    def __init__(self, gen_dir: Path) -> None:
        self._dir = gen_dir
        self._keys: dict[str, int] | None = None
        self._starts = array("I")
        self._map: mmap.mmap | None = None
        self._numbers: memoryview | array[int] = array("I")

    def _load(self) -> dict[str, int]:
        if self._keys is None:
            text = (self._dir / KEYS).read_text(encoding="utf-8")
            self._keys = {gram: number for number, gram in enumerate(text.split("\n")) if gram}
            self._starts.frombytes((self._dir / STARTS).read_bytes())
            with open(self._dir / POSTINGS, "rb") as handle:
                if handle.seek(0, 2):
                    self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
                    self._numbers = memoryview(self._map).cast("I")
        return self._keys

    def candidates(self, word: str) -> tuple[set[int] | None, bool]:
        """Records that may contain `word` (lower-cased), and whether they all do.

        They are the records holding all of its bigrams, rarest first, as long as intersecting
        costs less than checking the texts; for a word of two characters, those are exactly
        the records that contain it. (None, False) when
        the word has no bigram (one character): the caller must look at every record.
        """
        grams = bigrams(word)
        if not grams:
            return None, False
        keys, starts = self._load(), self._starts
        numbers: list[tuple[int, int]] = []
        for gram in grams:
            number = keys.get(gram)
            if number is None:
                return set(), True
            numbers.append((starts[number + 1] - starts[number], number))
        numbers.sort()
        found = set(self._records(numbers[0][1]))
        for count, number in numbers[1:]:
            if count > len(found) * INTERSECT_RATIO:  # checking the texts is cheaper now
                break
            found.intersection_update(self._records(number))
        return found, len(word) == 2

    def _records(self, number: int) -> list[int]:
        return self._numbers[self._starts[number] : self._starts[number + 1]].tolist()

    def close(self) -> None:
        if isinstance(self._numbers, memoryview):
            self._numbers.release()
        self._numbers = array("I")
        if self._map is not None:
            self._map.close()
            self._map = None
