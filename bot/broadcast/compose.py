"""The texts a broadcast sends: the whole issue's highlights, or a topic digest, within 2,048 bytes.

One text message per recipient per campaign. Its form:

    嵌入式AI简报 (2020-04-26)        <- the title (with its date when it lacks it)
    你订阅的主题：量化                      <- digests only
    【论文】                               <- entries grouped by section, in the issue's order
    <a href="URL">title</a>
    …
    （还有 12 条）                          <- when not every entry fits
    全文：https://…/2020-04-26.md           <- archive.issue_url with {date}

As many whole entries as fit in MAX_BYTES of UTF-8 are kept (an entry that does not fit is skipped
and the next, shorter ones are tried), never a cut entry. The digest of a set of topics holds the
entries of this issue that a follower's search for each topic finds, so a digest agrees with what
`搜索 <topic>` answers; a set of topics matching nothing gives no text at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.render import MAX_BYTES, entry_line, header, size
from index.errors import QueryError
from index.search import Archive, Hit, IssueSummary

__all__ = ["MAX_BYTES", "Composed", "Composer", "compose", "entry_line", "header"]
SEARCH_PAGE = 200


@dataclass(frozen=True)
class Composed:
    """A text and how many of the entries it was made from made it in."""

    text: str
    shown: int
    total: int


def _render(head: list[str], entries: Sequence[Hit], left: int, footer: str) -> str:
    lines = list(head)
    section = None
    for entry in entries:
        if entry.section != section:
            section = entry.section
            lines.append(f"\n【{section}】" if section else "")
        lines.append(entry_line(entry))
    if left:
        lines.append(f"\n（还有 {left} 条，见全文）")
    lines.append(("\n" if entries or left else "") + footer)
    return "\n".join(lines)


def compose(
    issue: IssueSummary,
    issue_url: str,
    entries: Sequence[Hit] | None = None,
    topics: Sequence[str] = (),
    max_bytes: int = MAX_BYTES,
) -> Composed:
    """The text for `entries` (default: all of the issue's), keeping whole entries that fit."""
    chosen_from = list(issue.entries if entries is None else entries)
    head = [header(issue)]
    if topics:
        head.append("你订阅的主题：" + "、".join(topics))
    footer = "全文：" + issue_url.replace("{date}", issue.date)
    kept: list[Hit] = []
    for entry in chosen_from:
        trial = [*kept, entry]
        left = len(chosen_from) - len(trial)
        if size(_render(head, trial, left, footer)) <= max_bytes:
            kept = trial
    text = _render(head, kept, len(chosen_from) - len(kept), footer)
    if size(text) > max_bytes:  # only a huge title or URL can do this: cut the header
        text = text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    return Composed(text=text, shown=len(kept), total=len(chosen_from))


def _key(hit: Hit) -> tuple[str, str, str]:
    return (hit.section, hit.title, hit.url)


def topic_entries(archive: Archive, issue: IssueSummary, topic: str) -> set[tuple[str, str, str]]:
    """The keys of this issue's entries that a follower's search for `topic` finds."""
    found: set[tuple[str, str, str]] = set()
    offset = 0
    while True:
        try:
            result = archive.search(topic, limit=SEARCH_PAGE, offset=offset)
        except QueryError:  # a topic made only of punctuation matches nothing
            return found
        if not result.matched_all:  # a loose any-word match is not a match of the topic
            return found
        found.update(_key(h) for h in result.results if h.issue == issue.date)
        offset += len(result.results)
        if not result.results or offset >= result.total:
            return found


class Composer:
    """Texts for one campaign: the full text once, each distinct digest once (cached)."""

    def __init__(self, archive: Archive, issue: IssueSummary, issue_url: str) -> None:
        self.archive = archive
        self.issue = issue
        self.issue_url = issue_url
        self._full: Composed | None = None
        self._topic: dict[str, set[tuple[str, str, str]]] = {}
        self._digests: dict[tuple[str, ...], Composed | None] = {}

    def full(self) -> Composed:
        if self._full is None:
            self._full = compose(self.issue, self.issue_url)
        return self._full

    def digest(self, topics: Iterable[str]) -> Composed | None:
        """The digest for a set of topics, or None when no entry of the issue matches them."""
        key = tuple(sorted(set(topics)))
        if key not in self._digests:
            self._digests[key] = self._make_digest(key)
        return self._digests[key]

    def _make_digest(self, topics: tuple[str, ...]) -> Composed | None:
        wanted: set[tuple[str, str, str]] = set()
        for topic in topics:
            if topic not in self._topic:
                self._topic[topic] = topic_entries(self.archive, self.issue, topic)
            wanted |= self._topic[topic]
        entries = [e for e in self.issue.entries if _key(e) in wanted]
        if not entries:
            return None
        return compose(self.issue, self.issue_url, entries, topics=topics)
