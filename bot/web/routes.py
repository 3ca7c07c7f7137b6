"""The web archive's routes: GET /, /issues/{date}, /search, /feed.xml and the stylesheet.

Each page is rendered once per index generation and request key (bot.web.cache), from the
archive the webhook searches, fetched through `live_archive()` on every request (that call also
picks up a new ingest). Bad input gets a page with one line saying what to do: 400 for a bad
query or page number, 404 for an issue or page that is not there (with the nearest issues).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from bot.config import Settings
from bot.web import feed
from bot.web.cache import Page, PageCache, respond
from bot.web.pages import Pages
from bot.web.render import Renderer
from bot.web.sources import Sources
from bot.web.views import Views
from index.errors import QueryError
from index.search import Archive

log = logging.getLogger(__name__)

ATOM = "application/atom+xml; charset=utf-8"
FEED_CACHE = "public, max-age=300"
STATIC_CACHE = "public, max-age=31536000, immutable"  # its URL names its version


class Site:
    """The handlers and what they share: the live archive, the renderer, the page cache."""

    def __init__(self, settings: Settings, live_archive: Callable[[], Archive | None]) -> None:
        self.live = live_archive
        server = settings.server
        self.base = server.public_url.rstrip("/") or f"http://{server.host}:{server.port}"
        self.renderer = Renderer(self.base)
        self.views = Views(Sources(Path(settings.archive.issues_dir)))
        self.pages = Pages(self.renderer, self.views)
        self.cache = PageCache()
        self.css = Page.of(200, self.renderer.css, "text/css; charset=utf-8", STATIC_CACHE)
        self._modified = (-1, 0.0)  # (generation, its time)
        self.started = time.time()

    def _serve(
        self, request: web.Request, key: str, build: Callable[[Archive], Page]
    ) -> web.Response:
        archive = self.live()
        if archive is None:
            text = self.pages.message(
                "暂时打不开", "档案还没有建好索引（neuraltalk ingest），请稍后再来。"
            )
            return web.Response(status=503, text=text, content_type="text/html", charset="utf-8")
        generation = archive.generation
        page = self.cache.get(generation, key)
        if page is None:
            page = build(archive)
            self.cache.put(generation, key, page)
        return respond(request, page, self._generated(archive))

    def _generated(self, archive: Archive) -> float:
        if self._modified[0] != archive.generation:
            try:
                at = archive.generated_at()
            except OSError:  # the generation's files went away under us: now will do
                at = time.time()
            self._modified = (archive.generation, at)
        return self._modified[1]

    async def home(self, request: web.Request) -> web.Response:
        page, month = request.query.get("page", ""), request.query.get("month", "")
        key = f"home?page={page}&month={month}"
        return self._serve(request, key, lambda a: self.pages.home(a, page, month))

    async def issue(self, request: web.Request) -> web.Response:
        date = request.match_info["date"]
        return self._serve(request, f"issue/{date}", lambda a: self.pages.issue(a, date))

    async def search(self, request: web.Request) -> web.Response:
        query, page = request.query.get("q", ""), request.query.get("page", "")
        key = f"search?q={query}&page={page}"
        return self._serve(request, key, lambda a: self.pages.search(a, query, page))

    async def feed(self, request: web.Request) -> web.Response:
        topic = request.query.get("topic", "").strip()
        return self._serve(request, f"feed?topic={topic}", lambda a: self._feed(a, topic))

    def _feed(self, archive: Archive, topic: str) -> Page:
        if not topic:
            xml = feed.issues_feed(self.renderer, self.views, archive, self.base)
            return Page.of(200, xml, ATOM, FEED_CACHE)
        try:
            xml = feed.topic_feed(self.renderer, self.views, archive, self.base, topic)
        except QueryError as exc:
            return Page.of(400, f"bad topic: {exc}\n", "text/plain; charset=utf-8")
        return Page.of(200, xml, ATOM, FEED_CACHE)

    async def stylesheet(self, request: web.Request) -> web.Response:
        return respond(request, self.css, self.started)


def mount(
    app: web.Application, settings: Settings, live_archive: Callable[[], Archive | None]
) -> None:
    """Add the archive's pages to `app` (the webhook's application), reading `live_archive()`."""
    site = Site(settings, live_archive)
    app.router.add_get("/", site.home)
    app.router.add_get(r"/issues/{date}", site.issue)
    app.router.add_get("/search", site.search)
    app.router.add_get("/feed.xml", site.feed)
    app.router.add_get("/static/style.css", site.stylesheet)
