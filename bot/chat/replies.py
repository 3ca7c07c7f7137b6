"""What the bot answers: reply_to(message, deps) -> the text, or None for WeChat's `success`.

A plain dict of commands, then dates, then subscriptions, then search. Texts are Chinese, short
and friendly, and never longer than WeChat's 2,048 bytes of UTF-8: as many whole entries as fit,
the rest a 更多 away. Everything slow or stateful comes in through Deps.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TypeVar

from bot.chat import texts
from bot.chat.sessions import Page, Pages, Sessions, TTLCache
from bot.metrics import Metrics
from bot.render import entry_line, pack
from bot.render import header as issue_header
from bot.store.store import Store, Subscriber
from bot.wechat.protocol import Incoming, strip_invalid
from index.errors import QueryError
from index.search import Archive, Hit

log = logging.getLogger(__name__)

FETCH = 20  # hits fetched per page; fewer usually fit in 2,048 bytes
MAX_TOPIC = 20
T = TypeVar("T")
DATE = re.compile(r"^(\d{4})[-./年](\d{1,2})[-./月](\d{1,2})日?$")
MONTH = re.compile(r"^(\d{4})[-./年](\d{1,2})月?$")


@dataclass
class Deps:
    """What replies need; the webhook creates one at start-up and fills in the archive and store."""

    archive: Archive | None = None
    store: Store | None = None
    sessions: Pages = field(default_factory=Sessions)
    pages: TTLCache[tuple[str, int], tuple[str, int | None]] = field(
        default_factory=lambda: TTLCache(4096, 600.0)
    )  # search pages by (query, offset); cleared when the archive reloads
    issue_url: str = ""
    store_timeout: float = 4.0  # within WeChat's 5 s; the group commit needs only milliseconds
    metrics: Metrics | None = None

    def use_archive(self, archive: Archive) -> None:
        """A new (or newly reloaded) archive: the cached pages are stale."""
        self.archive = archive
        self.pages.clear()


def quoted(text: str, limit: int = 30) -> str:
    return "「" + (text if len(text) <= limit else text[:limit] + "…") + "」"


def hit_line(number: int, hit: Hit, with_issue: bool = True) -> str:
    where = f"{hit.issue} {hit.section}" if with_issue else hit.section
    return (
        f"{number}. [{where}] {entry_line(hit)}"
        if where.strip()
        else f"{number}. {entry_line(hit)}"
    )


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
    except QueryError:
        return texts.BAD_QUERY, None
    if result.total == 0:
        return texts.no_result(query, result.suggestion), None
    if offset >= result.total or not result.results:
        return texts.NO_MORE, None
    header = f"{quoted(query)}共 {result.total} 条："
    if result.split and result.matched_all:
        header = f"按「{' '.join(result.words)}」查找，共 {result.total} 条："
    elif not result.matched_all:
        header = f"没有同时包含所有词的条目，以下是包含其中任一词的 {result.total} 条："
    lines = [hit_line(offset + i + 1, hit) for i, hit in enumerate(result.results)]
    end = "（完）" if offset + len(lines) >= result.total else texts.MORE_HINT
    text, shown = pack(header, lines, texts.MORE_HINT, end)
    return text, offset + shown


def search_page(deps: Deps, openid: str, query: str, offset: int = 0) -> str:
    """A page of results for `query`; pages are cached (the same for everyone) until a reload."""
    if deps.archive is None:
        return texts.NOT_READY
    page = deps.pages.get((query, offset))
    if page is None:
        page = _search_text(deps.archive, query, offset)
        deps.pages.put((query, offset), page)
    text, next_offset = page
    if next_offset is None:
        deps.sessions.forget(openid)
    else:
        deps.sessions.set_page(openid, Page("search", query, next_offset))
    return text


def issue_page(deps: Deps, openid: str, date: str | None, offset: int = 0) -> str:
    """One issue's entries grouped by section, paged; `date` None: the newest issue."""
    archive = deps.archive
    if archive is None:
        return texts.NOT_READY
    issue = archive.latest() if date is None else archive.issue(date)
    if issue is None:
        recent = [i.date for i in archive.issues()[:3]]
        return texts.no_issue(date, recent)
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
        lines.append(head + f"{i + 1}. {entry_line(hit)}")
    header = f"{issue_header(issue)}\n共 {len(entries)} 条" + ("" if offset else "：")
    end = "全文：" + deps.issue_url.replace("{date}", issue.date) if deps.issue_url else "（完）"
    text, shown = pack(header, lines, texts.MORE_HINT, end)
    deps.sessions.set_page(openid, Page("issue", issue.date, offset + shown))
    return text


