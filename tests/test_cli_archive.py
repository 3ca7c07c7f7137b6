"""`neuraltalk parse`, `ingest` and `search` as a person runs them: real processes, real files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SHIPPED = "2020-04-26.md"


def run(cwd: Path, index_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEURALTALK_ARCHIVE_INDEX_DIR": str(index_dir)}
    env.pop("NEURALTALK_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_parse_json(corpus_dir: Path, tmp_path: Path) -> None:
    result = run(tmp_path, tmp_path / "index", "parse", str(corpus_dir / SHIPPED), "--json")
    assert result.returncode == 0, result.stderr
    assert "嵌入式AI简报" in result.stdout  # not escaped
    issue = json.loads(result.stdout)
    assert list(issue) == ["date", "title", "intro", "sections"]
    assert issue["date"] == "2020-04-26"
    assert [s["name"] for s in issue["sections"]][:3] == ["业界新闻", "论文", "开源项目"]
    entry = next(e for s in issue["sections"] for e in s["entries"] if e["tags"] == ["CVPR 2020"])
    assert list(entry) == ["title", "source", "url", "tags", "links", "summary"]
    assert entry["title"] == "用于加速卷积神经网络训练过程INT8训练技术"
    assert entry["source"] == "商汤泰坦公开课"


def test_parse_readable_and_not_an_issue(corpus_dir: Path, tmp_path: Path) -> None:
    readable = run(tmp_path, tmp_path / "index", "parse", str(corpus_dir / SHIPPED))
    assert readable.returncode == 0 and "TurboTransformers" in readable.stdout
    readme = tmp_path / "README.md"
    readme.write_text("# About this folder\n\nNo issue here.\n", encoding="utf-8")
    bad = run(tmp_path, tmp_path / "index", "parse", str(readme))
    one_line_error(bad, "README.md", "not an issue")


def test_ingest_reports_bad_files_and_ingests_the_rest(corpus_dir: Path, tmp_path: Path) -> None:
    issues = tmp_path / "issues"
    issues.mkdir()
    shutil.copy(corpus_dir / SHIPPED, issues / SHIPPED)
    (issues / "2020-01-01.md").write_bytes(b"\x00\x01\x02binary\xff" * 100)
    (issues / "notes.md").write_text("no title, no date\n", encoding="utf-8")
    first = run(tmp_path, tmp_path / "index", "ingest")  # default: archive.issues_dir = issues
    assert first.returncode == 1 and "Traceback" not in first.stderr
    errors = [line for line in first.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2
    assert any("2020-01-01.md" in e for e in errors) and any("notes.md" in e for e in errors)
    assert "1 ingested" in first.stdout and "业界新闻" in first.stdout
    (issues / "2020-01-01.md").unlink()
    (issues / "notes.md").unlink()
    again = run(tmp_path, tmp_path / "index", "ingest")
    assert again.returncode == 0, again.stderr
    assert "0 ingested, 1 unchanged" in again.stdout


def test_search_json_fields(corpus_index: Path, tmp_path: Path) -> None:
    result = run(tmp_path, corpus_index, "search", "量化", "--json", "--limit", "3")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == ["query", "total", "results", "suggestion"]
    assert data["query"] == "量化" and data["total"] > 3 and data["suggestion"] is None
    assert len(data["results"]) == 3
    fields = ["issue", "section", "title", "source", "url", "summary", "score"]
    assert all(list(hit) == fields for hit in data["results"])
    assert "量化" in data["results"][0]["title"]
    second = json.loads(
        run(tmp_path, corpus_index, "search", "量化", "--json", "--offset", "1").stdout
    )
    assert second["results"][0] == data["results"][1]


def test_search_text_output(corpus_index: Path, tmp_path: Path) -> None:
    words = run(tmp_path, corpus_index, "search", "开源", "Tengine")
    assert words.returncode == 0 and "开源项目" in words.stdout and "Tengine" in words.stdout
    typo = run(tmp_path, corpus_index, "search", "Tengnie")
    assert typo.returncode == 0 and "did you mean: Tengine" in typo.stdout
    some = run(tmp_path, corpus_index, "search", "华为", "qwzxqwzx")
    assert "no entry matches all the words" in some.stdout
    phrase = run(tmp_path, corpus_index, "search", "模型量化部署")
    assert phrase.returncode == 0 and "searched as: 模型 量化 部署" in phrase.stdout


@pytest.mark.parametrize(
    ("query", "expected"),
    [("   ", "empty"), ("！？。", "no letters"), ("x" * 10_000, "too long")],
)
def test_bad_queries_are_one_line_errors(corpus_index: Path, tmp_path: Path, query, expected):
    one_line_error(run(tmp_path, corpus_index, "search", query), expected)


def test_search_without_an_index(tmp_path: Path) -> None:
    result = run(tmp_path, tmp_path / "none", "search", "量化")
    one_line_error(result, "neuraltalk ingest")


def test_search_offset_past_the_end_says_how_many_there_are(
    corpus_index: Path, tmp_path: Path
) -> None:
    total = json.loads(run(tmp_path, corpus_index, "search", "量化", "--json").stdout)["total"]
    past = run(tmp_path, corpus_index, "search", "量化", "--offset", str(total + 5))
    assert past.returncode == 0
    assert f"no more results: there are {total}" in past.stdout


def test_ingest_table_in_the_archive_order_and_a_summary_within_80_columns(
    corpus_dir: Path, tmp_path: Path
) -> None:
    from index.parse import parse_file

    done = run(tmp_path, tmp_path / "index", "ingest", str(corpus_dir))
    assert done.returncode == 0, done.stderr
    files = sorted(p for p in corpus_dir.glob("*.md") if not p.name.startswith("README"))
    order: list[str] = []
    for path in files:
        order += [s.name for s in parse_file(path).sections if s.name not in order]
    shown = [line.split("│")[1].strip() for line in done.stdout.splitlines() if "│" in line]
    assert [name for name in shown if name in order] == order
    summary = done.stdout.splitlines()[-1]
    assert summary.startswith(f"{len(files)} issues: {len(files)} ingested, 0 unchanged;")
    assert len(summary) <= 80
