"""query -> SearchResult: parsing the query, section filters, synonyms, ordering, suggestions.

How a search runs: the words are looked up as case-insensitive substrings of every entry's title,
source, tags and summary (index/haystack.py: full recall), together with their synonyms; entries
must match every word (else any, with matched_all=False). They are ordered in groups: the title
contains the words, then the rest, then entries found only through synonyms; within a group by
BM25 over the jieba words of the Whoosh index (title counts double), ties newest issue first.

CONTRACT (used by bot/cli_archive.py, bot/replies.py, bot/broadcast.py; keep it):

    archive = Archive.open(index_dir: Path, synonyms_path: Path | None = None)  # IndexMissingError
    archive.search(query: str, limit: int = 10, offset: int = 0) -> SearchResult  # QueryError
    archive.issue(date: str) -> IssueSummary | None      # one ingested issue with its entries
    archive.issues(month: str | None = None) -> list[IssueSummary]  # newest first; "2020-04"
    archive.latest() -> IssueSummary | None
    archive.counts() -> tuple[int, int]                 # (issues, entries)
    archive.reload_if_changed() -> bool                 # cheap; True when it reopened
    archive.close()
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.analysis import cjk_runs, latin_runs
from index.build import META_VERSION, POINTER, current_dir, load_meta
from index.errors import IndexMissingError
from index.haystack import Haystack, read_vocabulary
from index.query import Speller, Synonyms, is_latin_word, parse_query, split_phrase
from index.records import Records, all_of, any_of, both, either, minus
from index.scoring import Scorer, SizedCache


@dataclass(frozen=True)
class Hit:
    issue: str  # the issue's date
    section: str
    title: str
    source: str
    url: str
    summary: str
    score: float
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "issue": self.issue,
            "section": self.section,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "summary": self.summary,
            "score": self.score,
        }


@dataclass(frozen=True)
class SearchResult:
    query: str
    total: int
    results: tuple[Hit, ...]
    suggestion: str | None = None
    matched_all: bool = True  # False: no entry matched every word; these match any of them
    section: str | None = None  # the section a leading section word narrowed to
    words: tuple[str, ...] = ()  # the words searched
    split: bool = False  # a phrase that matched nothing was searched as its words

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "results": [h.to_dict() for h in self.results],
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True)
class IssueSummary:
    date: str
    title: str
    entries: tuple[Hit, ...] = field(default=())  # in file order, score 0


PLACES = 6  # scores are compared rounded to 6 places
CACHE_RECORDS = 1_500_000  # record numbers kept in the per-word caches of a generation


class _Generation:
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


def _word_terms(gen: _Generation, lowered: str) -> list[str]:
    """jieba words of the index inside a query word (no jieba needed at query time)."""
    candidates = {lowered, *latin_runs(lowered)}
    for run in cjk_runs(lowered):
        candidates.update(run[i : i + n] for n in range(2, 5) for i in range(len(run) - n + 1))
    return [t for t in candidates if gen.scorer.has_term(t)]


def _score_terms(gen: _Generation, words: Iterable[str]) -> list[str]:
    """The index's jieba words inside the query words (remembered per word)."""
    terms: set[str] = set()
    for word in words:
        lowered = word.lower()
        terms.update(gen.terms.get(lowered, _word_terms, gen, lowered))
    return sorted(terms)


@dataclass
class _Match:
    """The records a query matches, in ranked groups."""

    groups: list[Records]
    terms: list[str]
    matched_all: bool
    unmatched: list[str]  # words that matched nothing at all

    @property
    def total(self) -> int:
        return sum(len(g) for g in self.groups)


def _shortest(word: str, others: Sequence[str]) -> list[str]:
    """The synonyms worth looking up: one holding `word` or a shorter synonym (二值化 holds
    二值) adds no record and no title to theirs, so only the union is needed."""
    kept: list[str] = [word.lower()]
    for other in sorted({o.lower() for o in others}, key=len):
        if not any(shorter in other for shorter in kept):
            kept.append(other)
    return kept[1:]


def _word(hay: Haystack, word: str, others: Sequence[str]) -> tuple[Records, ...]:
    """Records with `word`, with a synonym only, and whose title has `word` / any of them."""
    literal, lit_title = hay.find(word)
    found, titled = [literal], [lit_title]
    for other in _shortest(word, others):
        records, in_title = hay.find(other)
        found.append(records)
        titled.append(in_title)
    return literal, minus(any_of(found), literal), lit_title, any_of(titled)


