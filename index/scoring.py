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
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from math import log
from typing import Any

from whoosh.scoring import bm25

FIELDS = ("title", "body")
B, K1 = 0.75, 1.2  # whoosh.scoring.BM25F's defaults, the weighting the searcher used
CACHE_POSTINGS = 1_000_000  # (record, part) pairs kept, about 12 bytes each

Postings = tuple[array, array]  # records (uint32), bm25 parts (double)
_EMPTY: Postings = (array("I"), array("d"))


def _pairs(matcher: Any) -> Iterator[tuple[int, float]]:
    """(docnum, weight) of a matcher; a Whoosh 3 leaf matcher is read a block at a time."""
    from whoosh.codec.whoosh3 import W3LeafMatcher
    from whoosh.matching.wrappers import FilterMatcher

    if isinstance(matcher, FilterMatcher):  # deletions: the caller skips deleted documents
        matcher = matcher.child
    if isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            yield from zip(matcher._ids, matcher._weights, strict=True)
            matcher._next_block()
        return
    while matcher.is_active():
        yield matcher.id(), matcher.weight()
        matcher.next()


class Scorer:
    """Scores records of one generation; `record_of` maps live docnums to record numbers."""

    def __init__(self, reader: Any, record_of: dict[int, int], lengths: dict[str, list[int]]):
        self._reader = reader
        self._record_of = record_of
        self._lengths = lengths
        self._doc_count = reader.doc_count_all()
        self._average = {f: reader.field_length(f) / (self._doc_count or 1) or 1 for f in FIELDS}
        self._cache: OrderedDict[tuple[str, str], Postings] = OrderedDict()
        self._cached = 0

    def postings(self, field: str, term: str) -> Postings:
        """The records holding `term` in `field` with the term's part of their BM25 score."""
        key = (field, term)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        found = self._read(field, term)
        self._cache[key] = found
        self._cached += len(found[0]) + 1
        while self._cached > CACHE_POSTINGS and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            self._cached -= len(dropped[0]) + 1
        return found

    def _read(self, field: str, term: str) -> Postings:
        reader = self._reader
        if (field, term) not in reader:
            return _EMPTY
        idf = log(self._doc_count / (reader.doc_frequency(field, term) + 1)) + 1
        average, lengths, record_of = self._average[field], self._lengths[field], self._record_of
        records, parts = array("I"), array("d")
        for leaf, offset in reader.leaf_readers():
            if (field, term) not in leaf:
                continue
            for docnum, weight in _pairs(leaf.postings(field, term)):
                record = record_of.get(docnum + offset)
                if record is not None:
                    records.append(record)
                    parts.append(bm25(idf, weight, lengths[record] or 1, average, B, K1))
        return records, parts

    def has_term(self, term: str) -> bool:
        return any(len(self.postings(field, term)[0]) for field in FIELDS)

    def scores(self, records: set[int], terms: Iterable[str]) -> dict[int, float]:
        """BM25F scores of those of `records` that hold at least one of `terms`."""
        scores: dict[int, float] = {}
        get = scores.get
        for term in terms:
            for field in FIELDS:
                for record, part in zip(*self.postings(field, term), strict=True):
                    if record in records:
                        scores[record] = get(record, 0.0) + part
        return scores
