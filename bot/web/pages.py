"""The HTML pages, each rendered into a Page (bot.web.cache) from the live archive: the home
(newest issues, paged, by month), one issue, a search, and the pages that say what went wrong.

The search is the very call `neuraltalk search --json` makes (Archive.search, SEARCH_HITS a page,
its default --limit), so totals, order, synonyms, suggestions and `searched as` are the same.
"""

from __future__ import annotations

import math
import re
from urllib.parse import quote

from bot.web.cache import Page
from bot.web.render import Renderer
from bot.web.views import IssueView, Views, months, nearest
from index.errors import QueryError
from index.search import Archive, SearchResult

HTML = "text/html; charset=utf-8"
HOME_ISSUES = 10
SEARCH_HITS = 10
MAX_PAGE = 100_000
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MONTH = re.compile(r"\d{4}-\d{2}")
EXAMPLES = "例如 量化、剪枝、Tengine"


def page_number(raw: str) -> int | None:
    """?page=N: 1 when absent; None when it is not a whole number from 1."""
    if raw == "":
        return 1
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_PAGE:
        return None
    return int(raw)


class Pages:
    def __init__(self, renderer: Renderer, views: Views) -> None:
        self.renderer = renderer
        self.views = views

    def message(self, heading: str, text: str, issues: list[IssueView] | None = None,
                near_title: str = "") -> str:  # fmt: skip
        return self.renderer.html("missing.html", heading=heading, message=text,
                                  issues=issues or [], near_title=near_title)  # fmt: skip

    def _cards(self, archive: Archive, dates: list[str]) -> list[IssueView]:
        views = (self.views.issue(archive, d) for d in dates)
        return [v for v in views if v is not None]

    def _missing(self, archive: Archive, text: str, dates: list[str] | None = None) -> Page:
        if dates is None:
            dates = [i.date for i in archive.issues()[:4]]
        title = "相近的几期" if dates else ""
        html = self.message("没有这一页", text, self._cards(archive, dates), title)
        return Page.of(404, html, HTML)

    def home(self, archive: Archive, raw_page: str, month: str) -> Page:
        number = page_number(raw_page)
        if number is None:
            return Page.of(
                400, self.message("页码不对", "页码是从 1 起的整数，例如 /?page=2"), HTML
            )
        if month and not MONTH.fullmatch(month):
            return Page.of(
                400, self.message("月份不对", "月份写成 2020-04 这样，例如 /?month=2020-04"), HTML
            )
        dates = [i.date for i in archive.issues(month or None)]
        if month and not dates:
            return self._missing(archive, f"{month} 没有简报。", nearest(archive, month + "-15"))
        pages = max(1, math.ceil(len(dates) / HOME_ISSUES))
        if number > pages:
            return self._missing(archive, f"往期只有 {pages} 页，没有第 {number} 页。")
        shown = dates[(number - 1) * HOME_ISSUES : number * HOME_ISSUES]
        suffix = f"&month={month}" if month else ""
        html = self.renderer.html(
            "home.html", issues=self._cards(archive, shown), page=number, pages=pages,
            href=lambda n: f"/?page={n}{suffix}", months=months(archive), month=month,
            total=len(dates),
        )  # fmt: skip
        return Page.of(200, html, HTML)

    def issue(self, archive: Archive, date: str) -> Page:
        view = self.views.issue(archive, date) if DATE.fullmatch(date) else None
        if view is None:
            near = nearest(archive, date) if DATE.fullmatch(date) else None
            shown = date if len(date) <= 40 else date[:40] + "…"
            return self._missing(archive, f"没有 {shown} 这一期。", near)
        dates = sorted(i.date for i in archive.issues())
        at = dates.index(date)
        newer = dates[at + 1] if at + 1 < len(dates) else None
        older = dates[at - 1] if at > 0 else None
        html = self.renderer.html("issue.html", issue=view, newer=newer, older=older)
        return Page.of(200, html, HTML)

    def search(self, archive: Archive, raw_query: str, raw_page: str) -> Page:
        query = raw_query.strip()
        number = page_number(raw_page)
        if number is None:
            return self._search_page(archive, 400, query, "页码是从 1 起的整数，例如 &page=2")
        if not query:
            return self._search_page(archive, 200, "", f"输入要找的词，{EXAMPLES}。")
        try:
            result = archive.search(query, limit=SEARCH_HITS, offset=(number - 1) * SEARCH_HITS)
        except QueryError as exc:
            return self._search_page(
                archive, 400, query, f"没法按这个查询查找（{exc}），换个词试试，{EXAMPLES}。"
            )
        pages = max(1, math.ceil(result.total / SEARCH_HITS))
        if result.total and not result.results:
            text = f"「{query}」共 {result.total} 条，{pages} 页，没有第 {number} 页。"
            return self._search_page(archive, 404, query, text)
        return self._search_page(archive, 200, query, "", result, number, pages)

    def _search_page(self, archive: Archive, status: int, query: str, message: str,
                     result: SearchResult | None = None, number: int = 1,
                     pages: int = 1) -> Page:  # fmt: skip
        hits = self.views.placed(archive, result.results) if result else []
        first = (number - 1) * SEARCH_HITS + 1
        html = self.renderer.html(
            "search.html",
            q=query,
            message=message,
            result=result,
            hits=hits,
            page=number,
            pages=pages,
            first=first,
            last=first + len(hits) - 1,
            words=_marked_words(archive, result),
            href=lambda n: f"/search?q={quote(query)}&page={n}",
        )
        return Page.of(status, html, HTML)


def _marked_words(archive: Archive, result: SearchResult | None) -> list[str]:
    """The words to <mark>: those searched and their synonyms."""
    if result is None:
        return []
    return [w for word in result.words for w in (word, *archive.synonyms.of(word))]
