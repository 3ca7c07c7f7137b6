"""One opened index generation: the exact search (recall), the scorer (BM25 over Whoosh), the
displayed entries, meta.json, and the caches of the words searched in it."""

from __future__ import annotations

import json
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np

from index.layout import ENTRIES, RECORDS, VOCABULARY, Shown, load_meta
from index.search.cache import SizedCache
from index.search.results import Hit
from index.search.scoring import Scorer
from index.search.spelling import Speller
from index.substring import Bits, Haystack, map_file, to_bits, unmap

CACHE_RECORDS = 1_500_000  # record numbers kept in the per-word term cache of a generation
CACHE_BITS = 512 * 1024 * 1024  # bits of the words' record sets kept (64 MB)
WRITTEN_KEPT = 10_000  # words whose written form is remembered
SHOWN_KEPT = 20_000  # records whose displayed fields are kept unpickled
SHOWN_PLACES = 4  # a hit's score is shown rounded to 4 places
_new = tuple.__new__  # a named tuple made without the frame of its generated __new__


class Entries:
    """What is known of each record (index/ingest/haystack.py writes it): its Whoosh document,
    issue, section, field lengths, and its displayed fields (memory-mapped, read when shown)."""

    def __init__(self, gen_dir: Path) -> None:
        records = json.loads((gen_dir / RECORDS).read_text(encoding="utf-8"))
        self.docnums: list[int] = records["docnums"]
        self.issues: list[str] = records["issues"]
        self.sections: list[str] = records["sections"]
        self.lengths: dict[str, list[int]] = records["lengths"]
        self.starts: list[int] = records["starts"]  # in the haystack text
        self.title_ends: list[int] = records["title_ends"]
        self._entry_starts: list[int] = records["entry_starts"]
        self._entries = map_file(gen_dir / ENTRIES)
        self._by_section: dict[str, np.ndarray] = {}
        self._shown: SizedCache[Shown] = SizedCache(SHOWN_KEPT, lambda _: 0)

    def close(self) -> None:
        unmap(self._entries)

    def in_section(self, section: str) -> np.ndarray:
        """Whether each record is of `section` (computed once per section)."""
        if section not in self._by_section:
            names = np.array(self.sections, dtype=object)
            self._by_section[section] = names == section
        return self._by_section[section]

    def shown(self, record: int) -> Shown:
        """The displayed fields of a record, in ENTRY_FIELDS order (issue, section, title, ...);
        the most recently shown are kept."""
        return self._shown.get(record, self._unpickle, record)

    def _unpickle(self, record: int) -> Shown:
        start, end = self._entry_starts[record], self._entry_starts[record + 1] - 1
        return cast(Shown, pickle.loads(self._entries[start:end]))


class Generation:
    """One opened index generation: haystack (recall), scorer (BM25 over Whoosh), meta.json."""

    def __init__(self, gen_dir: Path) -> None:
        from whoosh import index as whoosh_index  # type: ignore[import-untyped]

        self.dir = gen_dir
        self.meta = load_meta(gen_dir)
        self.entries = entries = Entries(gen_dir)
        self.haystack = Haystack(gen_dir, entries.starts, entries.title_ends)
        self.ix = whoosh_index.open_dir(str(gen_dir))
        self.reader = self.ix.reader()
        self.scorer = Scorer(self.reader, entries.docnums, entries.lengths)
        self.sections = {name for info in self.meta["issues"].values() for name in info["sections"]}
        rank = {date: number for number, date in enumerate(sorted(set(entries.issues)))}
        newest = [-rank[date] for date in entries.issues]  # newer: less
        self.newest = np.array(newest, dtype=np.int64)
        self._speller: Speller | None = None
        self.words: SizedCache[tuple[Bits, ...]] = SizedCache(
            CACHE_BITS, lambda sets: sum(s.bit_length() for s in sets)
        )
        self._sections: dict[str, Bits] = {}
        self.terms: SizedCache[list[str]] = SizedCache(CACHE_RECORDS, len)
        self.written: SizedCache[str] = SizedCache(WRITTEN_KEPT, lambda _: 0)  # word -> Word

    def close(self) -> None:
        self.haystack.close()
        self.entries.close()
        self.reader.close()
        self.ix.close()

    def section_bits(self, section: str) -> Bits:
        """The records of `section` (computed once per section)."""
        if section not in self._sections:
            self._sections[section] = to_bits(np.flatnonzero(self.entries.in_section(section)))
        return self._sections[section]

    def speller(self) -> Speller:
        """Spelling suggestions from the indexed Latin words (read on the first one)."""
        if self._speller is None:
            vocabulary = json.loads((self.dir / VOCABULARY).read_text(encoding="utf-8"))
            self._speller = Speller(vocabulary)
        return self._speller

    def hits(self, records: Sequence[int], shown_scores: Sequence[float]) -> tuple[Hit, ...]:
        """The hits of records whose scores are already rounded as shown, made in one loop (a
        page is a dozen of them)."""
        shown, made = self.entries.shown, []
        for record, score in zip(records, shown_scores, strict=True):
            issue, section, title, source, url, summary, tags, _ = shown(record)
            made.append(_new(Hit, (issue, section, title, source, url, summary, score, tags)))
        return tuple(made)

    def issue_records(self, date: str) -> list[int]:
        """The records of one issue, in file order."""
        records = [r for r, issue in enumerate(self.entries.issues) if issue == date]
        return sorted(records, key=lambda r: self.entries.shown(r)[-1])
