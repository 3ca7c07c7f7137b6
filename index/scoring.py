"""BM25F scores of chosen records from the Whoosh index's postings: the ranking half of a search.

The score of a record is what Whoosh's `searcher.search(Or([Term(f, t) ...]))` gives it with its
default BM25F (B=0.75, K1=1.2): the sum over the query's jieba terms, in title (boost 2, in the
postings' weights) and body, of bm25(idf, weight, field length, average length). Running that
search costs milliseconds per query in Whoosh's matcher tree, most of it on records the query
did not match; here only the matched records are scored. A term's postings are read from Whoosh
once per generation, block by block, turned into (record, bm25 part) pairs and kept in a cache
of bounded size (LRU), so that a query costs dictionary lookups and one loop over its postings.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from math import log
from typing import Any, Generic, TypeVar

FIELDS = ("title", "body")
B, K1 = 0.75, 1.2  # whoosh.scoring.BM25F's defaults, the weighting the searcher used
CACHE_POSTINGS = 3_000_000  # (record, part) pairs kept, 12 bytes each
SEEK_FACTOR = 16  # postings this many times longer than the records: binary search instead

Postings = tuple[array, array]  # records (uint32), bm25 parts (double)
_EMPTY: Postings = (array("I"), array("d"))
V = TypeVar("V")


class SizedCache(Generic[V]):
    """A least-recently-used cache holding at most `budget` units (each value costs `size`)."""

    def __init__(self, budget: int, size: Callable[[V], int]) -> None:
        self._budget, self._size = budget, size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._used = 0

    def get(self, key: Hashable, compute: Callable[..., V], *args: Any) -> V:
        """The value of `key`, computed as compute(*args) when it is not kept."""
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
            return found
        value = compute(*args)
        self._items[key] = value
        self._used += self._size(value) + 1
        while self._used > self._budget and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self._used -= self._size(dropped) + 1
        return value


def _blocks(matcher: Any) -> Iterator[tuple[Sequence[int], Sequence[float]]]:
    """(docnums, weights) of a matcher, a block at a time for a Whoosh 3 leaf matcher."""
    from whoosh.codec.whoosh3 import W3LeafMatcher
    from whoosh.matching.wrappers import FilterMatcher

    if isinstance(matcher, FilterMatcher):  # deletions: the caller skips deleted documents
        matcher = matcher.child
    if isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            yield matcher._ids, matcher._weights
            matcher._next_block()
        return
    while matcher.is_active():
        yield (matcher.id(),), (matcher.weight(),)
        matcher.next()


class Scorer:
    """Scores records of one generation; `record_of` maps live docnums to record numbers."""

    def __init__(self, reader: Any, record_of: dict[int, int], lengths: dict[str, list[int]]):
        self._reader = reader
        self._record_of = record_of
        self._lengths = lengths
        self._doc_count = reader.doc_count_all()
        self._average = {f: reader.field_length(f) / (self._doc_count or 1) or 1 for f in FIELDS}
        self._cache: SizedCache[Postings] = SizedCache(CACHE_POSTINGS, lambda p: len(p[0]))

    def postings(self, field: str, term: str) -> Postings:
        """The records holding `term` in `field` with the term's part of their BM25 score."""
        return self._cache.get((field, term), self._read, field, term)

    def _read(self, field: str, term: str) -> Postings:
        reader = self._reader
        if (field, term) not in reader:
            return _EMPTY
        idf = log(self._doc_count / (reader.doc_frequency(field, term) + 1)) + 1
        average, lengths, record_of = self._average[field], self._lengths[field], self._record_of
        records, parts = array("I"), array("d")
        k1_plus, b_rest = K1 + 1, 1 - B
        for leaf, offset in reader.leaf_readers():
            if (field, term) not in leaf:
                continue
            for docnums, weights in _blocks(leaf.postings(field, term)):
                for docnum, tf in zip(docnums, weights, strict=True):
                    record = record_of.get(docnum + offset)
                    if record is None:
                        continue
                    length = lengths[record] or 1  # whoosh.scoring.bm25, written out: same floats
                    records.append(record)
                    parts.append(
                        idf * ((tf * k1_plus) / (tf + K1 * (b_rest + B * length / average)))
                    )
        return records, parts

    def has_term(self, term: str) -> bool:
        return any(len(self.postings(field, term)[0]) for field in FIELDS)

    def scores(self, records: set[int], terms: Iterable[str]) -> dict[int, float]:
        """BM25F scores of those of `records` that hold at least one of `terms`."""
        scores: dict[int, float] = {}
        wanted: list[int] = []  # `records` sorted, when some postings are searched
        for term in terms:
            for field in FIELDS:
                numbers, parts = self.postings(field, term)
                if len(records) * SEEK_FACTOR < len(numbers):  # few records: look them up
                    wanted = wanted or sorted(records)
                    pairs: Iterable[tuple[int, float]] = _seek(numbers, parts, wanted)
                else:
                    pairs = zip(numbers, parts, strict=True)
                if not scores:  # the first: no sums yet
                    scores = {record: part for record, part in pairs if record in records}
                    continue
                get = scores.get
                for record, part in pairs:
                    if record in records:
                        scores[record] = get(record, 0.0) + part
        return scores


def _seek(numbers: array, parts: array, wanted: list[int]) -> Iterator[tuple[int, float]]:
    """(record, part) of the `wanted` records (sorted) in sorted postings, by binary search."""
    end = len(numbers)
    for record in wanted:
        at = bisect_left(numbers, record)
        if at < end and numbers[at] == record:
            yield record, parts[at]
