"""What the pages show, read from the live archive: issues with their entries, issue cards for
the lists, months, the issues nearest a date, search hits placed in their issue.

The entries are the index's (the same the bot searches); the issue's file, when it is still the
one indexed (bot.web.sources), adds the 导读 and each entry's extra links. Only http(s) links
are kept: a `javascript:` URL in an issue becomes plain text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.web.sources import Sources
from index.parse import Issue
from index.search import Archive, Hit

EXCERPT_CHARS = 110
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_url(url: str) -> str:
    """The URL when it is an absolute http(s) one, else "" (shown as text, not linked)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    ok = parts.scheme.lower() in ("http", "https") and parts.netloc
    return url if ok and not CONTROL.search(url) else ""


@dataclass(frozen=True)
class EntryView:
    issue: str  # the issue's date
    anchor: str  # e1, e2, ... in file order: /issues/{date}#e3
    section: str
    title: str
    source: str
    url: str  # "" when missing or not http(s)
    tags: tuple[str, ...]
    summary: str
    links: tuple[tuple[str, str], ...] = ()  # (label, url) after the title's link

    @property
    def href(self) -> str:
        return f"/issues/{self.issue}#{self.anchor}"


@dataclass(frozen=True)
class IssueView:
    date: str
    title: str
    intro: tuple[str, ...]  # paragraphs of the 导读
    sections: tuple[tuple[str, tuple[EntryView, ...]], ...]  # in file order
    entries: int

    @property
    def counts(self) -> list[tuple[str, int]]:
        return [(name, len(entries)) for name, entries in self.sections]

    @property
    def excerpt(self) -> str:
        text = " ".join(" ".join(self.intro).split())
        return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _key(section: str, title: str, url: str, summary: str) -> tuple[str, str, str, str]:
    return (section, title, url, summary)


def _extras(hits: tuple[Hit, ...], source: Issue | None) -> tuple[tuple[str, ...], list]:
    """The 导读 and each entry's links from the file, when its entries are the index's."""
    if source is None:
        return (), [()] * len(hits)
    pairs = source.entries
    same = len(pairs) == len(hits) and all(
        e.title == h.title and s.name == h.section for (s, e), h in zip(pairs, hits, strict=True)
    )
    if not same:
        return (), [()] * len(hits)
    intro = tuple(p.strip() for p in source.intro.split("\n") if p.strip())
    links = [tuple((ln.label, u) for ln in e.links if (u := safe_url(ln.url))) for _, e in pairs]
    return intro, links


class Views:
    """The views of one archive, remembered per generation (the file is parsed once)."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self._generation = -1
        self._issues: dict[str, IssueView | None] = {}
        self._places: dict[str, dict[tuple[str, str, str, str], EntryView]] = {}

    def _fresh(self, archive: Archive) -> None:
        if archive.generation != self._generation:
            self._generation = archive.generation
            self._issues.clear()
            self._places.clear()

    def issue(self, archive: Archive, date: str) -> IssueView | None:
        """One issue with its entries in file order; None when it is not in the archive."""
        self._fresh(archive)
        if date not in self._issues:
            self._issues[date] = self._build(archive, date)
        return self._issues[date]

    def _build(self, archive: Archive, date: str) -> IssueView | None:
        summary, info = archive.issue(date), archive.issue_info(date)
        if summary is None or info is None:
            return None
        intro, links = _extras(summary.entries, self.sources.issue(info))
        sections: list[tuple[str, list[EntryView]]] = []
        for number, (hit, extra) in enumerate(zip(summary.entries, links, strict=True), 1):
            entry = EntryView(date, f"e{number}", hit.section, hit.title, hit.source,
                              safe_url(hit.url), hit.tags, hit.summary, extra)  # fmt: skip
            if not sections or sections[-1][0] != hit.section:
                sections.append((hit.section, []))
            sections[-1][1].append(entry)
        frozen = tuple((name, tuple(entries)) for name, entries in sections)
        return IssueView(date, summary.title, intro, frozen, len(summary.entries))

    def placed(self, archive: Archive, hits: Iterable[Hit]) -> list[EntryView]:
        """Search hits as entries of their issue's page (anchor and extra links)."""
        self._fresh(archive)
        found = []
        for hit in hits:
            if hit.issue not in self._places:
                view = self.issue(archive, hit.issue)
                entries = [e for _, group in view.sections for e in group] if view else []
                places = self._places[hit.issue] = {}
                for e in reversed(entries):  # the first of identical entries wins
                    places[_key(e.section, e.title, e.url, e.summary)] = e
            place = self._places[hit.issue].get(_key(hit.section, hit.title, safe_url(hit.url),
                                                     hit.summary))  # fmt: skip
            found.append(place or EntryView(hit.issue, "", hit.section, hit.title, hit.source,
                                            safe_url(hit.url), hit.tags, hit.summary))  # fmt: skip
        return found


def months(archive: Archive) -> list[tuple[str, int]]:
    """Every month with issues, newest first, and how many."""
    counted: dict[str, int] = {}
    for issue in archive.issues():
        counted[issue.date[:7]] = counted.get(issue.date[:7], 0) + 1
    return list(counted.items())


def nearest(archive: Archive, date: str, around: int = 2) -> list[str]:
    """The dates of the issues nearest `date`: `around` before and after, newest first."""
    dates = sorted(i.date for i in archive.issues())
    at = bisect.bisect_left(dates, date)
    return sorted(dates[max(at - around, 0) : at + around], reverse=True)
