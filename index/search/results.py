"""What a search gives back: hits, the result of a query, an issue with its entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Hit(NamedTuple):
    """One entry found, as shown. A named tuple: a search page makes twenty of them, and a
    tuple is made in a third of a frozen dataclass's time."""

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


class SearchResult(NamedTuple):
    """A page of what a query found. A named tuple, like Hit: made for every search, and a
    frozen dataclass of eight fields takes 3 µs to make."""

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
