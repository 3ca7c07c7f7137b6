"""index.parse: real entries of every year's format, synthetic edge cases, and bad input."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from index.errors import IssueError
from index.parse import (
    MAX_FILE_BYTES,
    MAX_WARNINGS,
    WARMUP_SECTION,
    Entry,
    Issue,
    Link,
    parse_file,
    parse_text,
)


@pytest.fixture(scope="module")
def corpus(corpus_dir: Path) -> dict[str, Issue]:
    """Every issue of the real corpus, parsed once, by date."""
    issues = [parse_file(path) for path in sorted(corpus_dir.glob("20*.md"))]
    return {issue.date: issue for issue in issues}


def entry_at(issue: Issue, line: int) -> tuple[str, Entry]:
    """The entry whose bullet is on `line`, with its section's name."""
    found = [(section.name, entry) for section, entry in issue.entries if entry.line == line]
    assert len(found) == 1, f"no entry on line {line} of {issue.path}"
    return found[0]


# --- the real corpus -----------------------------------------------------------------------


def test_every_corpus_file_parses_with_its_date_and_entries(corpus_dir: Path) -> None:
    paths = sorted(corpus_dir.glob("20*.md"))
    assert len(paths) == 30
    for path in paths:
        issue = parse_file(path)
        assert issue.date == path.stem
        assert issue.title.startswith(f"嵌入式AI简报 ({path.stem})")
        assert len(issue.entries) >= 10, path
        assert all(entry.title for _, entry in issue.entries), path
        json.dumps(issue.to_dict(), ensure_ascii=False)  # the `parse --json` shape serialises


def test_entry_lines_point_at_their_bullets(corpus: dict[str, Issue]) -> None:
    for issue in corpus.values():
        lines = Path(issue.path).read_text(encoding="utf-8").split("\n")
        for _, entry in issue.entries:
            assert lines[entry.line - 1].startswith(("- ", "– ")), (issue.path, entry.line)


def test_entry_counts_match_the_editors_own_counts(corpus: dict[str, Issue]) -> None:
    # 导读 says "本期内容23条" / "本次16条": the entries outside the warm-up news.
    for day, count in [("2020-04-26", 23), ("2020-06-03", 16), ("2020-09-17", 20),
                       ("2021-01-05", 17), ("2021-05-21", 10), ("2021-07-01", 16)]:  # fmt: skip
        issue = corpus[day]
        assert f"{count}条" in issue.intro
        regular = [e for s, e in issue.entries if s.name != WARMUP_SECTION]
        assert len(regular) == count, day


def test_section_names_in_file_order(corpus: dict[str, Issue]) -> None:
    names = {day: [s.name for s in issue.sections] for day, issue in corpus.items()}
    assert names["2019-03-31"] == ["业界新闻", "论文", "开源项目", "博文"]
    assert names["2020-04-26"] == ["业界新闻", "论文", "开源项目", "博文"]
    assert names["2020-07-18"] == [WARMUP_SECTION, "业界新闻", "论文", "开源项目", "博文"]
    assert names["2021-08-01"] == [WARMUP_SECTION, "业界新闻", "论文", "开源项目", "博文"]
    assert corpus["2021-08-01"].sections[-1].entries == ()  # its 博文 heading has no entries yet
    assert all(name == name.strip() for issue_names in names.values() for name in issue_names)


def test_archive_section_front_matter_and_footer_are_not_content(
    corpus: dict[str, Issue],
) -> None:
    for issue in corpus.values():
        assert all("往期回顾" not in section.name for section in issue.sections)
        for _, entry in issue.entries:
            text = json.dumps(entry.to_dict(), ensure_ascii=False)
            assert "embedded-ai-report/20" not in text  # the 往期回顾 links to older issues
            assert "Editor" not in text and "知识共享" not in text and "NeuroMem" not in text
            assert "layout: default" not in text


