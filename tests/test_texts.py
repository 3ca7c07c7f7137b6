"""What followers read, over real HTTP against the whole archive: each text says what happened
in natural Chinese, with real examples, and the words the bot searched for."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from wechat_messages import WeChat, settings_for

from bot.chat import texts
from bot.chat.app import create_app
from bot.store.store import Store
from index.search import Archive

Client = Callable[[web.Application], Awaitable[TestClient]]


@pytest.fixture
async def wechat(
    store: Store, aiohttp_client: Client, corpus_index: Path, tmp_path: Path
) -> WeChat:
    app = create_app(settings_for(tmp_path, tmp_path / "nt.db"), Archive.open(corpus_index), store)
    return WeChat(await aiohttp_client(app))


async def say(wechat: WeChat, content: str, openid: str = "oReader") -> str:
    answer = await wechat.say(content, openid=openid)
    assert answer.status == 200 and answer.text is not None, answer.body
    return answer.text


@pytest.mark.parametrize(
    ("query", "size"),
    [("量化 剪枝 蒸馏 二值 部署 芯片 手机 框架 论文", "9 个词"), ("量" * 520, "520 个字")],
)
async def test_a_long_query_is_told_the_limits(wechat: WeChat, query: str, size: str) -> None:
    text = await say(wechat, query)
    assert size in text and "最多查 8 个词、200 个字" in text
    assert text != texts.BAD_QUERY and "没看懂" not in text


@pytest.mark.parametrize(
    ("message", "head"),
    [
        ("5月", "2021 年 5 月共 1 期："),  # the latest May with issues
        ("2020年5月", "2020 年 5 月共 1 期："),
        ("202005", "2020 年 5 月共 1 期："),
        ("2020-05", "2020 年 5 月共 1 期："),
        ("20200515", "嵌入式AI简报 (2020-05-15)"),
        ("2020.5.15", "嵌入式AI简报 (2020-05-15)"),
        ("2020年5月15日", "嵌入式AI简报 (2020-05-15)"),
        ("20200510", "没有 2020-05-10 这一期。这个月有：2020-05-15"),
    ],
)
async def test_months_and_dates_as_people_write_them(
    wechat: WeChat, message: str, head: str
) -> None:
    assert (await say(wechat, message)).startswith(head)


@pytest.mark.parametrize("message", ["2020-13-01", "2020-02-30", "2020-13", "13月"])
async def test_an_impossible_date_says_it_is_not_a_date(wechat: WeChat, message: str) -> None:
    text = await say(wechat, message)
    assert text.startswith(f"「{message}」不是有效的日期")
    assert "例如「2020-04-26」" in text


async def test_my_subscriptions_gives_real_examples_never_a_placeholder(wechat: WeChat) -> None:
    await say(wechat, "订阅")
    await say(wechat, "订阅 量化")
    text = await say(wechat, "我的订阅")
    assert "「退订 量化」" in text and "「退订」" in text
    assert "主题」" not in text.replace("这个主题", "")
    await say(wechat, "退订")
    assert "「退订 量化」" in await say(wechat, "我的订阅")


async def test_topics_and_suggestions_keep_the_archive_case(wechat: WeChat) -> None:
    assert await say(wechat, "订阅 tengine") == texts.subscribed("Tengine", True)
    assert "· 主题：Tengine" in await say(wechat, "我的订阅")
    assert "你是不是想找「Tengine」？" in await say(wechat, "Tengnie")
    assert "你是不是想找「MobileNet」？" in await say(wechat, "mobilenett")


async def test_the_month_list_shows_each_issue_once_readably(wechat: WeChat) -> None:
    text = await say(wechat, "2021-07")
    lines = text.splitlines()
    assert lines[0] == "2021 年 7 月共 1 期："
    assert lines[1].startswith("2021-07-01  三星3nm流片/")
    assert text.count("2021-07-01") == 2  # the line, and the example of the last line
    assert lines[-1] == "发送日期即可查看那一期，例如「2021-07-01」。"
    april = (await say(wechat, "2020-04")).splitlines()
    assert april[1:3] == ["2020-04-26", "2020-04-04"]


async def test_a_split_phrase_shows_its_words_in_every_case(wechat: WeChat) -> None:
    some = await say(wechat, "华为量化剪枝")  # no entry has all three
    assert some.splitlines()[0].startswith(
        "按「华为 量化 剪枝」查找：没有同时包含「华为」「量化」「剪枝」"
    )
    every = await say(wechat, "量化蒸馏部署")
    assert every.splitlines()[0].startswith("按「量化 蒸馏 部署」查找，共 ")
    typed = await say(wechat, "华为 qwzxqwzx")
    assert typed.splitlines()[0].startswith("没有同时包含「华为」「qwzxqwzx」的条目")


async def test_an_entry_without_a_link_shows_its_title_without_a_stray_bullet(
    wechat: WeChat,
) -> None:
    issue = await say(wechat, "2021-01-05")
    assert re.search(r"^\d+\. 云从$", issue, re.M), issue
    assert "•" not in issue
    found = await say(wechat, "云从")
    assert re.search(r"^\d+\. \[2021-01-05 热身新闻\] 云从$", found, re.M), found


async def test_a_topic_of_two_words_is_asked_for_one(wechat: WeChat, store: Store) -> None:
    text = await say(wechat, "订阅 论文 剪枝")
    assert text.startswith("主题只能是一个词，例如「订阅 量化」")
    assert await store.subscriber("oReader") is None
