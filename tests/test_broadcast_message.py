"""The broadcast texts: links grouped by section, whole entries in 2,048 bytes, digests."""

from __future__ import annotations

import re

from bot.broadcast.compose import MAX_BYTES, compose, entry_line
from index.search import Hit, IssueSummary

URL = "https://example.org/report/{date}.md"


def hit(section: str, title: str, url: str = "https://mp.weixin.qq.com/s/x") -> Hit:
    return Hit(
        issue="2020-04-26", section=section, title=title, source="", url=url, summary="", score=0
    )


def issue(entries: list[Hit], title: str = "嵌入式AI简报 (2020-04-26)") -> IssueSummary:
    return IssueSummary(date="2020-04-26", title=title, entries=tuple(entries))


def test_short_issue_shows_every_entry_grouped_by_section_and_the_issue_link() -> None:
    text = compose(
        issue([hit("论文", "YOLOv4"), hit("论文", "MobileBERT"), hit("开源", "TurboTransformers")]),
        URL,
    ).text
    lines = text.splitlines()
    assert lines[0] == "嵌入式AI简报 (2020-04-26)"
    assert text.index("【论文】") < text.index("YOLOv4") < text.index("【开源】")
    assert text.count("【论文】") == 1
    assert '<a href="https://mp.weixin.qq.com/s/x">MobileBERT</a>' in lines
    assert lines[-1] == "全文：https://example.org/report/2020-04-26.md"


def test_date_is_added_when_the_title_lacks_it() -> None:
    text = compose(issue([hit("论文", "a")], title="嵌入式AI简报"), URL).text
    assert text.splitlines()[0] == "嵌入式AI简报 (2020-04-26)"


def test_long_issue_keeps_whole_entries_within_2048_bytes() -> None:
    entries = [hit("论文" if i % 2 else "开源", f"第{i}条很长的标题" * 5) for i in range(60)]
    composed = compose(issue(entries), URL)
    size = len(composed.text.encode("utf-8"))
    assert size <= MAX_BYTES
    assert 0 < composed.shown < 60
    shown = re.findall(r">([^<]*)</a>", composed.text)
    assert len(shown) == composed.shown
    assert all(title in {e.title for e in entries} for title in shown)  # never a cut entry
    assert f"还有 {60 - composed.shown} 条" in composed.text
    assert composed.text.endswith("全文：https://example.org/report/2020-04-26.md")


def test_an_entry_too_long_is_skipped_and_shorter_ones_after_it_still_fit() -> None:
    entries = [hit("论文", "短"), hit("论文", "长" * 800), hit("论文", "也短")]
    composed = compose(issue(entries), URL)
    assert composed.shown == 2
    assert "也短" in composed.text and "长长长" not in composed.text


def test_titles_are_escaped_and_entries_without_url_are_plain_text() -> None:
    assert entry_line(hit("x", "a<b> & c", url="")) == "• a&lt;b&gt; &amp; c"
    assert entry_line(hit("x", "t", url='https://e.org/?a=1&b="2"')) == (
        '<a href="https://e.org/?a=1&amp;b=&quot;2&quot;">t</a>'
    )


def test_digest_names_its_topics() -> None:
    text = compose(issue([hit("论文", "INT8训练")]), URL, topics=["量化", "剪枝"]).text
    assert text.splitlines()[1] == "你订阅的主题：量化、剪枝"
