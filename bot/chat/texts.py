"""The bot's words: every fixed text of the conversation, in one place for the editor to tune."""

from __future__ import annotations

import re

from index.search.query import MAX_QUERY_CHARS, MAX_WORDS

POPULAR = ("量化", "Tengine", "剪枝")

HELP = """我是 NeuralTalk 的小助手，帮你翻《嵌入式AI简报》往期内容：
· 发关键词搜索，例如：量化、Tengine、论文 剪枝
· 更多（或 n）：下一页
· 最新：最新一期
· 2020-04-26：某一期；2020-04 或 5月：那个月的各期
· 订阅 / 退订：新一期出刊时推送给你
· 订阅 量化：只在新一期有「量化」相关内容时通知
· 我的订阅：查看你的订阅"""

WELCOME = "感谢关注 NeuralTalk！🎉\n" + HELP

NOT_TEXT = "我只看得懂文字哦。发个关键词试试，比如「量化」；发「帮助」看全部用法。"
MORE_HINT = "回复「更多」看下一页"
NO_MORE = "没有更多了。换个关键词试试？"
NOTHING_TO_CONTINUE = "还没有可以翻页的内容（或已超过 30 分钟）。先发个关键词吧，比如「量化」。"
NOT_READY = "档案正在准备中，请稍后再试。"
BAD_QUERY = "没看懂这个查询，换个关键词试试？例如：" + "、".join(POPULAR)
STORE_BUSY = "抱歉，订阅服务暂时有点忙，请稍后再试。"
TOPIC_TOO_LONG = "主题太长啦，用一个词就好，例如：订阅 量化"
BUSY = "抱歉，服务暂时有点忙，请稍后再试。"
TRY_AGAIN = "抱歉，出了点问题，请稍后再试。"
# an issue's title as the archive has it: 嵌入式AI简报 (2021-07-01)：three highlights
_ISSUE_TITLE = re.compile(r"^\s*嵌入式AI简报\s*[(（]?\s*\d{4}-\d{2}-\d{2}\s*[)）]?[\s:：，,]*")


def no_result(query: str, suggestion: str | None) -> str:
    shown = query if len(query) <= 30 else query[:30] + "…"
    lines = [f"没有找到「{shown}」相关的内容。"]
    if suggestion:
        lines.append(f"你是不是想找「{suggestion}」？")
    lines.append("试试这些热门主题：" + "、".join(POPULAR))
    return "\n".join(lines)


def no_issue(date: str | None, recent: list[str], same_month: bool = False) -> str:
    head = "还没有任何一期。" if date is None else f"没有 {date} 这一期。"
    if not recent:
        return head
    return head + ("这个月有：" if same_month else "最近几期：") + "、".join(recent)


def subscribed(topic: str | None, changed: bool) -> str:
    if topic:
        if changed:
            return f"已订阅主题「{topic}」：新一期有相关内容时通知你。"
        return f"你已经订阅了主题「{topic}」。"
    if changed:
        return "订阅成功！新一期出刊时会推送给你。发「退订」可随时取消。"
    return "你已经订阅过了，新一期出刊时会推送给你。"


def unsubscribed(topic: str | None, changed: bool) -> str:
    if topic:
        if changed:
            return f"已退订主题「{topic}」。"
        return f"你没有订阅主题「{topic}」。发「我的订阅」看看你订了哪些。"
    if changed:
        return "已退订新一期推送。主题订阅不受影响，发「我的订阅」查看。"
    return "你还没有订阅新一期推送。发「订阅」即可订阅。"


def my_subscriptions(all_issues: bool, topics: list[str]) -> str:
    if not all_issues and not topics:
        return "你还没有任何订阅。发「订阅」订阅新一期，或「订阅 量化」只订阅一个主题。"
    lines = ["你的订阅："]
    if all_issues:
        lines.append("· 每一期新简报")
    if topics:
        lines.append("· 主题：" + "、".join(topics))
    if all_issues and topics:
        lines.append(f"发「退订」取消新一期推送，发「退订 {topics[0]}」取消这个主题。")
    elif topics:
        lines.append(f"发「退订 {topics[0]}」取消这个主题。")
    else:
        lines.append("发「退订」即可取消。")
    return "\n".join(lines)


def welcome_subscribed(topic: str | None) -> str:
    """The welcome of a follow by QR code that subscribed the new follower."""
    if topic:
        done = f"已为你订阅「{topic}」：新一期有相关内容时会通知你，发「退订 {topic}」可取消。"
    else:
        done = "已为你订阅新一期简报：出刊时推送给你，发「退订」可取消。"
    return f"感谢关注 NeuralTalk！🎉\n{done}\n\n" + HELP


def query_too_long(size: int, unit: str) -> str:
    """A query over the limits: say which one, and what to send instead."""
    what = f"有 {size} 个字" if unit == "characters" else f"有 {size} 个词"
    return (
        f"这条消息{what}，太长啦：我一次最多查 {MAX_WORDS} 个词、{MAX_QUERY_CHARS} 个字。"
        "挑一两个关键词再发给我吧，例如：" + "、".join(POPULAR)
    )


def results_header(
    query: str, words: tuple[str, ...], split: bool, matched_all: bool, total: int
) -> str:
    """The first line of a page of results; the words searched are shown whenever the
    phrase was split, and when no entry has them all."""
    shown = "「" + " ".join(words) + "」"
    if matched_all:
        quoted = query if len(query) <= 30 else query[:30] + "…"
        return f"按{shown}查找，共 {total} 条：" if split else f"「{quoted}」共 {total} 条："
    lead = f"按{shown}查找：" if split else ""
    each = "".join(f"「{w}」" for w in words)
    return f"{lead}没有同时包含{each}的条目，以下是包含其中任一词的 {total} 条："


def month_line(date: str, title: str) -> str:
    """One issue of a month's list: its date, and what its title adds (the highlights)."""
    rest = _ISSUE_TITLE.sub("", title).strip()
    if not rest or rest == date:
        return date
    return f"{date}  {rest if len(rest) <= 40 else rest[:40] + '…'}"


def pick_an_issue(example: str) -> str:
    return f"发送日期即可查看那一期，例如「{example}」。"


def no_month(month: str | None, number: int) -> str:
    if month is None:
        return f"往期里没有 {number} 月出刊的简报。发「最新」看最新一期。"
    year, _, mm = month.partition("-")
    return f"{year} 年 {int(mm)} 月没有出刊。发「最新」看最新一期。"


def not_a_date(text: str) -> str:
    return (
        f"「{text[:20]}」不是有效的日期。发日期查看一期，例如「2020-04-26」；"
        "发月份查看那个月的各期，例如「2020-04」。"
    )


def topic_one_word(command: str) -> str:
    return f"主题只能是一个词，例如「{command} 量化」。想订阅几个主题，就分开发几次。"
