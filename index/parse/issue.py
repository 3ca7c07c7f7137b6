"""A parsed newsletter issue: Issue, its Sections, their Entries and Links, and ParseWarnings.

`Issue.to_dict()` is the JSON of `neuraltalk parse FILE --json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Entry:
    title: str
    source: str = ""
    url: str = ""
    tags: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    summary: str = ""
    line: int = 0  # 1-based line of the bullet in the file

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "tags": list(self.tags),
            "links": [{"label": link.label, "url": link.url} for link in self.links],
            "summary": self.summary,
        }


@dataclass(frozen=True)
class Section:
    name: str
    entries: tuple[Entry, ...] = ()


@dataclass(frozen=True)
class ParseWarning:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Issue:
    date: str  # YYYY-MM-DD
    title: str
    intro: str = ""
    sections: tuple[Section, ...] = ()
    path: str = ""
    warnings: tuple[ParseWarning, ...] = field(default=(), compare=False)

    @property
    def entries(self) -> list[tuple[Section, Entry]]:
        return [(s, e) for s in self.sections for e in s.entries]

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "title": self.title,
            "intro": self.intro,
            "sections": [
                {"name": s.name, "entries": [e.to_dict() for e in s.entries]} for s in self.sections
            ],
        }
