"""The index directory on disk, shared by ingest (which writes it) and search (which reads it).

Layout of archive.index_dir:

    CURRENT          the name of the live generation ("gen-000007"), replaced with os.replace
    gen-000007/      a Whoosh index, the files of the exact search (index/ingest/haystack.py
                     lists them), and meta.json (issue dates, titles, hashes, counts, the
                     format version)
    .ingest.lock     held (flock) while an ingest runs

A generation is readable by this version of neuraltalk when its meta.json has META_VERSION;
`readable_generation` is the one place that checks it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypedDict, cast

from index.errors import IndexMissingError

POINTER = "CURRENT"
META = "meta.json"
LOCK = ".ingest.lock"
GENERATION_PREFIX = "gen-"
RECORDS = "records.json"  # per record: Whoosh docnum, issue, section, offsets, field lengths
ENTRIES = "entries.bin"  # per record: the displayed fields (Shown), pickled
VOCABULARY = "vocabulary.json"  # the index's Latin words and their document frequencies
ENTRY_FIELDS = ("issue", "section", "title", "source", "url", "summary", "tags", "pos")
Shown = tuple[str, str, str, str, str, str, tuple[str, ...], int]  # ENTRY_FIELDS' values
META_VERSION = 4  # raise when the files of a generation change: older ones are rebuilt


class IssueInfo(TypedDict):
    """What meta.json keeps of an ingested issue."""

    date: str
    title: str
    path: str
    hash: str  # SHA-256 of the file
    entries: int
    sections: dict[str, int]  # entries per section
    warnings: int


class Meta(TypedDict):
    """meta.json of a generation."""

    version: int  # META_VERSION of the neuraltalk that wrote it
    generation: int
    issues: dict[str, IssueInfo]  # by date


def generation_name(number: int) -> str:
    return f"{GENERATION_PREFIX}{number:06d}"


def current_dir(index_dir: Path) -> Path | None:
    """The live generation's directory, or None when nothing was ingested yet."""
    try:
        name = (index_dir / POINTER).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    gen = index_dir / name
    return gen if name and (gen / META).is_file() else None


def load_meta(gen_dir: Path | None) -> Meta:
    """meta.json of a generation; that of an empty archive for None."""
    if gen_dir is None:
        return {"version": META_VERSION, "generation": 0, "issues": {}}
    return cast(Meta, json.loads((gen_dir / META).read_text(encoding="utf-8")))


def readable_generation(index_dir: Path) -> Path | None:
    """The live generation when this version of neuraltalk can read it, else None."""
    gen = current_dir(index_dir)
    if gen is None or load_meta(gen).get("version") != META_VERSION:
        return None
    return gen


def require_generation(index_dir: Path) -> Path:
    """The live, readable generation; IndexMissingError saying to run ingest when there is none."""
    gen = readable_generation(index_dir)
    if gen is not None:
        return gen
    if current_dir(index_dir) is None:
        raise IndexMissingError(
            f"there is no index in {index_dir} yet: run `neuraltalk ingest` first"
        )
    raise IndexMissingError(
        f"the index in {index_dir} was made by another version of neuraltalk: "
        "run `neuraltalk ingest` to rebuild it"
    )


def pointer_stamp(index_dir: Path) -> tuple[int, int, int] | None:
    """What changes when CURRENT is replaced (one stat), or None without one."""
    try:
        st = (index_dir / POINTER).stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ino, st.st_size)
