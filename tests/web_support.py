"""The web archive in tests: its settings, the application with its pages, and what a reader
sees on a page (the entries' titles, links and text), read with the standard HTML parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from aiohttp import web

from bot import web as web_archive
from bot.chat.app import create_app
from bot.config import Settings
from bot.store.store import Store
from index.search import Archive

PUBLIC = "https://bot.example.com"


def web_settings(index_dir: Path, issues_dir: Path, db: Path, public_url: str = PUBLIC) -> Settings:
    return Settings().replace(
        archive={"index_dir": str(index_dir), "issues_dir": str(issues_dir)},
        storage={"url": f"sqlite:///{db}"},
        server={"public_url": public_url},
    )


def web_app(
    settings: Settings, archive: Archive | None, store: Store, **kw: float
) -> web.Application:
    """The application `neuraltalk serve` runs: the webhook with the archive's pages."""
    return create_app(settings, archive, store, pages=web_archive.mount, **kw)


@dataclass
class Seen:
    """One entry as shown: ol.entries > li."""

    title: str = ""
    href: str | None = None  # the title's link
    where: str = ""  # search hits: "2020-04-26 · 论文"
    summary: str = ""
    links: list[str] = field(default_factory=list)  # the extra links' addresses
    marked: list[str] = field(default_factory=list)  # the texts in <mark>


class Page(HTMLParser):
    """The entries of a page, its links, its <h1> and its messages."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.entries: list[Seen] = []
        self.hrefs: list[str] = []
        self.h1 = ""
        self.texts: list[str] = []  # every text node, in order
        self._in_list = 0
        self._part: str | None = None  # the class of the <p> of an entry we are in
        self._stack: list[str] = []
        self.feed(html)
        self.close()

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self._stack.append(tag)
        classes = (a.get("class") or "").split()
        if tag == "ol" and "entries" in classes:
            self._in_list += 1
        elif tag == "li" and self._in_list:
            self.entries.append(Seen())
        elif tag == "p" and self._in_list and self.entries:
            self._part = classes[0] if classes else None
        elif tag == "a" and a.get("href"):
            self.hrefs.append(a["href"] or "")
            entry = self.entries[-1] if self._in_list and self.entries else None
            if entry is not None and self._part == "t" and entry.href is None:
                entry.href = a["href"]
            elif entry is not None and self._part == "links":
                entry.links.append(a["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if self._stack:
            self._stack.pop()
        if tag == "ol" and self._in_list:
            self._in_list -= 1
        elif tag == "p":
            self._part = None

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if "h1" in self._stack:
            self.h1 += data
        if not (self._in_list and self.entries and self._part):
            return
        entry = self.entries[-1]
        if self._stack and self._stack[-1] == "mark":
            entry.marked.append(data)
        if self._part == "t" and "span" not in self._stack:
            entry.title += data
        elif self._part == "where":
            entry.where += data
        elif self._part == "sum":
            entry.summary += data
