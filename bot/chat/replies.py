"""What the bot answers: reply_to(message, deps) -> the text, or None for WeChat's `success`.

A plain dict of commands, then dates, then subscriptions, then search. Texts are Chinese, short
and friendly, and never longer than WeChat's 2,048 bytes of UTF-8: as many whole entries as fit,
the rest a 更多 away. Everything slow or stateful comes in through Deps.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TypeVar

from bot.chat import texts
from bot.chat.dates import Day, Month, NotADate, when
from bot.chat.scans import scanned
from bot.chat.sessions import Page, Pages, Sessions, TTLCache
from bot.metrics import Metrics
from bot.render import entry_line, link, pack, pack_sized, size
from bot.render import header as issue_header
from bot.store.store import Store, Subscriber
from bot.wechat.protocol import Incoming, strip_invalid
from index.errors import QueryError, QueryTooLong
from index.search import Archive, Hit

log = logging.getLogger(__name__)

FETCH = 16  # hits fetched per page: 9-13 usually fit in 2,048 bytes, 16 hardly ever
MAX_TOPIC = 20
T = TypeVar("T")


@dataclass
class Deps:
    """What replies need; the webhook creates one at start-up and fills in the archive and store."""

    archive: Archive | None = None
    store: Store | None = None
    sessions: Pages = field(default_factory=Sessions)
    pages: TTLCache[tuple[str, int], tuple[str, Page | None]] = field(
        default_factory=lambda: TTLCache(4096, 600.0)
    )  # search pages by (query, offset), with where the next starts; cleared at a reload
    issue_url: str = ""
    store_timeout: float = 4.0  # within WeChat's 5 s; the group commit needs only milliseconds
    metrics: Metrics | None = None

    def use_archive(self, archive: Archive) -> None:
        """A new (or newly reloaded) archive: the cached pages are stale."""
        self.archive = archive
        self.pages.clear()


def hit_line(number: int, hit: Hit) -> tuple[str, int]:
    """A result's numbered line, and its size in bytes."""
    text, measured = _hit_text(hit.issue, hit.section, hit.title, hit.url)
    mark = f"{number}. "
    return mark + text, len(mark) + measured


@functools.lru_cache(maxsize=8192)
def _hit_text(issue: str, section: str, title: str, url: str) -> tuple[str, int]:
    """A result's line after its number, with its size: measured once, as the same entries
    come back in page after page of results."""
    where = f"{issue} {section}"
    text = f"[{where}] {link(title, url)}" if where.strip() else link(title, url)
    return text, size(text)


async def _stored(
    deps: Deps, what: str, call: Callable[[Store], Awaitable[T]], op: str = ""
) -> T | None:
    """A store call bounded by store_timeout; None (and one log line) when it did not happen.
    A write (`op` named) is timed for the metrics, a failure counted."""
    if deps.store is None:
        log.warning("%s: no store", what)
        return None
    try:
        if op and deps.metrics is not None:
            with deps.metrics.store_write(op):
                return await asyncio.wait_for(call(deps.store), deps.store_timeout)
        return await asyncio.wait_for(call(deps.store), deps.store_timeout)
    except TimeoutError:
        log.warning("%s: the store did not answer within %s s", what, deps.store_timeout)
    except Exception as exc:  # the store's own failure: the follower is told, once logged
        log.warning("%s failed: %s", what, str(exc).splitlines()[0] if str(exc) else repr(exc))
    return None


def _search_text(archive: Archive, query: str, offset: int) -> tuple[str, int | None]:
    """A page of results as text, and where the next page starts (None: no next page)."""
    try:
        result = archive.search(query, limit=FETCH, offset=offset)
    except QueryTooLong as exc:
        return texts.query_too_long(exc.size, exc.unit), None
    except QueryError:
        return texts.BAD_QUERY, None
    if result.total == 0:
        return texts.no_result(query, result.suggestion), None
    if offset >= result.total or not result.results:
        return texts.NO_MORE, None
    header = texts.results_header(query, result.words, result.split, result.matched_all,
                                  result.total)  # fmt: skip
    lines = (hit_line(offset + i + 1, hit) for i, hit in enumerate(result.results))
    end = "（完）" if offset + len(result.results) >= result.total else texts.MORE_HINT
    text, shown = pack_sized(header, lines, texts.MORE_HINT, end)
    return text, offset + shown


