"""An ingest: the issue files under some paths -> the new or changed ones in a new generation.

The files are read once and hashed; those whose hash the live generation already has are not
parsed; a file that cannot be read or parsed is a one-line error naming it, and the others are
still ingested.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import IssueError
from index.ingest.generation import ingest_lock, write_generation
from index.layout import IssueInfo, Meta, load_meta, readable_generation
from index.parse import Issue, ParseWarning, parse_bytes, read_issue_bytes


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class IngestReport:
    """What an ingest did; `errors` are one-line messages naming the file."""

    ingested: list[IssueInfo] = field(default_factory=list)  # of each issue written
    unchanged: list[str] = field(default_factory=list)  # paths skipped (same hash)
    errors: list[str] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)
    meta: Meta = field(default_factory=lambda: load_meta(None))  # the live one's, afterwards
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors


def collect_files(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """Markdown files named by `paths` (folders: their *.md, READMEs skipped) and errors."""
    files: list[Path] = []
    errors: list[str] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.glob("*.md") if not p.name.lower().startswith("readme"))
            if not found:
                errors.append(f"{path}: no *.md issue files in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            errors.append(f"{path}: no such file or folder")
    return files, errors


def _read_issue(path: Path, known: set[str]) -> tuple[Issue, str] | str | None:
    """(issue, hash) to write, None when unchanged, or a one-line error.

    The file is read once (after a size check that reads nothing), hashed, then parsed."""
    try:
        data = read_issue_bytes(path)
        digest = file_hash(data)
        if digest in known:
            return None
        return parse_bytes(data, path), digest
    except IssueError as exc:
        return str(exc).splitlines()[0] if str(path) in str(exc) else f"{path}: {exc}"
    except Exception as exc:  # a parser bug must not stop the other files
        return f"{path}: could not be parsed ({type(exc).__name__}: {exc})"


def ingest(index_dir: Path, paths: Sequence[Path], *, procs: int = 2) -> IngestReport:
    """Parse the issue files under `paths` and index the new or changed ones."""
    started = time.perf_counter()
    report = IngestReport()
    files, report.errors = collect_files(paths)
    with ingest_lock(index_dir):
        meta = load_meta(readable_generation(index_dir))
        known = {info["hash"] for info in meta["issues"].values()}
        changed: dict[str, tuple[Issue, str]] = {}
        for path in files:
            outcome = _read_issue(path, known)
            if outcome is None:
                report.unchanged.append(str(path))
            elif isinstance(outcome, str):
                report.errors.append(outcome)
            else:
                issue = outcome[0]
                if issue.date in changed:
                    report.errors.append(
                        f"{path}: issue {issue.date} also comes from "
                        f"{changed[issue.date][0].path}; this file replaces it"
                    )
                changed[issue.date] = outcome
                report.warnings.extend(issue.warnings)
        if changed:
            batch = [changed[date] for date in sorted(changed)]
            meta = load_meta(write_generation(index_dir, batch, procs=procs))
            report.ingested = [meta["issues"][date] for date in sorted(changed)]
        report.meta = meta
    report.seconds = time.perf_counter() - started
    return report