def test_2019_tagged_arxiv_paper_with_bracketed_links(corpus: dict[str, Issue]) -> None:
    section, entry = entry_at(corpus["2019-03-31"], 24)
    assert section == "论文"
    assert entry.title == (
        "PROXYLESSNAS: DIRECT NEURAL ARCHITECTURE SEARCH ON TARGET TASK AND HARDWARE"
    )
    assert entry.source == ""
    assert entry.url == "https://arxiv.org/pdf/1812.00332.pdf"
    assert entry.tags == ("1812.00332",)
    assert [link.label for link in entry.links] == ["报道原文", "新智元解读"]
    assert entry.links[0] == Link(
        "报道原文", "http://news.mit.edu/2019/convolutional-neural-network-automation-0321"
    )
    assert entry.summary == (
        "MIT韩松等人团队开发了一种高效的神经结构搜索算法，可以为在特定硬件上自动设计快速运行的"
        "神经网络提供一个“按钮型”解决方案，算法设计和优化的机器学习模型比传统方法快200倍。"
    )


def test_2019_link_label_without_double_brackets(corpus: dict[str, Issue]) -> None:
    _, entry = entry_at(corpus["2019-03-31"], 26)
    assert entry.tags == ("SysML 2019",)
    assert entry.url == "https://www.sysml.cc/doc/2019/79.pdf"
    assert [link.label for link in entry.links] == ["机器之心解读"]
    _, entry = entry_at(corpus["2019-03-31"], 30)
    assert (entry.title, entry.source) == (
        "百度增强现实自动驾驶仿真系统登上 Science 子刊",
        "机器之心",
    )
    assert entry.links == (
        Link("science子刊", "http://robotics.sciencemag.org/content/4/28/eaaw0863.full"),
    )


def test_2019_nested_sub_entries_become_summary_text(corpus: dict[str, Issue]) -> None:
    _, entry = entry_at(corpus["2019-06-17"], 34)
    assert (entry.title, entry.source) == ("ICLR 2019论文解读：量化神经网络", "机器之心")
    lines = entry.summary.split("\n")
    assert (
        lines[0]
        == "UNDERSTANDING STRAIGHT-THROUGH ESTIMATOR IN TRAINING ACTIVATION QUANTIZED NEURAL NETS"
    )
    assert lines[1].startswith("使用直通估计器（STE）的理由")  # nested 摘要： label dropped
    assert "ANALYSIS OF QUANTIZED MODELS" in lines
    assert "](" not in entry.summary and "摘要" not in entry.summary


def test_2019_images_vanish_and_links_become_their_text(corpus: dict[str, Issue]) -> None:
    _, entry = entry_at(corpus["2019-04-27"], 62)
    assert "mmbiz" not in entry.summary and "modin-architecture" not in entry.summary
    assert "\n1. Pandas API 在最顶层暴露给用户。\n" in entry.summary
    assert entry.summary.endswith("也可以在集群上用于大型计算。")
    assert "Modin 利用 Ray 加速 Pandas" in entry.summary


def test_2020_entry_with_source_and_multiline_summary(corpus: dict[str, Issue]) -> None:
    section, entry = entry_at(corpus["2020-04-26"], 56)
    assert section == "论文"
    assert entry.title == "用于加速卷积神经网络训练过程INT8训练技术"
    assert entry.source == "商汤泰坦公开课"
    assert entry.url == "https://mp.weixin.qq.com/s/yC2Jb4feobD1MttblHw_xg"
    assert entry.tags == ("CVPR 2020",)
    assert entry.links == ()
    first, second = entry.summary.split("\n")
    assert first.startswith("模型量化是一种将浮点计算转成低比特定点计算的技术")
    assert second.endswith("等多篇与北航刘祥龙老师团队合作的论文成果。")


def test_2020_summary_with_nested_numbered_list(corpus: dict[str, Issue]) -> None:
    section, entry = entry_at(corpus["2020-04-26"], 24)
    assert section == "业界新闻"
    assert (entry.title, entry.source) == (
        "华为麒麟985背后，藏着国产芯片设计的一丝辛酸",
        "魔铁的世界",
    )
    lines = entry.summary.split("\n")
    assert len(lines) == 5
    assert lines[0].startswith("一般来说，在芯片的产品线规划里")
    assert (
        lines[1]
        == "为了平衡硬件错配，让麒麟990跑分不那么丢脸，华为在麒麟985上不惜使用诸多压制手法："
    )
    assert [line[:3] for line in lines[2:]] == ["1. ", "2. ", "3. "]
    assert lines[4].endswith("16个“小矮人”以人海战术保住了旗舰的面子。")  # no trailing "  "