def search_page(deps: Deps, openid: str, query: str, offset: int = 0) -> str:
    """A page of results for `query`; pages are cached (the same for everyone) until a reload."""
    if deps.archive is None:
        return texts.NOT_READY
    cached = deps.pages.get((query, offset))
    if cached is None:
        text, next_offset = _search_text(deps.archive, query, offset)
        after = None if next_offset is None else Page("search", query, next_offset)
        cached = text, after
        deps.pages.put((query, offset), cached)
    text, after = cached
    if after is None:
        deps.sessions.forget(openid)
    else:
        deps.sessions.set_page(openid, after)  # the same Page for everyone at this point
    return text


def issue_page(deps: Deps, openid: str, date: str | None, offset: int = 0) -> str:
    """One issue's entries grouped by section, paged; `date` None: the newest issue."""
    archive = deps.archive
    if archive is None:
        return texts.NOT_READY
    issue = archive.latest() if date is None else archive.issue(date)
    if issue is None:
        same_month = archive.issues(date[:7]) if date else []
        recent = [i.date for i in (same_month or archive.issues())[:3]]
        return texts.no_issue(date, recent, bool(same_month))
    entries = issue.entries
    if offset >= len(entries) > 0:
        deps.sessions.forget(openid)
        return texts.NO_MORE
    lines = []
    for i in range(offset, len(entries)):
        hit = entries[i]
        head = (
            f"【{hit.section}】\n" if i == offset or hit.section != entries[i - 1].section else ""
        )
        lines.append(head + f"{i + 1}. {entry_line(hit, bullet=False)}")
    header = f"{issue_header(issue)}\n共 {len(entries)} 条" + ("" if offset else "：")
    end = "全文：" + deps.issue_url.replace("{date}", issue.date) if deps.issue_url else "（完）"
    text, shown = pack(header, lines, texts.MORE_HINT, end)
    deps.sessions.set_page(openid, Page("issue", issue.date, offset + shown))
    return text


def month_page(deps: Deps, month: Month) -> str:
    """That month's issues, one line each; a month without year: the latest one with issues."""
    archive = deps.archive
    if archive is None:
        return texts.NOT_READY
    year = month.year
    if year is None:
        years = [int(i.date[:4]) for i in archive.issues() if int(i.date[5:7]) == month.month]
        if not years:
            return texts.no_month(None, month.month)
        year = max(years)
    issues = archive.issues(month.prefix(year))
    if not issues:
        return texts.no_month(month.prefix(year), month.month)
    lines = [texts.month_line(i.date, i.title) for i in issues]
    head = f"{year} 年 {month.month} 月共 {len(issues)} 期："
    text, _ = pack(head, lines, "", texts.pick_an_issue(issues[0].date))
    return text


def shown_topic(deps: Deps, topic: str) -> str:
    """A topic as the archive writes it (tengine -> Tengine)."""
    return deps.archive.written(topic) if deps.archive is not None else topic


async def more(deps: Deps, openid: str) -> str:
    page = await deps.sessions.page(openid)
    if page is None:
        return texts.NOTHING_TO_CONTINUE
    if page.kind == "issue":
        return issue_page(deps, openid, page.arg, page.offset)
    return search_page(deps, openid, page.arg, page.offset)


async def subscribe(deps: Deps, openid: str, topic: str | None) -> str:
    changed = await _stored(
        deps, f"subscribe {openid}", lambda s: s.subscribe(openid, topic), "subscribe"
    )
    if changed is None:
        return texts.STORE_BUSY
    return texts.subscribed(topic and shown_topic(deps, topic), changed)


async def unsubscribe(deps: Deps, openid: str, topic: str | None) -> str:
    changed = await _stored(
        deps, f"unsubscribe {openid}", lambda s: s.unsubscribe(openid, topic), "unsubscribe"
    )
    if changed is None:
        return texts.STORE_BUSY
    return texts.unsubscribed(topic and shown_topic(deps, topic), changed)


async def my_subscriptions(deps: Deps, openid: str) -> str:
    async def lookup(store: Store) -> tuple[Subscriber | None]:
        return (await store.subscriber(openid),)  # a tuple: None alone would mean "failed"

    found = await _stored(deps, f"subscriptions of {openid}", lookup)
    if found is None:
        return texts.STORE_BUSY
    sub = found[0]
    if sub is None or sub.status != "active":
        return texts.my_subscriptions(False, [])
    return texts.my_subscriptions(sub.all_issues, [shown_topic(deps, t) for t in sub.topics])