def month_page(deps: Deps, month: str) -> str:
    if deps.archive is None:
        return texts.NOT_READY
    issues = deps.archive.issues(month)
    if not issues:
        return f"{month} 没有出刊。发「最新」看最新一期。"
    lines = [f"{i.date} {i.title}" for i in issues]
    text, _ = pack(
        f"{month} 共 {len(issues)} 期：", lines, "", "发日期查看一期，例如 " + issues[0].date
    )
    return text


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
    return texts.subscribed(topic, changed)


async def unsubscribe(deps: Deps, openid: str, topic: str | None) -> str:
    changed = await _stored(
        deps, f"unsubscribe {openid}", lambda s: s.unsubscribe(openid, topic), "unsubscribe"
    )
    if changed is None:
        return texts.STORE_BUSY
    return texts.unsubscribed(topic, changed)


async def my_subscriptions(deps: Deps, openid: str) -> str:
    async def lookup(store: Store) -> tuple[Subscriber | None]:
        return (await store.subscriber(openid),)  # a tuple: None alone would mean "failed"

    found = await _stored(deps, f"subscriptions of {openid}", lookup)
    if found is None:
        return texts.STORE_BUSY
    sub = found[0]
    if sub is None or sub.status != "active":
        return texts.my_subscriptions(False, [])
    return texts.my_subscriptions(sub.all_issues, sub.topics)


Command = Callable[[Deps, str], Awaitable[str] | str]
COMMANDS: dict[str, Command] = {
    "帮助": lambda deps, openid: texts.HELP,
    "help": lambda deps, openid: texts.HELP,
    "?": lambda deps, openid: texts.HELP,
    "？": lambda deps, openid: texts.HELP,
    "菜单": lambda deps, openid: texts.HELP,
    "更多": more,
    "下一页": more,
    "n": more,
    "最新": lambda deps, openid: issue_page(deps, openid, None),
    "我的订阅": my_subscriptions,
}
SUBSCRIPTION = {"订阅": subscribe, "退订": unsubscribe, "取消订阅": unsubscribe}


async def _text(message: Incoming, deps: Deps) -> str:
    text = " ".join(strip_invalid(message.content).split())
    if not text:
        return texts.HELP
    command = COMMANDS.get(text.lower())
    if command is not None:
        answer = command(deps, message.openid)
        return answer if isinstance(answer, str) else await answer
    if m := DATE.match(text):
        return issue_page(deps, message.openid, f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}")
    if m := MONTH.match(text):
        return month_page(deps, f"{m[1]}-{int(m[2]):02d}")
    word, _, rest = text.partition(" ")
    if word in SUBSCRIPTION:
        if len(rest) > MAX_TOPIC:
            return texts.TOPIC_TOO_LONG
        return await SUBSCRIPTION[word](deps, message.openid, rest or None)
    return search_page(deps, message.openid, text)


class NotDone(Exception):
    """An event's work could not be committed: WeChat must not get `success`, so it retries."""


async def _event(message: Incoming, deps: Deps) -> str | None:
    """Events wait for the store as long as it takes (the webhook answers 503 meanwhile)."""
    if message.event.startswith("subscribe"):  # subscribe, subscribe_scan (by QR code)
        return texts.WELCOME
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

    A voice message is answered as its <Recognition> text (WeChat's speech to text)."""
    if message.kind == "event":
        return await _event(message, deps)
    if message.kind != "text" and not (message.kind == "voice" and message.content):
        return texts.NOT_TEXT
    return await _text(message, deps)
