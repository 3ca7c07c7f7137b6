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

from index.analysis import cjk_runs, latin_runs
from index.build import POINTER, current_dir, load_meta
from index.errors import IndexMissingError
from index.haystack import Haystack, read_vocabulary
from index.query import Synonyms, is_latin_word, parse_query, suggest


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


SCORE_SLACK = 20  # extra scored hits fetched so that equal scores can be ordered newest first
SCORE_ALL_MAX = 3000  # up to this many matches, all are scored in one Whoosh search


class _Generation:
    """One opened index generation: Whoosh searcher, haystack, meta.json."""

    def __init__(self, gen_dir: Path) -> None:
        from whoosh import index as whoosh_index

        self.dir = gen_dir
        self.meta = load_meta(gen_dir)
        self.haystack = Haystack(gen_dir)
        self.ix = whoosh_index.open_dir(str(gen_dir))
        self.searcher = self.ix.searcher()
        self.sections = {name for info in self.meta["issues"].values() for name in info["sections"]}
        self._vocabulary: dict[str, int] | None = None

    def close(self) -> None:
        self.searcher.close()
        self.ix.close()

    def has_term(self, term: str) -> bool:
        reader = self.searcher.reader()
        return ("title", term) in reader or ("body", term) in reader

    def vocabulary(self) -> dict[str, int]:
        """Indexed Latin words with their document frequencies (for spelling suggestions)."""
        if self._vocabulary is None:
            self._vocabulary = read_vocabulary(self.dir)
        return self._vocabulary

    def hit(self, record: int, score: float) -> Hit:
        fields = self.searcher.stored_fields(self.haystack.docnums[record])
        return Hit(
            issue=fields["issue"],
            section=fields["section"],
            title=fields.get("title", ""),
            source=fields.get("source", ""),
            url=fields.get("url", ""),
            summary=fields.get("summary", ""),
            score=round(score, 4),
            tags=tuple(fields.get("tags", ())),
        )


def _score_terms(gen: _Generation, words: Iterable[str]) -> list[str]:
    """jieba words of the index inside the query words (no jieba needed at query time)."""
    terms: set[str] = set()
    for word in words:
        lowered = word.lower()
        candidates = {lowered, *latin_runs(lowered)}
        for run in cjk_runs(lowered):
            candidates.update(run[i : i + n] for n in range(2, 5) for i in range(len(run) - n + 1))
        terms.update(t for t in candidates if gen.has_term(t))
    return sorted(terms)


@dataclass
class _Match:
    """The records a query matches, in ranked groups."""

    groups: list[set[int]]
    terms: list[str]
    matched_all: bool
    unmatched: list[str]  # words that matched nothing at all

    @property
    def total(self) -> int:
        return sum(len(g) for g in self.groups)


def _match(
    gen: _Generation, words: Sequence[str], synonyms: Synonyms, section: str | None
) -> _Match:
    hay = gen.haystack
    scope = hay.in_section(section) if section else None
    literal, found, titled, unmatched = [], [], [], []
    for word in words:
        others = synonyms.of(word)
        found_here = hay.find(word, *others)
        titles_here = hay.find_in_titles(word, *others)
        lit = hay.having(found_here, word) if others else found_here
        lit_title = hay.having(titles_here, word, titles=True) if others else titles_here
        syn = found_here - lit
        if scope is not None:
            lit, syn = lit & scope, syn & scope
        literal.append(lit)
        found.append(lit | syn)
        titled.append((lit_title, titles_here))
        if not lit and not syn:
            unmatched.append(word)
    combine = set.intersection
    matches = combine(*found)
    matched_all = bool(matches) or len(words) == 1
    if not matches and len(words) > 1:
        combine = set.union
        matches = combine(*found)
    lit_all = combine(*literal) & matches
    title_lit = combine(*(t[0] for t in titled))
    title_any = combine(*(t[1] for t in titled))
    first = lit_all & title_lit
    rest = matches - lit_all
    groups = [first, lit_all - first, rest & title_any, rest - title_any]
    terms = _score_terms(gen, [*words, *(s for w in words for s in synonyms.of(w))])
    return _Match(groups, terms, matched_all and bool(matches), unmatched)


def _scored(
    gen: _Generation, records: set[int], terms: list[str], limit: int | None
) -> list[tuple[int, float]]:
    """(record, BM25 score) of the best `limit` (None: all) of `records` matching `terms`."""
    from whoosh.query import Or, Term

    if not terms:
        return []
    query = Or([Term(f, t) for t in terms for f in ("title", "body")])
    query.matcher_type = Or.DEFAULT_MATCHER  # Whoosh's preloading matcher costs ms per search
    allowed = {gen.haystack.docnums[r] for r in records}
    results = gen.searcher.search(query, filter=allowed, limit=limit, terms=False)
    record_of = gen.haystack.record_of
    return [(record_of[docnum], score) for score, docnum in results.top_n]


def _ordered(gen: _Generation, group: set[int], scores: dict[int, float]) -> list[int]:
    """A group by score, ties (and unscored records) newest issue first, then in file order."""
    issues = gen.haystack.issues
    newest = sorted(group, key=lambda r: (issues[r], -r), reverse=True)
    return sorted(newest, key=lambda r: round(scores.get(r, 0.0), 6), reverse=True)


def _rank(gen: _Generation, group: set[int], terms: list[str], needed: int) -> list[int]:
    """A group's first `needed` records without scoring all of a large group."""
    scores = dict(_scored(gen, group, terms, needed + SCORE_SLACK))
    if len(scores) >= needed:
        return _ordered(gen, set(scores), scores)[:needed]
    return _ordered(gen, group, scores)[:needed]


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
        match = _match(gen, parsed.words, self.synonyms, parsed.section)
        if match.total <= SCORE_ALL_MAX:  # score every match once, order the groups in Python
            scores = dict(_scored(gen, set().union(*match.groups), match.terms, None))
            ranked = [r for group in match.groups for r in _ordered(gen, group, scores)]
            page = ranked[offset : offset + limit]
        else:
            scores, page = {}, []
            skip, room = offset, limit
            for group in match.groups:
                if room <= 0:
                    break
                if skip >= len(group):
                    skip -= len(group)
                    continue
                ranked = _rank(gen, group, match.terms, skip + room)
                scores.update(_scored(gen, set(ranked[skip:]), match.terms, None))
                page.extend(ranked[skip:])
                room, skip = limit - len(page), 0
        return SearchResult(
            query=query,
            total=match.total,
            results=tuple(gen.hit(record, scores.get(record, 0.0)) for record in page),
            suggestion=self._suggestion(parsed.words, match.unmatched, parsed.section_word),
            matched_all=match.matched_all,
            section=parsed.section,
        )

    def _suggestion(
        self, words: Sequence[str], unmatched: list[str], prefix: str | None
    ) -> str | None:
        latin = [w for w in unmatched if is_latin_word(w)]
        if not latin:
            return None
        vocabulary = self._gen.vocabulary()
        fixes = {w: suggest(w, vocabulary) for w in latin}
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
        hay = self._gen.haystack
        records = [r for r, issue in enumerate(hay.issues) if issue == date]
        hits = [self._gen.hit(r, 0.0) for r in records]
        order = {r: self._gen.searcher.stored_fields(hay.docnums[r]).get("pos", 0) for r in records}
        pairs = sorted(zip(records, hits, strict=True), key=lambda p: order[p[0]])
        return IssueSummary(date=date, title=info["title"], entries=tuple(h for _, h in pairs))

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
