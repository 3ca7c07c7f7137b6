"""One opened index generation: its haystack (recall), scorer (BM25 over Whoosh), meta.json,
and the caches of the words searched in it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.haystack import Haystack, read_vocabulary
from index.layout import load_meta
from index.query import Speller
from index.results import Hit
from index.scoring import Scorer, SizedCache

CACHE_RECORDS = 1_500_000  # record numbers kept in the per-word caches of a generation


class Generation:
    """One opened index generation: haystack (recall), scorer (BM25 over Whoosh), meta.json."""

    def __init__(self, gen_dir: Path) -> None:
        from whoosh import index as whoosh_index

        self.dir = gen_dir
        self.meta = load_meta(gen_dir)
        self.haystack = Haystack(gen_dir)
        self.ix = whoosh_index.open_dir(str(gen_dir))
        self.reader = self.ix.reader()
        hay = self.haystack
        self.scorer = Scorer(self.reader, hay.docnums, hay.lengths)
        self.sections = {name for info in self.meta["issues"].values() for name in info["sections"]}
        rank = {date: number for number, date in enumerate(sorted(set(hay.issues)))}
        self.newest = np.array([-rank[date] for date in hay.issues], dtype=np.int64)  # newer: less
        self._speller: Speller | None = None
        self.words: SizedCache[tuple[np.ndarray, ...]] = SizedCache(
            CACHE_RECORDS, lambda arrays: sum(len(a) for a in arrays)
        )
        self.terms: SizedCache[list[str]] = SizedCache(CACHE_RECORDS, len)

    def close(self) -> None:
        self.haystack.close()
        self.reader.close()
        self.ix.close()

    def speller(self) -> Speller:
        """Spelling suggestions from the indexed Latin words (read on the first one)."""
        if self._speller is None:
            self._speller = Speller(read_vocabulary(self.dir))
        return self._speller

    def hit(self, record: int, score: float) -> Hit:
        issue, section, title, source, url, summary, tags, _ = self.haystack.entry(record)
        return Hit(issue, section, title, source, url, summary, round(score, 4), tags)
