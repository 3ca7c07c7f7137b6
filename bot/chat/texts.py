"""The bot's words: every fixed text of the conversation, in one place for the editor to tune."""

from __future__ import annotations

POPULAR = ("量化", "Tengine", "剪枝")

HELP = """我是 NeuralTalk 的小助手，帮你翻《嵌入式AI简报》往期内容：
· 发关键词搜索，例如：量化、Tengine、论文 剪枝
· 更多（或 n）：下一页
· 最新：最新一期
· 2020-04-26：某一期；2020-04：某月的各期
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
TOPIC_TOO_LONG = "主题太长啦，用一两个词就好，例如：订阅 量化"
BUSY = "抱歉，服务暂时有点忙，请稍后再试。"
TRY_AGAIN = "抱歉，出了点问题，请稍后再试。"


def no_result(query: str, suggestion: str | None) -> str:
    shown = query if len(query) <= 30 else query[:30] + "…"
    lines = [f"没有找到「{shown}」相关的内容。"]
    if suggestion:
        lines.append(f"你是不是想找「{suggestion}」？")
    lines.append("试试这些热门主题：" + "、".join(POPULAR))
    return "\n".join(lines)


def no_issue(date: str | None, recent: list[str]) -> str:
    head = "还没有任何一期。" if date is None else f"没有 {date} 这一期。"
    if not recent:
        return head
    return head + "最近几期：" + "、".join(recent)


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
        return f"已退订主题「{topic}」。" if changed else f"你没有订阅主题「{topic}」。"
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
    lines.append("发「退订」或「退订 主题」取消。")
    return "\n".join(lines)
