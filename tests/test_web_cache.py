"""The page cache: one generation at a time, bounded; Accept-Encoding read as RFC 9110 says."""

from __future__ import annotations

import gzip

import pytest

from bot.web.cache import Page, PageCache, accepts_gzip


def test_a_page_keeps_its_gzip_form_and_an_etag_of_its_body() -> None:
    page = Page.of(200, "<p>量化</p>", "text/html; charset=utf-8")
    assert gzip.decompress(page.gzipped) == "<p>量化</p>".encode()
    assert page.etag == Page.of(200, "<p>量化</p>", "text/html").etag
    assert page.etag != Page.of(200, "<p>剪枝</p>", "text/html").etag


def test_a_new_generation_empties_the_cache() -> None:
    cache = PageCache()
    page = Page.of(200, "x", "text/plain")
    assert cache.get(1, "/") is None
    cache.put(1, "/", page)
    assert cache.get(1, "/") is page
    assert cache.get(2, "/") is None
    cache.put(1, "/", page)  # rendered from the old generation: not kept
    assert cache.get(2, "/") is None and len(cache) == 0


def test_the_cache_is_bounded_by_pages_and_bytes() -> None:
    cache = PageCache(max_pages=3, max_bytes=10_000)
    cache.get(1, "")
    for n in range(5):
        cache.put(1, f"/{n}", Page.of(200, str(n), "text/plain"))
    assert len(cache) == 3 and cache.get(1, "/0") is None and cache.get(1, "/4") is not None
    big = Page.of(200, "".join(chr(0x4E00 + i % 20000) for i in range(3000)), "text/plain")
    cache.put(1, "/big", big)
    assert cache.get(1, "/big") is None  # larger than the whole cache: not kept


@pytest.mark.parametrize(
    ("header", "takes"),
    [("gzip, deflate, br", True), ("", False), ("identity", False), ("gzip;q=0", False),
     ("br;q=1, gzip;q=0.5", True), ("*", True), ("GZIP", True), ("gzip;q=x", False)],
)  # fmt: skip
def test_accept_encoding(header: str, takes: bool) -> None:
    assert accepts_gzip(header) is takes
