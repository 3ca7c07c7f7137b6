"""The conversation over real HTTP: each command, each event, searches, paging, reply limits."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from wechat_messages import OTHER_TYPES, WeChat, settings_for

from bot.chat.app import create_app
from bot.chat.replies import Deps, instant, reply_to
from bot.render import MAX_BYTES, pack
from bot.store.store import Store
from bot.wechat.protocol import Incoming
from index.ingest import ingest
from index.search import Archive

Client = Callable[[web.Application], Awaitable[TestClient]]
NUMBERED = re.compile(r"^(\d+)\. ", re.M)


ROOT = Path(__file__).resolve().parent.parent
ODD_ISSUE = """# 嵌入式AI简报 (2019-01-05)

## 论文

- [奇怪的标题]]>结束 <b>粗</b> & 😀 \x01控制\x1f字符 | 来源](https://example.org/a?x=1&y=2)
摘要：一个带 ]]> 和 <tag> 和 & 的摘要。
"""


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Path:
    """The shipped issue, three more from the corpus, and one full of characters XML dislikes."""
    work = tmp_path_factory.mktemp("replies")
    (work / "2019-01-05.md").write_text(ODD_ISSUE, encoding="utf-8")
    files = [corpus_dir / f"{d}.md" for d in ("2020-03-19", "2020-05-15", "2020-06-03")]
    ingest(work / "index", [ROOT / "issues" / "2020-04-26.md", *files, work / "2019-01-05.md"])
    return work / "index"


@pytest.fixture
def archive(index_dir: Path) -> Archive:
    return Archive.open(index_dir)


@pytest.fixture
async def wechat(store: Store, aiohttp_client: Client, archive: Archive, tmp_path: Path) -> WeChat:
    app = create_app(settings_for(tmp_path, tmp_path / "nt.db"), archive, store)
    return WeChat(await aiohttp_client(app))


async def text_of(wechat: WeChat, content: str, openid: str = "oFollower1") -> str:
    answer = await wechat.say(content, openid=openid)
    assert answer.status == 200, answer.body
    assert answer.text is not None
    assert len(answer.text.encode("utf-8")) <= MAX_BYTES
    return answer.text


async def test_a_keyword_query_lists_numbered_linked_entries_with_total(
    wechat: WeChat, archive: Archive
) -> None:
    text = await text_of(wechat, "YOLOv4")
    expected = archive.search("YOLOv4", limit=1)
    hit = expected.results[0]
    assert f"共 {expected.total} 条" in text.splitlines()[0]
    assert f'1. [{hit.issue} {hit.section}] <a href="{hit.url}">' in text


async def test_a_phrase_without_spaces_is_looked_up_as_its_words(
    wechat: WeChat, archive: Archive
) -> None:
    expected = archive.search("模型 部署", limit=1)
    text = await text_of(wechat, "模型部署")
    assert archive.search("模型部署", limit=1).split and expected.total
    assert f"按「模型 部署」查找，共 {expected.total} 条" in text.splitlines()[0]
    assert expected.results[0].url in text


async def test_more_pages_through_a_long_result_in_order(wechat: WeChat, archive: Archive) -> None:
    total = archive.search("模型", limit=1).total
    seen: list[int] = []
    text = await text_of(wechat, "模型")
    while True:
        seen += [int(n) for n in NUMBERED.findall(text)]
        if "更多" not in text.splitlines()[-1]:
            break
        text = await text_of(wechat, "n" if len(seen) % 2 else "下一页")
    assert seen == list(range(1, total + 1))
    assert "没有更多" in await text_of(wechat, "更多")
    assert len(seen) > len(NUMBERED.findall(await text_of(wechat, "模型")))  # it was paged


async def test_more_without_a_query_explains(wechat: WeChat) -> None:
    assert "先发个关键词" in await text_of(wechat, "更多", openid="oNew")


@pytest.mark.parametrize("word", ["帮助", "help", "?", "？", "菜单", "HELP"])
async def test_help_words_show_usage_with_examples(wechat: WeChat, word: str) -> None:
    text = await text_of(wechat, word)
    assert "量化" in text and "最新" in text and "订阅" in text


async def test_latest_shows_the_newest_issue_grouped_by_section(
    wechat: WeChat, archive: Archive
) -> None:
    text = await text_of(wechat, "最新")
    issue = archive.latest()
    assert issue is not None
    assert issue.date in text.splitlines()[0]
    first = issue.entries[0]
    assert f"【{first.section}】" in text and first.title.split()[0] in text
    more = await text_of(wechat, "更多")
    assert NUMBERED.findall(more)[0] == str(len(NUMBERED.findall(text)) + 1)


async def test_a_date_and_a_month(wechat: WeChat) -> None:
    assert "2020-04-26" in (await text_of(wechat, "2020-04-26")).splitlines()[0]
    assert "2020-04-26" in await text_of(wechat, "2020/4/26")
    month = await text_of(wechat, "2020-04")
    assert "共 1 期" in month and "2020-04-26" in month
    assert "没有出刊" in await text_of(wechat, "2018-01")
    missing = await text_of(wechat, "2020-04-27")
    assert "没有 2020-04-27 这一期" in missing and "2020-04-26" in missing


async def test_subscriptions_by_chat(wechat: WeChat, store: Store) -> None:
    assert "订阅成功" in await text_of(wechat, "订阅")
    assert "已订阅主题「量化」" in await text_of(wechat, "订阅 量化")
    mine = await text_of(wechat, "我的订阅")
    assert "每一期" in mine and "量化" in mine
    assert "已退订新一期推送" in await text_of(wechat, "退订")
    assert "已退订主题「量化」" in await text_of(wechat, "退订 量化")
    assert "还没有任何订阅" in await text_of(wechat, "我的订阅")
    subscriber = await store.subscriber("oFollower1")
    assert subscriber is not None and not subscriber.all_issues and subscriber.topics == []


async def test_follow_welcomes_and_unfollow_leaves_everything(wechat: WeChat, store: Store) -> None:
    welcome = await wechat.event("subscribe")
    assert welcome.text is not None and "感谢关注" in welcome.text and "量化" in welcome.text
    await text_of(wechat, "订阅")
    await text_of(wechat, "订阅 剪枝")
    leave = await wechat.event("unsubscribe")
    assert leave.status == 200 and leave.body == "success"
    subscriber = await store.subscriber("oFollower1")
    assert subscriber is not None and subscriber.status == "unsubscribed"
    assert not subscriber.all_issues and subscriber.topics == []


@pytest.mark.parametrize("kind", sorted(OTHER_TYPES))
async def test_other_message_types_get_a_short_help(wechat: WeChat, kind: str) -> None:
    xml = wechat.follower.message_xml("oFollower1", kind, 1700000000, MsgId="55" + str(len(kind)),
                                      **OTHER_TYPES[kind])  # fmt: skip
    answer = await wechat.send_xml(xml)
    assert answer.text is not None and "文字" in answer.text and "帮助" in answer.text


@pytest.mark.parametrize("event", ["VIEW", "SCAN", "LOCATION", "TEMPLATESENDJOBFINISH"])
async def test_other_events_get_success(wechat: WeChat, event: str) -> None:
    answer = await wechat.event(event, EventKey="k")
    assert answer.status == 200 and answer.body == "success"


async def test_mass_send_job_finish_is_recorded(wechat: WeChat, store: Store) -> None:
    fields = {"MsgID": "1000001625", "Status": "sendsuccess", "TotalCount": "100",
              "FilterCount": "80", "SentCount": "75", "ErrorCount": "5"}  # fmt: skip
    answer = await wechat.event("MASSSENDJOBFINISH", openid="gh_neuraltalk", **fields)
    assert answer.status == 200 and answer.body == "success"


async def test_no_result_says_so_with_a_suggestion_and_popular_topics(wechat: WeChat) -> None:
    text = await text_of(wechat, "Tengnie")
    assert "没有找到「Tengnie」" in text
    assert "Tengine" in text or "tengine" in text
    assert "试试这些热门主题" in text


@pytest.mark.parametrize(
    "query", ["a]]>b", "<script>&amp;", "量化 😀🚀", "]]>" * 300, "奇怪的标题", "2019-01-05"]
)
async def test_replies_stay_valid_xml_whatever_the_text(wechat: WeChat, query: str) -> None:
    text = await text_of(wechat, query)  # reply_text parsed the reply XML (expat, no DTD)
    assert "\x01" not in text and "\x1f" not in text
    if query in ("奇怪的标题", "2019-01-05"):
        assert "]]>结束" in html.unescape(text) and "😀" in text


def test_pack_keeps_whole_lines_within_the_limit() -> None:
    lines = [f"{i}. " + "条目" * 60 for i in range(1, 40)]
    text, shown = pack("头", lines, "回复「更多」看下一页", "（完）")
    assert len(text.encode("utf-8")) <= MAX_BYTES
    assert 0 < shown < len(lines)
    assert text.splitlines()[1:-1] == lines[:shown]
    assert text.endswith("更多」看下一页")


def test_pack_cuts_a_single_huge_entry_rather_than_showing_nothing() -> None:
    text, shown = pack("头", ['1. <a href="u">' + "长" * 3000 + "</a>", "2. 短"], "更多", "完")
    assert shown == 1 and len(text.encode("utf-8")) <= MAX_BYTES
    assert "<a" not in text and text.endswith("更多")


def test_pack_ends_with_end_when_everything_fits_and_makes_no_line_past_the_first_cut() -> None:
    assert pack("头", ["1. a", "2. b"], "更多", "完") == ("头\n1. a\n2. b\n完", 2)
    assert pack("头", ["1. " + "长" * 3000], "更多", "完")[0].endswith("完")  # alone, and cut
    made: list[int] = []

    def lines() -> Iterator[str]:
        for i in range(1, 100):
            made.append(i)
            yield f"{i}. " + "条目" * 60

    text, shown = pack("头", lines(), "更多", "完")
    assert text.endswith("更多") and made == list(range(1, shown + 2))


@pytest.mark.parametrize("key", ["最新", "量化", "帮助", "论文 剪枝"])
async def test_a_menu_click_is_answered_as_its_key_sent_as_text(wechat: WeChat, key: str) -> None:
    clicked = await wechat.event("CLICK", openid="oClicker", EventKey=key)
    assert clicked.status == 200 and clicked.text is not None
    assert clicked.text == await text_of(wechat, key, openid="oTyper")


async def test_a_retried_click_gets_the_same_answer_and_subscribes_once(
    wechat: WeChat, store: Store
) -> None:
    xml = wechat.follower.event("oClicker", "CLICK", create_time=1700000000, EventKey="订阅")
    first = await wechat.send_xml(xml)
    retry = await wechat.send_xml(xml)  # WeChat's retry: same CreateTime, same key
    assert first.text is not None and "订阅成功" in first.text
    assert retry.text == first.text
    again = await wechat.event("CLICK", openid="oClicker", create_time=1700000009, EventKey="订阅")
    assert again.text is not None and "已经订阅" in again.text
    subscriber = await store.subscriber("oClicker")
    assert subscriber is not None and subscriber.all_issues


async def test_a_retried_search_gets_the_same_page_and_more_still_continues_from_it(
    wechat: WeChat,
) -> None:
    first = await wechat.say("模型", openid="oRetry", msg_id="5001")
    retry = await wechat.say("模型", openid="oRetry", msg_id="5001")  # answered at once again
    assert first.text is not None and retry.text == first.text
    shown = [int(n) for n in NUMBERED.findall(first.text)]
    page2 = await text_of(wechat, "更多", openid="oRetry")
    assert int(NUMBERED.findall(page2)[0]) == shown[-1] + 1


@pytest.mark.parametrize(
    ("content", "kind"),
    [("帮助", "text"), ("模型", "text"), ("最新", "text"), ("2020-04-26", "text"),
     ("2020年5月", "text"), ("2020-02-30", "text"), ("订阅 a b", "text"), ("", "image")],
)  # fmt: skip
async def test_instant_replies_are_what_reply_to_says(
    archive: Archive, content: str, kind: str
) -> None:
    message = Incoming("oA", "gh", 1, kind, msg_id="1", content=content)
    answer = instant(message, Deps(archive=archive))
    assert answer is not None
    assert answer == await reply_to(message, Deps(archive=archive))


@pytest.mark.parametrize("content", ["订阅", "退订 TVM", "更多", "我的订阅", "n"])
def test_what_needs_the_store_or_the_follower_s_page_is_not_instant(
    archive: Archive, content: str
) -> None:
    message = Incoming("oA", "gh", 1, "text", msg_id="1", content=content)
    assert instant(message, Deps(archive=archive)) is None