def test_2020_intro_title_and_fullwidth_bar(corpus: dict[str, Issue]) -> None:
    issue = corpus["2020-04-26"]
    assert issue.title == "嵌入式AI简报 (2020-04-26)"
    assert issue.intro.startswith("本期内容23条。「业界新闻」除了提到的三星下一代旗舰Soc外")
    assert len(issue.intro.split("\n")) == 3  # the blockquote's lazy continuation lines
    assert "OpenCV4.3发布，ARM上集成Tengine提升性能可观" in issue.intro  # a link's text
    assert "](" not in issue.intro
    _, entry = entry_at(issue, 92)
    assert (entry.title, entry.source) == ("闲话模型压缩之网络剪枝（Network Pruning）", "极市平台")


def test_lines_before_the_summary_label_are_kept(corpus: dict[str, Issue]) -> None:
    _, entry = entry_at(corpus["2020-07-18"], 63)
    assert entry.source == "GiantPandaCV"
    lines = entry.summary.split("\n")
    assert lines[:2] == [
        "链接：https://arxiv.org/pdf/2006.16669.pdf",
        "代码：https://github.com/deepglint/EasyQuant",
    ]
    assert lines[2].startswith("这篇文章提出的后训练量化算法的思路是")
    _, entry = entry_at(corpus["2021-08-01"], 63)
    assert entry.summary.split("\n")[:3] == [
        "论文：https://yuanming.taichi.graphics/publication/2021-quantaichi/quantaichi.pdf",
        "项目：https://yuanming.taichi.graphics/publication/2021-quantaichi/",
        "代码：https://github.com/taichi-dev/quantaichi",
    ]


def test_warmup_news_bullets(corpus: dict[str, Issue]) -> None:
    warmup = corpus["2020-07-18"].sections[0]
    assert warmup.name == WARMUP_SECTION
    assert len(warmup.entries) == 8
    first = warmup.entries[0]
    assert (first.title, first.summary, first.url, first.line) == (
        "寒武纪7月20日科创板上市",
        "募资近26亿 联想美的配售",
        "",
        16,
    )
    sony = warmup.entries[6]  # a warm-up bullet with a link: the link's target is its url
    assert sony.url == "https://developer.sony.com/develop/spresense/"
    assert sony.title.startswith("索尼推出边缘低功耗解决方案Spresense microcontroller board，")
    assert warmup.entries[7].title == "英伟达超英特尔成美国市值最高芯片商。"


def test_warmup_title_before_colon_only_when_short(corpus: dict[str, Issue]) -> None:
    nvidia = corpus["2020-09-17"].sections[0].entries[0]
    assert nvidia.title == "英伟达 & ARM"
    assert nvidia.summary.startswith("英伟达与软银旗下Arm公司发表声明")
    samsung = corpus["2020-06-03"].sections[0].entries[1]  # its first colon is 24 characters in
    assert samsung.title.startswith("三星5nm Exynos SoC 今年8月即将量产：性能大涨，且会使用")
    assert samsung.summary == ""
    qualcomm = corpus["2021-07-01"].sections[0].entries[4]  # "高通:[…](…)": an ASCII colon
    assert (qualcomm.title, qualcomm.url) == (
        "高通",
        "https://mp.weixin.qq.com/s/kM1WQusx4IzsLTx5E0zA9A",
    )


def test_2021_en_dash_bullet_and_emphasis_in_warmup(corpus: dict[str, Issue]) -> None:
    warmup = corpus["2021-08-01"].sections[0]
    assert [e.title for e in warmup.entries[:2]] == ["Imagination", "台积电"]
    assert warmup.entries[0].line == 15  # "– Imagination：…"
    assert warmup.entries[1].summary.startswith(
        "Q2财报发布后，股价大跌5.5%，市值蒸发2300亿。原因是"
    )
    assert "**" not in warmup.entries[1].summary


