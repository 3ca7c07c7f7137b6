"""Issue files behind the index: only the very file indexed (same SHA-256), found where ingest
read it or by name in archive.issues_dir; a missing file may come back."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from bot.web.sources import Sources
from index.layout import IssueInfo

NAME = "2019-03-31.md"


def info_for(path: str, data: bytes) -> IssueInfo:
    return {"date": "2019-03-31", "title": "t", "path": path, "entries": 19, "sections": {},
            "hash": hashlib.sha256(data).hexdigest(), "warnings": 0}  # fmt: skip


def test_the_indexed_file_is_found_by_its_path_or_by_name(corpus_dir: Path, tmp_path: Path) -> None:
    data = (corpus_dir / NAME).read_bytes()
    issue = Sources(tmp_path).issue(info_for(str(corpus_dir / NAME), data))
    assert issue is not None and issue.date == "2019-03-31"
    elsewhere = tmp_path / "issues"
    elsewhere.mkdir()
    shutil.copy(corpus_dir / NAME, elsewhere)
    moved = info_for(f"some/other/cwd/{NAME}", data)  # ingest ran from another folder
    found = Sources(elsewhere).issue(moved)
    assert found is not None and found.path == str(elsewhere / NAME)
    assert found.sections == issue.sections and found.intro == issue.intro


def test_a_changed_or_missing_file_is_not_used_until_it_is_back(
    corpus_dir: Path, tmp_path: Path
) -> None:
    data = (corpus_dir / NAME).read_bytes()
    path = tmp_path / NAME
    info = info_for(str(path), data)
    sources = Sources(tmp_path)
    assert sources.issue(info) is None  # not there
    path.write_bytes(data + b"\n- [x | y](https://example.org)\n")
    assert sources.issue(info) is None  # not the file indexed
    path.write_bytes(data)
    assert sources.issue(info) is not None  # back as it was
