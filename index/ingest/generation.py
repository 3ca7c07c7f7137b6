"""Parsed issues -> a new index generation, switched in atomically (index/layout.py: the directory).

An ingest makes a fresh generation directory holding hard links to the live generation's Whoosh
files (Whoosh never rewrites one), deletes and re-adds the changed issues there and commits;
then it writes the files of the exact search and meta.json anew (never through a link: the live
generation's must not change under a running search), and only then points CURRENT at it. A
failure or a kill at any step leaves CURRENT, and so the searchable index, as it was; leftovers
are removed by the next ingest. Unchanged files (same SHA-256 as stored) are not even parsed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.errors import ArchiveError, DiskFullError
from index.ingest.haystack import FILES as HAYSTACK_FILES
from index.ingest.haystack import write_haystack
from index.layout import (
    GENERATION_PREFIX,
    LOCK,
    META,
    META_VERSION,
    POINTER,
    IssueInfo,
    Meta,
    current_dir,
    generation_name,
    load_meta,
    readable_generation,
)
from index.parse import Issue

if TYPE_CHECKING:
    from whoosh.fields import Schema  # type: ignore[import-untyped]

INLINE_LIMIT = 1  # whoosh-reloaded 2.7.5 cannot inline (W3TermInfo.set_inline is missing)


def make_schema() -> Schema:
    """The index schema: word fields for relevance (BM25) plus the stored entry.

    Ingest cuts the words with jieba and gives them as lists, which Whoosh indexes as they are;
    the fields' analyzer (stock Whoosh: space-separated words, lower-cased) never cuts a text of
    ours. Whoosh pickles the schema into every index, so it names no class of neuraltalk's: an
    index does not depend on where our modules are."""
    from whoosh.analysis import LowercaseFilter, SpaceSeparatedTokenizer  # type: ignore[import-untyped]
    from whoosh.fields import ID, STORED, TEXT, Schema

    words = SpaceSeparatedTokenizer() | LowercaseFilter()
    return Schema(
        id=ID(unique=True, stored=True),
        issue=ID(stored=True),
        section=ID(stored=True),
        pos=STORED,
        title=TEXT(analyzer=words, stored=True, field_boost=2.0, phrase=False),
        body=TEXT(analyzer=words, phrase=False),
        source=STORED,
        url=STORED,
        summary=STORED,
        tags=STORED,
    )


def _codec() -> Any:
    """Whoosh's codec, uncompressed, with the smallest inline limit (see INLINE_LIMIT)."""
    from whoosh.codec.whoosh3 import W3Codec  # type: ignore[import-untyped]

    return W3Codec(compression=0, inlinelimit=INLINE_LIMIT)


def entry_docs(issue: Issue) -> Iterator[dict[str, Any]]:
    """The Whoosh documents of an issue, one per entry, in file order."""
    for pos, (section, entry) in enumerate(issue.entries):
        body = "\n".join([entry.source, " ".join(entry.tags), entry.summary])
        yield {
            "id": f"{issue.date}/{pos}",
            "issue": issue.date,
            "section": section.name,
            "pos": pos,
            "title": entry.title,
            "body": body,
            "source": entry.source,
            "url": entry.url,
            "summary": entry.summary,
            "tags": list(entry.tags),
        }


def issue_meta(issue: Issue, digest: str) -> IssueInfo:
    sections = Counter(section.name for section, _ in issue.entries)
    return {
        "date": issue.date,
        "title": issue.title,
        "path": issue.path,
        "hash": digest,
        "entries": len(issue.entries),
        "sections": dict(sections),
        "warnings": len(issue.warnings),
    }