def test_2021_empty_link_target_and_summary_label_without_colon(
    corpus: dict[str, Issue],
) -> None:
    issue = corpus["2021-08-01"]
    assert issue.title == "嵌入式AI简报 (2021-08-01)"  # the trailing "：" is dropped
    assert issue.intro == ""  # "> 导读：" with nothing after it
    _, empty = entry_at(issue, 30)
    assert (empty.title, empty.source, empty.url) == (
        "谷歌进一步推广TensorFlow Lite到Android APP开发者",
        "",
        "",
    )
    assert empty.summary.startswith("谷歌近期决定将 Android ML 平台")
    _, huami = entry_at(issue, 32)
    assert huami.summary.startswith("华米在合肥举行的发布会上")  # "摘要华米在…"
    _, nn_meter = entry_at(issue, 44)
    assert (nn_meter.tags, nn_meter.url, nn_meter.source) == (
        ("MobiSys 2021",),
        "",
        "微软研究院AI头条",
    )


def test_2021_adjacent_tags_and_target_written_twice(corpus: dict[str, Issue]) -> None:
    _, entry = entry_at(corpus["2021-07-01"], 63)
    assert entry.tags == ("CVPR2021", "2104.11487")
    assert entry.title == "Skip-Convolutions for Efficient Video Processing"
    assert entry.url == "https://mp.weixin.qq.com/s/uEyjGKQRSpGF8nm_5zhf5A"
    assert entry.summary.startswith("作者高通，")  # the repeated "(url)" is not summary text


def test_bullets_without_a_link(corpus: dict[str, Issue]) -> None:
    _, entry = entry_at(corpus["2020-01-27"], 13)
    assert (entry.title, entry.source, entry.url) == ("iPhone 12将采用5纳米A14处理器", "IT之家", "")
    assert entry.summary.startswith("1月17日，据国外媒体报道")
    _, entry = entry_at(corpus["2019-10-03"], 67)
    assert entry.title == "Polyhedral Model—AI芯片软硬件优化利器"
    assert entry.source == "要术甲杰 StarryHeavensAbove"
    assert entry.summary.endswith("3. Polyhedral Model—AI芯片软硬件优化利器（三）")


def test_intro_paragraphs_after_the_daodu_blockquote(corpus: dict[str, Issue]) -> None:
    intro = corpus["2020-03-19"].intro
    assert intro.startswith("距离我们比较近的")
    assert intro.endswith(
        "文末，这篇《对不起，因为之前的代码写的烂，所以我也只能继续烂》，送给大家。"
    )


def test_corpus_warnings_are_few_and_carry_file_and_line(corpus: dict[str, Issue]) -> None:
    warnings = [w for issue in corpus.values() for w in issue.warnings]
    # The one line the parser cannot place: a stray copy of the next warm-up bullet.
    assert len(warnings) == 1
    (warning,) = warnings
    assert warning.file.endswith("2021-01-05.md")
    assert warning.line == 18
    assert "华为：2021 年将有超过 1 亿台设备" in warning.message
    assert str(warning).startswith(f"{warning.file}:18: ")


# --- synthetic snippets ----------------------------------------------------------------------

HEAD = "---\nlayout: default\n---\n\n# 嵌入式AI简报 (2020-01-02)\n\n**关注模型压缩**  \n\n"


def one_entry(body: str) -> Entry:
    issue = parse_text(HEAD + "## 论文\n\n" + body, "2020-01-02.md")
    assert [s.name for s in issue.sections] == ["论文"]
    (entry,) = issue.sections[0].entries
    return entry


def test_snippet_title_split_at_the_last_bar() -> None:
    entry = one_entry("- [A | B | 来源 ](https://x.test/a)\n")
    assert (entry.title, entry.source, entry.url) == ("A | B", "来源", "https://x.test/a")


def test_snippet_summary_labels_markup_and_line_breaks() -> None:
    entry = one_entry(
        "- [T](https://x.test) 正文在链接后  \n"
        "代码：[repo](https://github.com/a/b)  \n"
        "摘要: **粗体** 与 <font>HTML</font> 与 ![图](https://img.test/a.png)  \n"
        "  - 子项 `code`\n"
        "摘要没有冒号也去掉\n"
    )
    assert entry.summary == "正文在链接后\n代码：repo\n粗体 与 HTML 与\n子项 code\n没有冒号也去掉"


