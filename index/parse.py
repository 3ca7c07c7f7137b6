"""A newsletter issue in markdown -> Issue / Section / Entry dataclasses (no I/O but the file read).

The rules, learnt from the 30 real issues in ../shared/corpus (2019-03 to 2021-08), are in the
archive issue (#2) and in the docstrings below. Whatever cannot be placed becomes a ParseWarning
with file and line: never silently dropped, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.errors import IssueError

WARMUP_SECTION = "热身新闻"
MAX_FILE_BYTES = 2 * 1024 * 1024


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


def parse_file(path: Path) -> Issue:
    """Read and parse one issue; IssueError (naming the file) when it is not an issue."""
    raise NotImplementedError


def parse_text(text: str, name: str = "<text>") -> Issue:
    """Parse an issue's markdown; `name` is used for the date fallback and in warnings."""
    raise NotImplementedError
