"""Ingesting issues: what is indexed, unchanged and changed files, bad files, failures midway."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.errors import ArchiveError, IndexMissingError
from index.ingest import ingest, ingest_lock, write_generation
from index.layout import META_VERSION, POINTER, current_dir, load_meta
from index.parse import parse_file
from index.search import Archive

SHIPPED = "2020-04-26.md"


def copy_issues(corpus_dir: Path, target: Path, names: list[str]) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(corpus_dir / name, target / name)
    return target


def titles(index_dir: Path, query: str) -> list[str]:
    archive = Archive.open(index_dir)
    try:
        return [hit.title for hit in archive.search(query, limit=1000).results]
    finally:
        archive.close()


def test_the_corpus_is_indexed_with_its_metadata(corpus_index: Path, corpus_dir: Path) -> None:
    meta = load_meta(current_dir(corpus_index))
    files = sorted(corpus_dir.glob("2*.md"))
    assert sorted(meta["issues"]) == [p.stem for p in files]
    shipped = parse_file(corpus_dir / SHIPPED)
    info = meta["issues"]["2020-04-26"]
    assert info["title"] == shipped.title
    assert info["entries"] == len(shipped.entries)
    assert info["sections"] == {s.name: len(s.entries) for s in shipped.sections if s.entries}


def test_unchanged_files_are_not_ingested_again(corpus_dir: Path, tmp_path: Path) -> None:
    issues = copy_issues(corpus_dir, tmp_path / "issues", [SHIPPED, "2019-03-31.md"])
    index_dir = tmp_path / "index"
    first = ingest(index_dir, [issues])
    assert first.ok and len(first.ingested) == 2
    pointer = (index_dir / POINTER).read_text()
    again = ingest(index_dir, [issues])
    assert again.ok and again.ingested == [] and len(again.unchanged) == 2
    assert (index_dir / POINTER).read_text() == pointer


def test_a_changed_file_replaces_its_entries(corpus_dir: Path, tmp_path: Path) -> None:
    issues = copy_issues(corpus_dir, tmp_path / "issues", [SHIPPED, "2019-03-31.md"])
    index_dir = tmp_path / "index"
    ingest(index_dir, [issues])
    assert titles(index_dir, "TurboTransformers")
    path = issues / SHIPPED
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("TurboTransformers", "QuokkaFormers"), encoding="utf-8")
    report = ingest(index_dir, [issues])
    assert [info["date"] for info in report.ingested] == ["2020-04-26"]
    assert titles(index_dir, "TurboTransformers") == []
    assert any("QuokkaFormers" in t for t in titles(index_dir, "QuokkaFormers"))
    archive = Archive.open(index_dir)
    try:
        expected = len(parse_file(path).entries) + len(parse_file(issues / "2019-03-31.md").entries)
        assert archive.counts() == (2, expected)
    finally:
        archive.close()


def write_bad_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    bad = {
        "empty": folder / "2020-01-01.md",
        "no date": folder / "notes.md",
        "binary": folder / "2020-02-02.md",
        "noise": folder / "2020-03-03.md",
        "not utf-8": folder / "2020-05-05.md",
    }
    bad["empty"].write_bytes(b"")
    bad["no date"].write_text("# Some notes\n\n- [a link](https://example.com)\n", encoding="utf-8")
    bad["binary"].write_bytes(bytes(range(256)) * 64)
    bad["noise"].write_bytes(os.urandom(10 * 1024 * 1024))
    bad["not utf-8"].write_bytes("# 嵌入式AI简报 (2020-05-05)\n\n- 华为：新闻\n".encode("gb18030"))
    return bad


def test_bad_files_are_reported_and_the_others_ingested(corpus_dir: Path, tmp_path: Path) -> None:
    folder = copy_issues(corpus_dir, tmp_path / "issues", [SHIPPED])
    bad = write_bad_files(folder)
    report = ingest(tmp_path / "index", [folder, tmp_path / "missing.md"])
    assert [info["date"] for info in report.ingested] == ["2020-04-26"]
    assert len(report.errors) == len(bad) + 1
    for path in [*bad.values(), tmp_path / "missing.md"]:
        assert sum(str(path) in error for error in report.errors) == 1, path
    assert all("\n" not in error for error in report.errors)
    assert titles(tmp_path / "index", "TurboTransformers")


class FailingBatch(list):
    """A batch of issues whose second issue cannot be produced (as a disk or parser failure)."""

    def __iter__(self) -> Iterator:
        for number, item in enumerate(super().__iter__()):
            if number == 1:
                raise OSError("disk full")
            yield item


def test_a_failure_midway_leaves_the_previous_index(corpus_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    ingest(index_dir, [corpus_dir / SHIPPED])
    before = titles(index_dir, "量化")
    batch = FailingBatch(
        (parse_file(corpus_dir / name), "changed") for name in ["2019-03-31.md", "2019-04-27.md"]
    )
    with ingest_lock(index_dir), pytest.raises(OSError, match="disk full"):
        write_generation(index_dir, batch)
    assert titles(index_dir, "量化") == before
    assert sorted(load_meta(current_dir(index_dir))["issues"]) == ["2020-04-26"]
    report = ingest(index_dir, [corpus_dir / "2019-03-31.md"])
    assert report.ok and len(load_meta(current_dir(index_dir))["issues"]) == 2
    assert sorted(p.name for p in index_dir.glob("gen-*")) == ["gen-000001", "gen-000002"]


def test_a_killed_ingest_leaves_the_previous_index(corpus_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    ingest(index_dir, [corpus_dir / SHIPPED])
    before = titles(index_dir, "华为")
    env = {**os.environ, "NEURALTALK_ARCHIVE_INDEX_DIR": str(index_dir)}
    command = [sys.executable, "-m", "bot.cli", "ingest", str(corpus_dir)]
    child = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (index_dir / "gen-000002").exists() and time.monotonic() < deadline:
        assert child.poll() is None, "the ingest ended before it could be killed"
        time.sleep(0.005)
    time.sleep(0.2)  # let it write part of the new generation
    assert child.poll() is None, "the ingest ended before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert current_dir(index_dir) == index_dir / "gen-000001"
    assert titles(index_dir, "华为") == before
    report = ingest(index_dir, [corpus_dir])
    assert report.ok and len(report.ingested) == 29 and len(report.unchanged) == 1


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_an_ingest_leaves_the_live_generation_untouched(corpus_dir: Path, tmp_path: Path) -> None:
    """A running bot keeps searching the live generation while `ingest` builds the next one:
    not one of its files may change (the next generation shares Whoosh's through hard links)."""
    index_dir = tmp_path / "index"
    ingest(index_dir, [corpus_dir / SHIPPED, corpus_dir / "2019-03-31.md"])
    live = current_dir(index_dir)
    assert live is not None
    before = digests(live)
    archive = Archive.open(index_dir)
    try:
        found = [hit.title for hit in archive.search("华为", limit=1000).results]
        ingest(index_dir, [corpus_dir / "2021-08-01.md", corpus_dir / "2020-05-15.md"])
        assert current_dir(index_dir) != live and digests(live) == before
        assert [hit.title for hit in archive.search("华为", limit=1000).results] == found
    finally:
        archive.close()


def test_one_ingest_at_a_time(tmp_path: Path, corpus_dir: Path) -> None:
    with ingest_lock(tmp_path), pytest.raises(ArchiveError, match="another `neuraltalk ingest`"):
        ingest(tmp_path, [corpus_dir / SHIPPED])


def test_an_open_archive_reloads_after_an_ingest(corpus_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    ingest(index_dir, [corpus_dir / SHIPPED])
    archive = Archive.open(index_dir)
    try:
        assert archive.counts()[0] == 1 and not archive.reload_if_changed()
        assert archive.issue("2019-03-31") is None
        ingest(index_dir, [corpus_dir / "2019-03-31.md"])
        assert archive.reload_if_changed()
        assert archive.counts()[0] == 2 and not archive.reload_if_changed()
        assert archive.issue("2019-03-31") is not None
    finally:
        archive.close()


def test_an_index_of_another_version_is_rebuilt_not_misread(
    corpus_dir: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    ingest(index_dir, [corpus_dir / SHIPPED])
    meta_path = current_dir(index_dir) / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta_path.write_text(json.dumps({**meta, "version": META_VERSION - 1}), encoding="utf-8")
    with pytest.raises(IndexMissingError, match="run `neuraltalk ingest` to rebuild it"):
        Archive.open(index_dir)
    report = ingest(index_dir, [corpus_dir / SHIPPED])
    assert report.ok and len(report.ingested) == 1 and not report.unchanged
    assert titles(index_dir, "华为")


def test_the_index_names_no_class_of_neuraltalk(sample_index: Path) -> None:
    """Whoosh pickles the schema into the index's table of contents: were an analyzer of ours in
    it, moving that module would make every index unreadable."""
    gen = current_dir(sample_index)
    assert gen is not None
    tocs = list(gen.glob("*.toc"))
    assert tocs
    for toc in tocs:
        data = toc.read_bytes()
        assert b"whoosh." in data  # the schema's classes are named in it
        assert b"index." not in data and b"bot." not in data


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs: room for one index of a few issues, not for the whole corpus."""
    disk = tmp_path / "small-disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_names_the_folder_and_keeps_the_live_index(
    corpus_dir: Path, small_disk: Path
) -> None:
    index_dir = small_disk / "index"
    first = sorted(corpus_dir.glob("*.md"))[:2]
    ingest(index_dir, first)
    live = current_dir(index_dir)
    assert live is not None
    with pytest.raises(ArchiveError) as failed:
        ingest(index_dir, [corpus_dir])
    message = str(failed.value)
    assert f"no space left on the disk of {index_dir}" in message
    assert "free some space" in message and "neuraltalk ingest" in message
    assert current_dir(index_dir) == live  # still serving the two issues
    assert [p.name for p in index_dir.iterdir() if p.is_dir()] == [live.name]  # no leftover
    archive = Archive.open(index_dir)
    try:
        assert len(archive.issues()) == 2
    finally:
        archive.close()


def test_a_full_disk_is_one_line_from_the_command(corpus_dir: Path, small_disk: Path) -> None:
    env = {**os.environ, "NEURALTALK_ARCHIVE_INDEX_DIR": str(small_disk / "index")}
    env.pop("NEURALTALK_CONFIG", None)
    command = [sys.executable, "-m", "bot.cli", "ingest", str(corpus_dir)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=small_disk.parent)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("error: no space left on the disk of")
    assert "Traceback" not in done.stderr