def test_snippet_en_dash_bullets_and_entry_lines() -> None:
    issue = parse_text(HEAD + "## 博文\n– [一 | 甲](https://a.test)\n- 二 | 乙\n", "2020-01-02.md")
    entries = issue.sections[0].entries
    assert [(e.title, e.source, e.line) for e in entries] == [("一", "甲", 10), ("二", "乙", 11)]


def test_snippet_warmup_section_and_lead_ins_are_quiet() -> None:
    text = HEAD + (
        "> 导读：本期两条。\n"
        "接着说。\n\n"
        "好了，先是一些热身小新闻：\n\n"
        "- 华为：发布**新芯片**；\n"
        "- 这是一条冒号前面超过二十个字的很长很长很长的热身新闻：后文\n\n"
        "> 注：个别链接打不开\n\n"
        "## 业界新闻\n- [新闻 | 来源](https://n.test)\n"
    )
    issue = parse_text(text, "2020-01-02.md")
    assert issue.intro == "本期两条。\n接着说。"
    assert issue.warnings == ()
    warmup = issue.sections[0]
    assert warmup.name == WARMUP_SECTION
    assert [(e.title, e.summary) for e in warmup.entries] == [
        ("华为", "发布新芯片"),
        ("这是一条冒号前面超过二十个字的很长很长很长的热身新闻：后文", ""),
    ]


def test_snippet_unplaced_text_becomes_warnings_with_lines() -> None:
    text = HEAD + (
        "无人认领的前言\n\n"
        "## 论文\n\n"
        "这行不属于任何条目\n\n"
        "- [好的](https://ok.test)\n"
        "- [坏链接](https://bad.test/a b)\n"
        "### 小标题\n"
    )
    issue = parse_text(text, "2020-01-02.md")
    assert [(w.file, w.line) for w in issue.warnings] == [
        ("2020-01-02.md", 9),
        ("2020-01-02.md", 13),
        ("2020-01-02.md", 16),
        ("2020-01-02.md", 17),
    ]
    assert "无人认领的前言" in issue.warnings[0].message
    assert "这行不属于任何条目" in issue.warnings[1].message
    bad = issue.sections[0].entries[1]
    assert bad.title == "[坏链接](https://bad.test/a b)"  # kept, not dropped


def test_snippet_archive_section_and_footer_rule() -> None:
    text = HEAD + (
        "## 论文\n- [一](https://1.test)\n\n---\n\n"  # a rule between sections is no footer
        "## [往期回顾](https://old.test)\n- [2019-01-01](https://old.test/1)\n\n"
        "## 博文\n- [二](https://2.test)\n\n"
        "----\n\n- Editor: https://github.com/someone\n\n----\n\n本作品采用知识共享许可协议\n"
    )
    issue = parse_text(text, "2020-01-02.md")
    assert [(s.name, [e.title for e in s.entries]) for s in issue.sections] == [
        ("论文", ["一"]),
        ("博文", ["二"]),
    ]


def test_snippet_date_from_the_title_and_crlf() -> None:
    issue = parse_text("# 嵌入式AI简报 (2020-04-26)：\r\n\r\n## 论文\r\n- [一](u)  \r\n", "x.md")
    assert (issue.date, issue.title) == ("2020-04-26", "嵌入式AI简报 (2020-04-26)")
    assert issue.sections[0].entries[0].url == "u"


def test_snippet_date_mismatch_is_a_warning() -> None:
    issue = parse_text("# 嵌入式AI简报 (2020-04-26)\n## 论文\n- [一](u)\n", "2020-05-01.md")
    assert issue.date == "2020-05-01"
    assert [(w.line, "2020-04-26" in w.message) for w in issue.warnings] == [(1, True)]


# --- bad input -------------------------------------------------------------------------------

GOOD = "# 嵌入式AI简报 (2020-04-26)\n\n## 论文\n- [一 | 甲](https://a.test)\n"


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("notes.md", b"# Some notes\n\n## A\n- [x](y)\n", "no date"),
        ("2020-04-26.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("2020-04-26.md", b"", "empty"),
        ("2020-04-26.md", b"  \n\t\n   \n", "empty"),
        ("2020-04-26.md", "# 嵌入式AI简报\n".encode() + b"\xff\xfe\xe4\xb8 broken", "UTF-8"),
        (
            "2020-04-26.md",
            "# 嵌入式AI简报 (2020-04-26)\n\n正文\n".encode(),
            "no newsletter entries",
        ),
        ("2020-04-26.md", b"# Title\n## A\n## B\n", "no newsletter entries"),
    ],
)
def test_bad_files_give_one_line_errors_naming_them(
    tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IssueError) as caught:
        parse_file(path)
    message = str(caught.value)
    assert str(path) in message and says in message and "\n" not in message