@contextlib.contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """Only one ingest at a time per index directory (released by the OS if the process dies)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArchiveError(
                f"another `neuraltalk ingest` is writing {index_dir}; wait for it to finish"
            ) from None
        yield


def _clone(live: Path | None, fresh: Path) -> None:
    """A new generation directory sharing the live one's Whoosh files (hard links: Whoosh
    never rewrites a file). The haystack's files are not shared: they are written anew, and
    writing through a link would change the live generation's under a running search."""
    fresh.mkdir()
    if live is None:
        return
    for item in live.iterdir():
        if item.name in HAYSTACK_FILES or item.name == META or item.name.endswith("LOCK"):
            continue
        if item.is_file():
            try:
                os.link(item, fresh / item.name)
            except OSError:
                shutil.copy2(item, fresh / item.name)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _cleanup(index_dir: Path, keep: set[str]) -> None:
    """Remove generations and leftovers other than `keep` (the live one and its predecessor)."""
    for item in index_dir.iterdir():
        if item.is_dir() and item.name.startswith(GENERATION_PREFIX) and item.name not in keep:
            shutil.rmtree(item, ignore_errors=True)


def _add_issues(writer: Any, issues: Iterable[tuple[Issue, str]], meta: Meta, procs: int) -> None:
    """Delete the issues' old entries and add the new ones, jieba words cut on `procs` cores."""
    from index.ingest.cut import cut_many

    batch = list(issues)
    docs = [doc for issue, _ in batch for doc in entry_docs(issue)]
    words = cut_many([d["title"] for d in docs] + [d["body"] for d in docs], procs)
    for issue, digest in batch:
        if issue.date in meta["issues"]:
            writer.delete_by_term("issue", issue.date)
        meta["issues"][issue.date] = issue_meta(issue, digest)
    for number, doc in enumerate(docs):
        doc["_stored_title"] = doc["title"]
        doc["title"], doc["body"] = words[number], words[len(docs) + number]
        writer.add_document(**doc)


def write_generation(
    index_dir: Path,
    issues: Sequence[tuple[Issue, str]],
    *,
    procs: int = 2,
    limitmb: int = 128,
) -> Path:
    """Replace or add `issues` (with their file hashes) in a new generation and make it live.

    The caller holds ingest_lock. Returns the new generation's directory.
    """
    live = readable_generation(index_dir)
    number = int(load_meta(current_dir(index_dir))["generation"]) + 1
    fresh = index_dir / generation_name(number)
    full = False
    with warnings.catch_warnings():  # a failed Whoosh commit leaves its segment files open:
        warnings.simplefilter("ignore", ResourceWarning)  # closed when the traceback goes
        try:
            _build(index_dir, issues, live, number, procs, limitmb)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            full = True
    if full:
        shutil.rmtree(fresh, ignore_errors=True)  # the live generation is untouched
        raise DiskFullError(
            f"no space left on the disk of {index_dir} while writing a new index generation "
            f"(about {_size_mb(live)} MB are needed): free some space there, or set "
            "archive.index_dir to a folder on another disk, then run `neuraltalk ingest` again; "
            "the archive being served is unchanged"
        )
    _cleanup(index_dir, {fresh.name} | ({live.name} if live else set()))
    return fresh


def _size_mb(generation: Path | None) -> int:
    """The size of a generation in MB, at least 1 (a guess of what the next one needs)."""
    if generation is None:
        return 1
    total = sum(f.stat().st_size for f in generation.iterdir() if f.is_file())
    return max(1, round(total / 1e6))


def _build(
    index_dir: Path,
    issues: Sequence[tuple[Issue, str]],
    live: Path | None,
    number: int,
    procs: int,
    limitmb: int,
) -> None:
    """Write generation `number` from `live` plus `issues`, then point CURRENT at it."""
    from whoosh import index as whoosh_index  # type: ignore[import-untyped]

    meta = load_meta(live)
    fresh = index_dir / generation_name(number)
    if fresh.exists():
        shutil.rmtree(fresh)
    _clone(live, fresh)
    if live is None:
        ix = whoosh_index.create_in(str(fresh), make_schema())
    else:
        ix = whoosh_index.open_dir(str(fresh))
    writer = ix.writer(limitmb=limitmb, codec=_codec())
    try:
        _add_issues(writer, issues, meta, procs)
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    finally:
        ix.close()
    committed = whoosh_index.open_dir(str(fresh))
    try:
        with committed.reader() as reader:
            write_haystack(fresh, reader)
    finally:
        committed.close()
    meta["version"], meta["generation"] = META_VERSION, number
    _write_atomic(fresh / META, json.dumps(meta, ensure_ascii=False, indent=1))
    _write_atomic(index_dir / POINTER, fresh.name + "\n")
