"""query -> SearchResult: parsing the query, section filters, synonyms, ordering, suggestions.

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

from dataclasses import dataclass, field
from typing import Any


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


class Archive:
    """The opened index; create once at start-up, share, reload when `ingest` changed it."""
