"""The Atom feeds: the newest issues, each with its entries as HTML, or the newest entries on a
topic (searched as the bot searches). Links are absolute, on server.public_url."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from bot.web.render import Renderer
from bot.web.views import EntryView, Views
from index.search import Archive

ISSUES = 20  # issues in /feed.xml
TOPIC_ENTRIES = 50  # entries in /feed.xml?topic=
CHINA = "+08:00"  # the newsletter's dates are Beijing's


@dataclass(frozen=True)
class Item:
    title: str
    id: str
    link: str
    updated: str  # RFC 3339
    summary: str
    content: str  # HTML, escaped again by the XML template


def stamp(date: str) -> str:
    return f"{date}T00:00:00{CHINA}"


def issues_feed(renderer: Renderer, views: Views, archive: Archive, base: str) -> str:
    """The newest ISSUES issues."""
    items = []
    for summary in archive.issues()[:ISSUES]:
        view = views.issue(archive, summary.date)
        if view is None:
            continue
        link = f"{base}/issues/{view.date}"
        content = renderer.html("feed_content.html", sections=view.sections)
        items.append(Item(view.title, link, link, stamp(view.date), view.excerpt, content))
    return _feed(renderer, items, base, "嵌入式AI简报", f"{base}/feed.xml", f"{base}/")


def topic_feed(renderer: Renderer, views: Views, archive: Archive, base: str, topic: str) -> str:
    """The newest TOPIC_ENTRIES entries matching `topic`; QueryError for a bad one."""
    everything = archive.search(topic, limit=max(archive.counts()[1], 1))
    hits = sorted(everything.results, key=lambda h: h.issue, reverse=True)[:TOPIC_ENTRIES]
    items = [_entry_item(renderer, e, base) for e in views.placed(archive, hits)]
    query = quote(topic)
    return _feed(renderer, items, base, f"嵌入式AI简报：{topic}",
                 f"{base}/feed.xml?topic={query}", f"{base}/search?q={query}")  # fmt: skip


def _entry_item(renderer: Renderer, entry: EntryView, base: str) -> Item:
    page = f"{base}/issues/{entry.issue}"
    link = f"{base}{entry.href}" if entry.anchor else page
    content = renderer.html("feed_content.html", sections=[(entry.section, [entry])])
    title = f"{entry.title}（{entry.issue} {entry.section}）"
    return Item(title, link, link, stamp(entry.issue), entry.summary, content)


def _feed(renderer: Renderer, items: list[Item], base: str, title: str, self_url: str,
          alternate: str) -> str:  # fmt: skip
    updated = max((i.updated for i in items), default=stamp("2019-01-01"))
    return renderer.html("feed.xml", title=title, self_url=self_url, alternate=alternate,
                         updated=updated, items=items, base_url=base)  # fmt: skip
