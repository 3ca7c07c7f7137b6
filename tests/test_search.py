"""Searching the archive of the whole corpus: recall against plain substring matching, ordering,
several words, section words, synonyms, spelling suggestions, bad queries."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.errors import ArchiveError, IndexMissingError, QueryError
from index.parse import parse_file
from index.search import Archive, Hit, SearchResult

Key = tuple[str, str, str, str]
EVERYTHING = 100_000
NAMED_WORDS = [
    "量化", "tengine", "Tengine", "MobileNet", "OpenCV", "华为", "剪枝", "TVM", "arm", "int8",
    "BERT", "低比特", "推理", "GPU", "npu", "芯片", "蒸馏", "ONNX", "cuda", "模型压缩", "yolo",
    "Paddle", "tflite", "高通", "骁龙", "NCNN", "mnn", "稀疏", "二值", "transformer", "量",
]  # fmt: skip


@pytest.fixture(scope="module")
def archive(corpus_index: Path) -> Iterator[Archive]:
    opened = Archive.open(corpus_index)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def entries(corpus_dir: Path) -> dict[Key, str]:
    """Every entry of the corpus (by issue, section, title, url) -> its lower-cased text."""
    texts: dict[Key, str] = {}
    for path in sorted(corpus_dir.glob("2*.md")):
        issue = parse_file(path)
        for section, entry in issue.entries:
            text = "\n".join([entry.title, entry.source, " ".join(entry.tags), entry.summary])
            key = (issue.date, section.name, entry.title, entry.url)
            texts[key] = texts.get(key, "") + "\n" + text.lower()
    return texts


def key(hit: Hit) -> Key:
    return (hit.issue, hit.section, hit.title, hit.url)


def everything(archive: Archive, query: str) -> SearchResult:
    return archive.search(query, limit=EVERYTHING)


def sample_words(entries: dict[Key, str], count: int) -> list[str]:
    """Random Latin words and 2-3 character Chinese pieces taken from the corpus text."""
    rng = random.Random(20200426)
    text = "\n".join(sorted(entries.values()))
    latin = sorted(set(re.findall(r"[a-z][a-z0-9]{2,}", text)))
    chinese = sorted(set(re.findall(r"[\u4e00-\u9fff]{2,3}", text)))
    return rng.sample(latin, count // 2) + rng.sample(chinese, count // 2)


def test_recall_is_at_least_substring_matching_over_the_whole_corpus(archive, entries) -> None:
    words = NAMED_WORDS + sample_words(entries, 120)
    for word in words:
        expected = {k for k, text in entries.items() if word.lower() in text}
        found = {key(hit) for hit in everything(archive, word).results}
        assert expected <= found, (word, sorted(expected - found)[:3])
        if not archive.synonyms.of(word):
            assert found == expected, (word, sorted(found - expected)[:3])


def test_named_words_find_the_entries_jieba_keeps_whole(archive) -> None:
    def titles(query: str) -> list[str]:
        return [hit.title for hit in everything(archive, query).results]

    assert any("TengineKit" in t for t in titles("tengine"))
    assert any(re.search(r"\bTengine\b", t) for t in titles("tengine"))
    assert any("MobileNetV3" in hit.summary for hit in everything(archive, "MobileNet").results)
    assert any("OpenCV4.3" in t for t in titles("OpenCV"))
    assert any("低比特" in t and "量化" in t for t in titles("量化"))


def group_of(archive: Archive, word: str, hit: Hit, text: str) -> int:
    """0: the title has the word, 1: the rest has it, 2/3: the same through a synonym only."""
    title = hit.title.lower()
    if word.lower() in text:
        return 0 if word.lower() in title else 1
    return 2 if any(s in title for s in archive.synonyms.of(word)) else 3


@pytest.mark.parametrize("query", ["量化", "华为", "tengine", "arm", "BERT", "剪枝"])
def test_title_matches_come_first_then_by_score_then_newest(archive, entries, query) -> None:
    hits = everything(archive, query).results
    groups = [group_of(archive, query, hit, entries[key(hit)]) for hit in hits]
    assert groups == sorted(groups) and groups[0] == 0 and 1 in groups, query
    for (a, group_a), (b, group_b) in itertools.pairwise(zip(hits, groups, strict=True)):
        if group_a != group_b:
            continue
        assert a.score >= b.score, (query, a, b)
        if a.score == b.score:
            assert a.issue >= b.issue, (query, a, b)


def test_several_words_match_all_of_them_or_else_any(archive, entries) -> None:
    result = everything(archive, "华为 麒麟")
    assert result.matched_all and result.total > 0
    for hit in result.results:
        text = entries[key(hit)]
        assert ("华为" in text or "huawei" in text) and ("麒麟" in text or "kirin" in text)
    alone = everything(archive, "华为")
    partial = everything(archive, "华为 qwzxqwzx")
    assert not partial.matched_all
    assert {key(h) for h in partial.results} == {key(h) for h in alone.results}


def test_a_phrase_typed_without_spaces_that_matches_nothing_is_searched_as_its_words(
    archive, entries
) -> None:
    phrase = "模型量化部署"
    assert not any(phrase in text for text in entries.values())
    result = everything(archive, phrase)
    spaced = everything(archive, "模型 量化 部署")
    assert result.words == ("模型", "量化", "部署") and result.matched_all
    assert result.total == spaced.total > 0
    assert [key(h) for h in result.results] == [key(h) for h in spaced.results]


def test_a_question_around_one_word_is_searched_as_that_word(archive) -> None:
    result = everything(archive, "如何剪枝")
    assert result.split and result.words == ("剪枝",)
    assert result.total == everything(archive, "剪枝").total > 0


def test_a_phrase_found_as_it_is_is_not_split(archive, entries) -> None:
    result = everything(archive, "端侧推理引擎")
    assert result.words == ("端侧推理引擎",) and result.total > 0
    assert all("端侧推理引擎" in entries[key(hit)] for hit in result.results)


@pytest.mark.parametrize(
    ("query", "section", "word"),
    [("论文 量化", "论文", "量化"), ("开源 Tengine", "开源项目", "Tengine"),
     ("新闻 华为", "业界新闻", "华为"), ("热身 华为", "热身新闻", "华为"),
     ("博文 tengine", "博文", "tengine")],
)  # fmt: skip
def test_a_leading_section_word_narrows(archive, query, section, word) -> None:
    result = everything(archive, query)
    assert result.section == section and result.total > 0
    everywhere = [key(h) for h in everything(archive, word).results]
    assert [key(h) for h in result.results] == [k for k in everywhere if k[1] == section]


def test_a_section_word_alone_is_searched_as_a_word(archive) -> None:
    result = archive.search("论文")
    assert result.section is None and result.total > 0


def test_synonym_only_hits_rank_below_literal_hits(archive, entries) -> None:
    hits = everything(archive, "quantization").results
    literal = ["quantization" in entries[key(h)] for h in hits]
    assert literal == sorted(literal, reverse=True)
    assert any(literal) and not all(literal)
    assert all("量化" in entries[key(h)] for h, lit in zip(hits, literal, strict=True) if not lit)
    chinese = everything(archive, "剪枝").results
    assert any("剪枝" not in entries[key(h)] and "pruning" in entries[key(h)] for h in chinese)


def test_the_editor_can_add_synonyms(
    corpus_index: Path, tmp_path: Path, entries: dict[Key, str]
) -> None:
    extra = tmp_path / "synonyms.yaml"
    extra.write_text("- [腾擎, Tengine]\n", encoding="utf-8")
    archive = Archive.open(corpus_index, extra)
    try:
        by_synonym = {key(h) for h in everything(archive, "腾擎").results}
        typed = {key(h) for h in everything(archive, "tengine").results}
        assert by_synonym and by_synonym <= typed
        for left in typed - by_synonym:  # a synonym is a word: TengineKit is another one
            assert not re.search(r"(?<![a-z0-9])tengine(?![a-z0-9])", entries[left])
    finally:
        archive.close()
    extra.write_text("量化: quantization\n", encoding="utf-8")
    with pytest.raises(ArchiveError, match="list of word lists"):
        Archive.open(corpus_index, extra)


@pytest.mark.parametrize(
    ("typo", "fix"),
    [("Tengnie", "Tengine"), ("mobilenett", "MobileNet"), ("TensorRTT", "TensorRT")],
)
def test_a_misspelt_latin_word_gets_a_suggestion(archive, typo, fix) -> None:
    result = archive.search(typo)
    assert result.total == 0 and result.suggestion == fix
    assert archive.search(f"论文 {typo}").suggestion == f"论文 {fix}"
    assert archive.search(fix).suggestion is None


@pytest.mark.parametrize(
    ("query", "message"),
    [("", "empty"), ("   \t ", "empty"), ("！!？。，,", "no letters"), ("“”（）", "no letters"),
     ("量" * 10_000, "too long"), ("a b c d e f g h i", "at most 8")],
)  # fmt: skip
def test_bad_queries_are_refused_with_one_line(archive, query, message) -> None:
    with pytest.raises(QueryError, match=message) as caught:
        archive.search(query)
    assert "\n" not in str(caught.value)


def test_paging_with_limit_and_offset(archive) -> None:
    full = [key(h) for h in everything(archive, "量化").results]
    pages = [key(h) for k in range(0, len(full), 7) for h in archive.search("量化", 7, k).results]
    assert pages == full
    assert archive.search("量化", 10, len(full)).results == ()


def test_no_index_yet(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="neuraltalk ingest"):
        Archive.open(tmp_path / "nothing")


def test_issues_latest_and_counts(archive, corpus_dir: Path) -> None:
    issue_count, entry_count = archive.counts()
    files = sorted(corpus_dir.glob("2*.md"))
    assert issue_count == len(files) == 30
    assert entry_count == sum(len(parse_file(p).entries) for p in files)
    assert [s.date for s in archive.issues("2020-04")] == ["2020-04-26", "2020-04-04"]
    latest = archive.latest()
    assert latest is not None and latest.date == "2021-08-01"
    shipped = archive.issue("2020-04-26")
    assert shipped is not None
    parsed = parse_file(corpus_dir / "2020-04-26.md")
    assert [h.title for h in shipped.entries] == [e.title for _, e in parsed.entries]
    assert archive.issue("1999-01-01") is None


@pytest.mark.parametrize("query", ["量化", "华为 麒麟", "arm", "推理 芯片", "quantization"])
def test_scores_are_whoosh_bm25f_scores(archive, query) -> None:
    """The scorer reads Whoosh's postings itself: its scores are those of Whoosh's searcher."""
    from whoosh.query import Or, Term

    result = everything(archive, query)
    gen = archive._gen
    terms = sorted({t for w in query.split() for t in [w.lower(), *archive.synonyms.of(w)]})
    terms = [t for t in terms if gen.scorer.has_term(t)]
    whoosh_query = Or([Term(field, term) for term in terms for field in ("title", "body")])
    with gen.ix.searcher() as searcher:
        found = searcher.search(whoosh_query, limit=None)
        by_key = {}
        for score, docnum in found.top_n:
            fields = searcher.stored_fields(docnum)
            by_key[(fields["issue"], fields["section"], fields["title"], fields["url"])] = score
    assert any(hit.score for hit in result.results)
    for hit in result.results:
        assert hit.score == round(by_key.get(key(hit), 0.0), 4), hit


def _texts(result: SearchResult) -> list[str]:
    return [" ".join([h.title, h.source, *h.tags, h.summary]).lower() for h in result.results]


def test_a_synonym_of_several_words_matches_as_a_phrase(archive: Archive) -> None:
    found = _texts(archive.search("神经网络", limit=EVERYTHING))
    english = [t for t in found if "神经网络" not in t]
    assert english and all(re.search(r"neural\s+network", t) for t in english)
    spaced = [t for t in english if "neural network" not in t]  # found despite odd spacing?
    assert all(re.search(r"neural\s+network", t) for t in spaced)


def test_a_phrase_matches_whatever_the_spacing_in_the_entry(tmp_path: Path) -> None:
    from index.ingest import ingest

    (tmp_path / "2020-01-01.md").write_text(
        "# 嵌入式AI简报 (2020-01-01)\n\n## 论文\n\n"
        "- [Sparse Neural  Network on chips | 来源](https://example.org/a)\n"
        "- [Graph neural networks | 来源](https://example.org/b)\n"
        "- [Nothing neural here, a network | 来源](https://example.org/c)\n",
        encoding="utf-8",
    )
    ingest(tmp_path / "index", [tmp_path / "2020-01-01.md"])
    opened = Archive.open(tmp_path / "index")
    try:
        titles = [h.title for h in opened.search("神经网络").results]
        assert titles == ["Sparse Neural  Network on chips", "Graph neural networks"]
    finally:
        opened.close()


def test_latin_synonyms_match_as_words_typed_words_as_substrings(archive: Archive) -> None:
    found = _texts(archive.search("搜索", limit=EVERYTHING))
    assert found
    for text in found:  # each has 搜索, or search standing as a word (searching counts)
        assert "搜索" in text or re.search(r"(?<![a-z0-9])search(es|ing|ed)?(?![a-z0-9])", text)
    assert not any("搜索" not in t and "research" in t and " search" not in t for t in found)
    mobilenet = _texts(archive.search("MobileNet", limit=EVERYTHING))
    assert any("mobilenetv3" in t for t in mobilenet)  # what the follower typed: substring
    deploy = _texts(archive.search("部署", limit=EVERYTHING))
    assert any("部署" not in t and "deployment" in t for t in deploy)


def test_a_word_gone_from_the_archive_is_never_suggested(tmp_path: Path) -> None:
    from index.ingest import ingest

    issue = tmp_path / "2020-01-01.md"
    body = "# 嵌入式AI简报 (2020-01-01)\n\n## 论文\n\n- [{} networks | 来源](https://e.org/a)\n"
    issue.write_text(body.format("Probeable"), encoding="utf-8")
    (tmp_path / "2020-02-01.md").write_text(
        body.format("Other").replace("01-01", "02-01"), encoding="utf-8"
    )
    ingest(tmp_path / "index", [tmp_path])
    first = Archive.open(tmp_path / "index")
    assert (first.search("probeablx").suggestion or "").lower() == "probeable"
    first.close()
    issue.write_text(body.format("Plain"), encoding="utf-8")
    ingest(tmp_path / "index", [tmp_path])  # the issue again, without the word
    again = Archive.open(tmp_path / "index")
    try:
        assert again.search("probeable").total == 0
        assert again.search("probeable").suggestion is None
        assert again.search("probeablx").suggestion is None
        assert (again.search("plainn").suggestion or "").lower() == "plain"
    finally:
        again.close()
