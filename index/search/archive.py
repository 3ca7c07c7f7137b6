"""query -> SearchResult: parsing the query, section filters, synonyms, ordering, suggestions.

How a search runs: the words are looked up as case-insensitive substrings of every entry's title,
source, tags and summary (index/substring/: full recall), together with their synonyms; entries
must match every word (else any, with matched_all=False). They are ordered in groups: the title
contains the words, then the rest, then entries found only through synonyms; within a group by
BM25 over the jieba words of the Whoosh index (title counts double), ties newest issue first.
matching.py finds the groups; this module opens the index, pages and ranks.

CONTRACT (used by bot/: the CLI, the chat replies and the broadcast; keep it):

    archive = Archive.open(index_dir: Path, synonyms_path: Path | None = None)  # IndexMissingError
    archive.search(query: str, limit: int = 10, offset: int = 0) -> SearchResult  # QueryError
    archive.issue(date: str) -> IssueSummary | None      # one ingested issue with its entries
    archive.issues(month: str | None = None) -> list[IssueSummary]  # newest first; "2020-04"
    archive.latest() -> IssueSummary | None
    archive.counts() -> tuple[int, int]                 # (issues, entries)
    archive.written(word: str) -> str                   # as the entries write it: Tengine
    archive.reload_if_changed() -> bool                 # cheap; True when it reopened
    archive.generation -> int                           # the live generation's number
    archive.generated_at() -> float                     # when it was written (epoch seconds)
    archive.issue_info(date: str) -> IssueInfo | None   # meta.json's record: path, hash, counts
    archive.close()
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.errors import QueryError
from index.layout import META, IssueInfo, pointer_stamp, readable_generation, require_generation
from index.search.casing import hit_texts, written_form
from index.search.generation import SHOWN_PLACES, Generation
from index.search.matching import Match, match_words, split_unmatched
from index.search.query import parse_query
from index.search.results import IssueSummary, SearchResult
from index.search.synonyms import Synonyms
from index.substring import Records, from_bits
from index.text import is_latin_word

PLACES = 6  # scores are compared rounded to 6 places
WRITTEN_SAMPLE = 20  # entries read to see how a word is written


def _ranked(
    group: Records, scores: np.ndarray, newest: np.ndarray, needed: int
) -> tuple[Records, np.ndarray]:
    """The first `needed` records of a group and their scores: by score, then newest issue,
    then file order."""
    rounded = -np.round(scores, PLACES)
    if needed < len(group):  # only records scoring at least the needed-th best can be chosen
        cut = np.partition(rounded, needed - 1)[needed - 1]
        near = rounded <= cut
        group, scores, rounded = group[near], scores[near], rounded[near]
    order = np.lexsort((group, newest[group], rounded))[:needed]
    return group[order], scores[order]


def _page(gen: Generation, match: Match, offset: int, limit: int) -> tuple[list[int], list[float]]:
    """Records `offset`..`offset + limit` of the groups in order, and their scores as hits
    show them (rounded to SHOWN_PLACES: one numpy step, not a round() per hit). Within a
    group by score, ties (and unscored records) newest issue first, then in file order; only
    the groups the page reaches are scored."""
    page: list[int] = []
    scores: list[float] = []
    skip, room = offset, limit
    every: np.ndarray | None = None  # every record's score, once the page reaches a group
    for bits in match.groups:
        if room <= 0:
            break
        count = bits.bit_count()
        if skip >= count:
            skip -= count
            continue
        group = from_bits(bits)
        if every is None:
            every = gen.scorer.scores(match.terms)
        chosen, chosen_scores = _ranked(group, every[group], gen.newest, skip + room)
        page.extend(chosen[skip:].tolist())
        scores.extend(np.round(chosen_scores[skip:], SHOWN_PLACES).tolist())
        room, skip = limit - len(page), 0
    return page, scores


class Archive:
    """The opened index; create once at start-up, share, reload when `ingest` changed it."""

    def __init__(self, index_dir: Path, synonyms: Synonyms) -> None:
        self.index_dir = index_dir
        self.synonyms = synonyms
        self._stamp = pointer_stamp(index_dir)
        self._gen = Generation(require_generation(index_dir))

    @classmethod
    def open(cls, index_dir: Path, synonyms_path: Path | None = None) -> Archive:
        return cls(Path(index_dir), Synonyms.load(synonyms_path))

    def reload_if_changed(self) -> bool:
        """Reopen when `neuraltalk ingest` made a new generation live (one stat when not)."""
        stamp = pointer_stamp(self.index_dir)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        gen_dir = readable_generation(self.index_dir)
        if gen_dir is None or gen_dir == self._gen.dir:
            return False
        old, self._gen = self._gen, Generation(gen_dir)
        old.close()
        return True

    def close(self) -> None:
        self._gen.close()

    @property
    def generation(self) -> int:
        """The live generation's number: what caches of pages made from it are keyed by."""
        return int(self._gen.meta["generation"])

    def generated_at(self) -> float:
        """When the live generation was written (its meta.json's mtime, epoch seconds)."""
        return (self._gen.dir / META).stat().st_mtime

    def issue_info(self, date: str) -> IssueInfo | None:
        """What the live generation records of an issue: title, file path and SHA-256, counts."""
        return self._gen.meta["issues"].get(date)

    def search(self, query: str, limit: int = 10, offset: int = 0) -> SearchResult:
        gen = self._gen
        parsed = parse_query(query, gen.sections)
        words = parsed.words
        match = match_words(gen, words, self.synonyms, parsed.section)
        if match.unmatched:  # a phrase typed without spaces: its words, if they do better
            split = split_unmatched(gen, words, match.unmatched)
            if split != words:
                retry = match_words(gen, split, self.synonyms, parsed.section)
                if retry.total and (retry.matched_all or not match.total):
                    words, match = split, retry
        page, scores = _page(gen, match, max(offset, 0), max(limit, 0))
        return SearchResult(
            query=query,
            total=match.total,
            results=gen.hits(page, scores),
            suggestion=self._suggestion(words, match.unmatched, parsed.section_word),
            matched_all=match.matched_all,
            section=parsed.section,
            words=words,
            split=words != parsed.words,
        )

    def _suggestion(
        self, words: Sequence[str], unmatched: list[str], prefix: str | None
    ) -> str | None:
        latin = [w for w in unmatched if is_latin_word(w)]
        if not latin:
            return None
        speller = self._gen.speller()
        fixes = {w: speller.suggest(w) for w in latin}
        if not any(fixes.values()):
            return None
        fixed = [self.written(fix) if (fix := fixes.get(w)) else w for w in words]
        return " ".join([prefix, *fixed] if prefix else fixed)

    def written(self, word: str) -> str:
        """`word` as the archive's entries most often write it (tengine -> Tengine); the word
        itself when it has no Latin letter or is not found. Remembered per generation."""
        if not any("a" <= c <= "z" for c in word.lower()):
            return word
        return self._gen.written.get(word.lower(), self._written, word)

    def _written(self, word: str) -> str:
        gen = self._gen
        try:
            words = parse_query(word).words
        except QueryError:
            return word
        page, _ = _page(gen, match_words(gen, words, self.synonyms, None), 0, WRITTEN_SAMPLE)
        return written_form(word, hit_texts(gen.hits(page, [0.0] * len(page)))) or word

    def counts(self) -> tuple[int, int]:
        issues = self._gen.meta["issues"]
        return len(issues), sum(info["entries"] for info in issues.values())

    def _summary(self, date: str, with_entries: bool) -> IssueSummary | None:
        info = self._gen.meta["issues"].get(date)
        if info is None:
            return None
        if not with_entries:
            return IssueSummary(date=date, title=info["title"])
        records = self._gen.issue_records(date)
        hits = self._gen.hits(records, [0.0] * len(records))
        return IssueSummary(date=date, title=info["title"], entries=hits)

    def issue(self, date: str) -> IssueSummary | None:
        """One ingested issue with its entries in file order."""
        return self._summary(date, with_entries=True)

    def issues(self, month: str | None = None) -> list[IssueSummary]:
        """Ingested issues newest first (titles only, no entries); month like "2020-04"."""
        dates = sorted(self._gen.meta["issues"], reverse=True)
        if month:
            dates = [d for d in dates if d.startswith(month)]
        return [IssueSummary(date=d, title=self._gen.meta["issues"][d]["title"]) for d in dates]

    def latest(self) -> IssueSummary | None:
        """The newest ingested issue with its entries."""
        dates = self._gen.meta["issues"]
        return self._summary(max(dates), with_entries=True) if dates else None