def _match(
    gen: _Generation, words: Sequence[str], synonyms: Synonyms, section: str | None
) -> _Match:
    hay = gen.haystack
    scope = hay.in_section(section) if section else None
    literal, found, titled, unmatched = [], [], [], []
    for word in words:
        others = synonyms.of(word)
        key = (word.lower(), others)
        lit, syn, lit_title, titles_here = gen.words.get(key, _word, hay, word, others)
        if scope is not None:
            lit, syn = lit[scope[lit]], syn[scope[syn]]
        literal.append(lit)
        found.append(either(lit, syn))
        titled.append((lit_title, titles_here))
        if not len(lit) and not len(syn):
            unmatched.append(word)
    combine = all_of
    matches = combine(found)
    matched_all = bool(len(matches)) or len(words) == 1
    if not len(matches) and len(words) > 1:
        combine = any_of
        matches = combine(found)
    lit_all = both(combine(literal), matches)
    title_lit = combine([t[0] for t in titled])
    title_any = combine([t[1] for t in titled])
    first = both(lit_all, title_lit)
    rest = minus(matches, lit_all)
    rest_titled = both(rest, title_any)
    groups = [first, minus(lit_all, first), rest_titled, minus(rest, rest_titled)]
    terms = _score_terms(gen, [*words, *(s for w in words for s in synonyms.of(w))])
    return _Match(groups, terms, matched_all and bool(len(matches)), unmatched)


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


def _page(
    gen: _Generation, match: _Match, offset: int, limit: int
) -> tuple[list[int], list[float]]:
    """Records `offset`..`offset + limit` of the groups in order, and their scores. Within a
    group by score, ties (and unscored records) newest issue first, then in file order; only
    the groups the page reaches are scored."""
    page: list[int] = []
    scores: list[float] = []
    skip, room = offset, limit
    for group in match.groups:
        if room <= 0:
            break
        if skip >= len(group):
            skip -= len(group)
            continue
        group_scores = gen.scorer.scores(group, match.terms)
        chosen, chosen_scores = _ranked(group, group_scores, gen.newest, skip + room)
        page.extend(chosen[skip:].tolist())
        scores.extend(chosen_scores[skip:].tolist())
        room, skip = limit - len(page), 0
    return page, scores


def _split(gen: _Generation, words: Sequence[str], unmatched: Sequence[str]) -> tuple[str, ...]:
    """The words, with each unmatched one of 2+ index words replaced by those words."""
    split: list[str] = []
    for word in words:
        pieces = split_phrase(word, gen.scorer.has_term) if word in unmatched else []
        split.extend(pieces if len(pieces) > 1 else [word])
    return tuple(dict.fromkeys(split))


class Archive:
    """The opened index; create once at start-up, share, reload when `ingest` changed it."""

    def __init__(self, index_dir: Path, synonyms: Synonyms) -> None:
        self.index_dir = index_dir
        self.synonyms = synonyms
        self._stamp = self._pointer_stamp()
        gen_dir = current_dir(index_dir)
        if gen_dir is None:
            raise IndexMissingError(
                f"there is no index in {index_dir} yet: run `neuraltalk ingest` first"
            )
        if load_meta(gen_dir).get("version") != META_VERSION:
            raise IndexMissingError(
                f"the index in {index_dir} was made by another version of neuraltalk: "
                "run `neuraltalk ingest` to rebuild it"
            )
        self._gen = _Generation(gen_dir)

    @classmethod
    def open(cls, index_dir: Path, synonyms_path: Path | None = None) -> Archive:
        return cls(Path(index_dir), Synonyms.load(synonyms_path))

    def _pointer_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = (self.index_dir / POINTER).stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_ino, st.st_size)

    def reload_if_changed(self) -> bool:
        """Reopen when `neuraltalk ingest` made a new generation live (one stat when not)."""
        stamp = self._pointer_stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        gen_dir = current_dir(self.index_dir)
        if gen_dir is None or gen_dir == self._gen.dir:
            return False
        old, self._gen = self._gen, _Generation(gen_dir)
        old.close()
        return True

    def close(self) -> None:
        self._gen.close()

    def search(self, query: str, limit: int = 10, offset: int = 0) -> SearchResult:
        gen = self._gen
        parsed = parse_query(query, gen.sections)
        words = parsed.words
        match = _match(gen, words, self.synonyms, parsed.section)
        if match.unmatched:  # a phrase typed without spaces: its words, if they do better
            split = _split(gen, words, match.unmatched)
            if split != words:
                retry = _match(gen, split, self.synonyms, parsed.section)
                if retry.total and (retry.matched_all or not match.total):
                    words, match = split, retry
        page, scores = _page(gen, match, max(offset, 0), max(limit, 0))
        return SearchResult(
            query=query,
            total=match.total,
            results=tuple(gen.hit(r, score) for r, score in zip(page, scores, strict=True)),
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
        fixed = [fixes.get(w) or w for w in words]
        return " ".join([prefix, *fixed] if prefix else fixed)

    def counts(self) -> tuple[int, int]:
        issues = self._gen.meta["issues"]
        return len(issues), sum(info["entries"] for info in issues.values())

    def _summary(self, date: str, with_entries: bool) -> IssueSummary | None:
        info = self._gen.meta["issues"].get(date)
        if info is None:
            return None
        if not with_entries:
            return IssueSummary(date=date, title=info["title"])
        gen = self._gen
        records = [r for r, issue in enumerate(gen.haystack.issues) if issue == date]
        records.sort(key=lambda r: gen.haystack.entry(r)[-1])  # the entry's place in the file
        hits = tuple(gen.hit(r, 0.0) for r in records)
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
