"""WeChat's text rules, shared by the chat replies and the broadcast texts.

A text message over about 2,048 bytes of UTF-8 fails silently (PLATFORM.md), so every text is
measured in bytes and made of whole lines; an entry is a link (WeChat shows <a href> in text
messages), or plain text when it has no URL.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable

from index.search import Hit, IssueSummary

MAX_BYTES = 2048
TAG = re.compile(r"<[^>]*>")


def size(text: str) -> int:
    """The text's length in bytes of UTF-8, the measure WeChat applies."""
    return len(text.encode("utf-8"))


def header(issue: IssueSummary) -> str:
    """The issue's title, with its date when the title does not already say it."""
    title = issue.title.strip() or "嵌入式AI简报"
    return title if issue.date in title else f"{title} ({issue.date})"


def entry_line(entry: Hit, bullet: bool = True) -> str:
    """One entry as a link, or plain text without URL (after a bullet unless numbered)."""
    return _entry_line(entry.title, entry.url, bullet)


@functools.lru_cache(maxsize=8192)
def _entry_line(title: str, url: str, bullet: bool) -> str:
    """Cached: the same entries come back in page after page of results."""
    shown = html.escape(" ".join(title.split()), quote=False)
    if not url:
        return f"• {shown}" if bullet else shown
    return f'<a href="{html.escape(url, quote=True)}">{shown}</a>'


_NO_LINE = object()


def link(title: str, url: str) -> str:
    """An entry's title as a link to `url`, or plain text without URL (no bullet)."""
    return _entry_line(title, url, False)


def pack(header: str, lines: Iterable[str], more: str, end: str) -> tuple[str, int]:
    """header + as many whole lines as fit + a footer, within MAX_BYTES; and how many fitted.

    The footer is `end` when every line fitted, else `more`. Lines are taken one at a time, so
    a generator's lines past the first that does not fit are never made.
    """
    return pack_sized(header, ((line, size(line)) for line in lines), more, end)


def pack_sized(
    header: str, lines: Iterable[tuple[str, int]], more: str, end: str
) -> tuple[str, int]:
    """pack() of lines that come with their size in bytes (a cached line's, measured once)."""
    room = MAX_BYTES - size(header) - max(size(more), size(end)) - 2
    kept: list[str] = []
    used = 0
    rest = iter(lines)
    footer = end
    for line, measured in rest:
        used += measured + 1
        if used <= room:
            kept.append(line)
            continue
        if not kept:  # one entry alone too long: show it cut, as plain text
            cut = TAG.sub("", line).encode("utf-8")[: max(room - 1, 0)]
            kept.append(cut.decode("utf-8", errors="ignore"))
            if next(rest, _NO_LINE) is _NO_LINE:
                break
        footer = more
        break
    return "\n".join([header, *kept, footer] if footer else [header, *kept]), len(kept)