Instant = Callable[[Deps, str], str]
INSTANT: dict[str, Instant] = {
    "帮助": lambda deps, openid: texts.HELP,
    "help": lambda deps, openid: texts.HELP,
    "?": lambda deps, openid: texts.HELP,
    "？": lambda deps, openid: texts.HELP,
    "菜单": lambda deps, openid: texts.HELP,
    "最新": lambda deps, openid: issue_page(deps, openid, None),
}
COMMANDS: dict[str, Callable[[Deps, str], Awaitable[str]]] = {
    "更多": more,
    "下一页": more,
    "n": more,
    "我的订阅": my_subscriptions,
}
SUBSCRIPTION = {"订阅": subscribe, "退订": unsubscribe, "取消订阅": unsubscribe}


def _instant_text(text: str, deps: Deps, openid: str) -> str | None:
    """The answer to `text` when it needs neither the store nor shared state; None if it does."""
    if not text:
        return texts.HELP
    lowered = text.lower()
    if lowered in COMMANDS:
        return None
    command = INSTANT.get(lowered)
    if command is not None:
        return command(deps, openid)
    named = when(text)
    if isinstance(named, Day):
        return issue_page(deps, openid, named.date)
    if isinstance(named, Month):
        return month_page(deps, named)
    if isinstance(named, NotADate):
        return texts.not_a_date(text)
    word, _, rest = text.partition(" ")
    if word in SUBSCRIPTION:
        if len(rest) > MAX_TOPIC:
            return texts.TOPIC_TOO_LONG
        if " " in rest:
            return texts.topic_one_word(word)
        return None
    return search_page(deps, openid, text)


def _said(message: Incoming) -> str:
    return " ".join(strip_invalid(message.content).split())


async def _text(message: Incoming, deps: Deps) -> str:
    text = _said(message)
    answer = _instant_text(text, deps, message.openid)
    if answer is not None:
        return answer
    command = COMMANDS.get(text.lower())
    if command is not None:
        return await command(deps, message.openid)
    word, _, rest = text.partition(" ")
    return await SUBSCRIPTION[word](deps, message.openid, rest or None)


def _as_text(message: Incoming) -> Incoming | None:
    """A message answered as text: a text, a voice's recognition, a menu click's key."""
    if message.kind == "event":
        if message.event == "click":
            return dataclasses.replace(message, content=message.event_key)
        return None
    if message.kind == "text" or (message.kind == "voice" and message.content):
        return message
    return None


def instant(message: Incoming, deps: Deps) -> str | None:
    """The reply to a message that needs neither the store nor shared state (help, dates,
    searches and their first page, the newest issue), or None: reply_to answers it.

    Such a reply is computed at once, without a task, a deadline or the retry memory: a retry
    of it gets the same text again and changes nothing more (its page is set to the same)."""
    said = _as_text(message)
    if said is None:
        return None if message.kind == "event" else texts.NOT_TEXT
    return _instant_text(_said(said), deps, message.openid)


class NotDone(Exception):
    """An event's work could not be committed: WeChat must not get `success`, so it retries."""


async def _event(message: Incoming, deps: Deps) -> str | None:
    """Events wait for the store as long as it takes (the webhook answers 503 meanwhile)."""
    if message.event.startswith("subscribe") or message.event == "scan":  # a follow, a QR code
        return await scanned(message, deps.store, lambda topic: shown_topic(deps, topic))
    store = deps.store
    if message.event == "unsubscribe":
        deps.sessions.forget(message.openid)
        if store is None:
            raise NotDone("no store to record the unfollow in")
        with _timed(deps, "unfollow"):
            await store.unsubscribe_all(message.openid)
    elif message.mass is not None:
        if store is None:
            raise NotDone("no store to record the mass send's totals in")
        job = message.mass
        with _timed(deps, "mass_job_finish"):
            await store.record_mass_job_finish(
                job.msg_id, job.status, job.total, job.filter_count, job.sent, job.errors
            )
    return None


def _timed(deps: Deps, op: str) -> AbstractContextManager[None]:
    return nullcontext() if deps.metrics is None else deps.metrics.store_write(op)


async def reply_to(message: Incoming, deps: Deps) -> str | None:
    """The text to answer `message` with; None: answer `success` (nothing shown).

    A voice message is answered as its <Recognition> text (WeChat's speech to text), a menu
    click (CLICK) as its EventKey."""
    said = _as_text(message)
    if said is not None:
        return await _text(said, deps)
    if message.kind == "event":
        return await _event(message, deps)
    return texts.NOT_TEXT
