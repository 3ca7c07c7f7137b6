"""Rendered pages kept per index generation, and answering with them: gzip when the client takes
it, ETag and Last-Modified, 304 for a conditional request that matches, Cache-Control.

A page is compressed once, when it is rendered, not on every request. Its ETag is a hash of its
body, weak (W/"…"), so the gzip and plain forms share it. The cache is emptied when the archive
changes generation and holds at most MAX_PAGES pages (least recently used first out).
"""

from __future__ import annotations

import gzip
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache

from aiohttp import web

MAX_PAGES = 2048
MAX_BYTES = 64 * 1024 * 1024  # bodies kept, plain and gzip together
PAGE_CACHE = "public, max-age=60"  # a new ingest shows up within a minute


@dataclass(frozen=True)
class Page:
    status: int
    body: bytes
    gzipped: bytes
    content_type: str  # with its charset
    etag: str
    cache_control: str = PAGE_CACHE

    @classmethod
    def of(cls, status: int, text: str, content_type: str, cache_control: str = PAGE_CACHE) -> Page:
        body = text.encode("utf-8")
        etag = 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        squeezed = gzip.compress(body, compresslevel=6, mtime=0)
        return cls(status, body, squeezed, content_type, etag, cache_control)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped)


class PageCache:
    """Pages by request key, for one generation at a time."""

    def __init__(self, max_pages: int = MAX_PAGES, max_bytes: int = MAX_BYTES) -> None:
        self.max_pages, self.max_bytes = max_pages, max_bytes
        self.generation = -1
        self._pages: OrderedDict[str, Page] = OrderedDict()
        self._bytes = 0

    def get(self, generation: int, key: str) -> Page | None:
        if generation != self.generation:
            self.generation = generation
            self._pages.clear()
            self._bytes = 0
            return None
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, generation: int, key: str, page: Page) -> None:
        if generation != self.generation or page.size > self.max_bytes:
            return
        old = self._pages.pop(key, None)
        self._bytes += page.size - (old.size if old else 0)
        self._pages[key] = page
        while len(self._pages) > self.max_pages or self._bytes > self.max_bytes:
            _, dropped = self._pages.popitem(last=False)
            self._bytes -= dropped.size

    def __len__(self) -> int:
        return len(self._pages)


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (q=0 refuses it)."""
    for part in header.lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() not in ("gzip", "x-gzip", "*"):
            continue
        q = params.strip()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


@lru_cache(maxsize=16)
def http_date(stamp: float) -> str:
    """An HTTP date (Last-Modified); one per generation, so formatted once."""
    return formatdate(stamp, usegmt=True)


def _not_modified(request: web.Request, page: Page, modified: float) -> bool:
    match = request.headers.get("If-None-Match")
    if match is not None:  # it wins over If-Modified-Since (RFC 9110)
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or page.etag.removeprefix("W/") in tags
    since = request.headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        return parsedate_to_datetime(since).timestamp() >= int(modified)
    except (TypeError, ValueError, OverflowError):
        return False


def respond(request: web.Request, page: Page, modified: float) -> web.Response:
    """The page for this request: 304, gzip or plain; `modified`: the generation's time."""
    headers = {
        "ETag": page.etag,
        "Cache-Control": page.cache_control,
        "Vary": "Accept-Encoding",
        "Last-Modified": http_date(modified),
    }
    if (
        page.status == 200
        and request.method in ("GET", "HEAD")
        and _not_modified(request, page, modified)
    ):
        return web.Response(status=304, headers=headers)
    body = page.body
    if accepts_gzip(request.headers.get("Accept-Encoding", "")):
        body = page.gzipped
        headers["Content-Encoding"] = "gzip"
    headers["Content-Type"] = page.content_type
    return web.Response(status=page.status, body=body, headers=headers)
