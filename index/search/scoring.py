"""BM25F scores of chosen records from the Whoosh index's postings: the ranking half of a search.

The score of a record is what Whoosh's `searcher.search(Or([Term(f, t) ...]))` gives it with its
default BM25F (B=0.75, K1=1.2): the sum over the query's jieba terms, in title (boost 2, in the
postings' weights) and body, of bm25(idf, weight, field length, average length). Running that
search costs milliseconds per query in Whoosh's matcher tree, most of it on records the query
did not match; here only the matched records are scored. A term's postings are read from Whoosh
once per generation, block by block, turned into arrays of records and their bm25 parts (numpy:
the same float operations in the same order, so the same floats) and kept in a cache of bounded
size (LRU); a query adds its terms' parts into one array of scores, one numpy step per term.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from math import log
from typing import Any

import numpy as np

from index.search.cache import SizedCache

FIELDS = ("title", "body")
B, K1 = 0.75, 1.2  # whoosh.scoring.BM25F's defaults, the weighting the searcher used
CACHE_POSTINGS = 3_000_000  # (record, part) pairs kept, 16 bytes each

Postings = tuple[np.ndarray, np.ndarray]  # records (int64), bm25 parts (float64)
_EMPTY: Postings = (np.zeros(0, dtype=np.int64), np.zeros(0))


def _blocks(matcher: Any) -> Iterator[tuple[Sequence[int], Sequence[float]]]:
    """(docnums, weights) of a matcher, a block at a time for a Whoosh 3 leaf matcher."""
    from whoosh.codec.whoosh3 import W3LeafMatcher  # type: ignore[import-untyped]
    from whoosh.matching.wrappers import FilterMatcher  # type: ignore[import-untyped]

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
    """Scores records of one generation; `docnums` are the live Whoosh documents of its records."""

    def __init__(self, reader: Any, docnums: Sequence[int], lengths: dict[str, list[int]]) -> None:
        self._reader = reader
        self._count = len(docnums)
        size = max(reader.doc_count_all(), max(docnums, default=-1) + 1)
        self._record_of = np.full(size, -1, dtype=np.int64)
        self._record_of[np.asarray(docnums, dtype=np.int64)] = np.arange(len(docnums))
        self._lengths = {f: np.asarray(lengths[f], dtype=np.int64) for f in FIELDS}
        self._doc_count = reader.doc_count_all()
        self._average = {f: reader.field_length(f) / (self._doc_count or 1) or 1 for f in FIELDS}
        self._cache: SizedCache[Postings] = SizedCache(CACHE_POSTINGS, lambda p: len(p[0]))

    def postings(self, term: str) -> Postings:
        """The records holding `term` in any field with the term's part of their BM25F score:
        its title part plus its body part, so that a query adds one array per term."""
        return self._cache.get(term, self._read_term, term)

    def _read_term(self, term: str) -> Postings:
        title, body = self._read("title", term), self._read("body", term)
        if not len(body[0]) or not len(title[0]):
            return title if len(title[0]) else body
        records, where = np.unique(np.concatenate((title[0], body[0])), return_inverse=True)
        parts = np.zeros(len(records))
        np.add.at(parts, where, np.concatenate((title[1], body[1])))  # in order: title first
        return records, parts

    def _read(self, field: str, term: str) -> Postings:
        reader = self._reader
        if (field, term) not in reader:
            return _EMPTY
        chunks: list[np.ndarray] = []
        weights: list[float] = []
        for leaf, offset in reader.leaf_readers():
            if (field, term) not in leaf:
                continue
            docnums: list[int] = []
            for ids, tfs in _blocks(leaf.postings(field, term)):
                docnums.extend(ids)
                weights.extend(tfs)
            chunks.append(np.asarray(docnums, dtype=np.int64) + offset)
        if not chunks:
            return _EMPTY
        records = self._record_of[np.concatenate(chunks)]
        live = records >= 0  # deleted documents have no record
        records, tf = records[live], np.asarray(weights, dtype=np.float64)[live]
        length = self._lengths[field][records]
        length[length == 0] = 1
        idf = log(self._doc_count / (reader.doc_frequency(field, term) + 1)) + 1
        average = self._average[field]
        # whoosh.scoring.bm25, written out: the same operations in the same order, same floats
        parts = idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * length / average)))
        return records, parts

    def has_term(self, term: str) -> bool:
        return any((field, term) in self._reader for field in FIELDS)

    def scores(self, terms: Iterable[str]) -> np.ndarray:
        """BM25F scores of every record (0 for those holding none of `terms`), by record."""
        total = np.zeros(self._count)
        for term in terms:
            numbers, parts = self.postings(term)
            total[numbers] += parts
        return total