def test_ten_megabytes_of_noise_is_rejected_as_too_large(tmp_path: Path) -> None:
    path = tmp_path / "2020-04-26.md"
    path.write_bytes(os.urandom(10 * 1024 * 1024))
    with pytest.raises(IssueError, match="too large") as caught:
        parse_file(path)
    assert str(path) in str(caught.value)


def test_file_just_over_the_limit_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "2020-04-26.md"
    path.write_text(GOOD + "a" * MAX_FILE_BYTES, encoding="utf-8")
    with pytest.raises(IssueError, match="too large"):
        parse_file(path)


def test_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IssueError, match="directory") as caught:
        parse_file(tmp_path)
    assert str(tmp_path) in str(caught.value)
    missing = tmp_path / "2020-04-26.md"
    with pytest.raises(IssueError, match="no such file") as caught:
        parse_file(missing)
    assert str(missing) in str(caught.value)


def test_good_file_with_bom_parses(tmp_path: Path) -> None:
    path = tmp_path / "2020-04-26.md"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    issue = parse_file(path)
    assert (issue.date, issue.path) == ("2020-04-26", str(path))
    assert issue.sections[0].entries[0] == Entry("一", "甲", "https://a.test", line=4)


@pytest.mark.parametrize("text", ["", " \n ", "a\x00b", "x" * (MAX_FILE_BYTES + 1)])
def test_parse_text_rejects_what_is_not_an_issue(text: str) -> None:
    with pytest.raises(IssueError, match=r"snippet\.md"):
        parse_text(text, "snippet.md")


def test_mangled_corpus_files_parse_or_fail_cleanly(corpus_dir: Path) -> None:
    """Never a crash: shuffled, cut and scribbled-on issues give an Issue or an IssueError."""
    rng = random.Random(2)
    texts = [path.read_text(encoding="utf-8") for path in sorted(corpus_dir.glob("20*.md"))]
    scribbles = ["- [", "](", "## ", "----", "摘要", "> ", "|", "[", "**", "\r", "\t", "–"]
    parsed = 0
    for _ in range(300):
        lines = rng.choice(texts).split("\n")
        if rng.random() < 0.3:
            rng.shuffle(lines)
        lines = lines[: rng.randrange(1, len(lines) + 1)]
        for _ in range(rng.randrange(30)):
            i = rng.randrange(len(lines))
            j = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:j] + rng.choice(scribbles) + lines[i][j:]
        try:
            issue = parse_text("\n".join(lines), "2020-01-02.md")
        except IssueError as exc:
            assert "2020-01-02.md" in str(exc)
        else:
            parsed += 1
            assert issue.entries
    assert parsed > 100


def test_line_too_full_of_markup_is_kept_raw_with_a_warning() -> None:
    bomb = "[" * 5000
    issue = parse_text(HEAD + f"## 论文\n- [一](https://a.test)\n{bomb}\n", "2020-01-02.md")
    (entry,) = issue.sections[0].entries
    assert entry.summary == bomb
    assert [(w.line, "raw text" in w.message) for w in issue.warnings] == [(11, True)]


def test_warnings_are_capped_and_counted() -> None:
    stray = "".join(f"无主文字{i}\n" for i in range(MAX_WARNINGS + 50))
    issue = parse_text(HEAD + "## 论文\n" + stray + "- [一](https://a.test)\n", "2020-01-02.md")
    assert len(issue.warnings) == MAX_WARNINGS + 1
    last = issue.warnings[-1]
    assert (last.line, last.message) == (10 + MAX_WARNINGS, "50 more warnings from here on")


def test_bullets_without_any_section_are_no_issue() -> None:
    with pytest.raises(IssueError, match="no newsletter entries"):
        parse_text("# 嵌入式AI简报 (2020-01-02)\n\n- 华为：新闻\n- 小米：新闻\n", "a.md")
