"""The markdown file an ingested issue came from, for what the index does not keep: the 导读 and
each entry's extra links. Only the very file the live generation indexed is used (same SHA-256);
a file since changed or gone gives None, and the page shows what the index has."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from index.errors import ArchiveError
from index.layout import IssueInfo
from index.parse import Issue, parse_bytes, read_issue_bytes

log = logging.getLogger(__name__)
MAX_KEPT = 512  # parsed issues kept, by (path, SHA-256)


class Sources:
    """Issue files parsed once each, found by the path ingest was given or by name in
    archive.issues_dir."""

    def __init__(self, issues_dir: Path) -> None:
        self.issues_dir = issues_dir
        self._parsed: dict[tuple[str, str], Issue] = {}

    def candidates(self, info: IssueInfo) -> list[Path]:
        ingested = Path(info["path"])
        return [ingested, self.issues_dir / ingested.name]

    def issue(self, info: IssueInfo) -> Issue | None:
        """The issue parsed from the file with the SHA-256 the generation recorded, or None."""
        for path in self.candidates(info):
            key = (str(path), info["hash"])
            issue = self._parsed.get(key) or _parsed(*key)
            if issue is not None:
                if len(self._parsed) >= MAX_KEPT:
                    self._parsed.clear()
                self._parsed[key] = issue  # only what was found: a missing file may come back
                return issue
        return None


def _parsed(path: str, digest: str) -> Issue | None:
    try:
        data = read_issue_bytes(Path(path))
    except ArchiveError:
        return None
    if hashlib.sha256(data).hexdigest() != digest:
        log.info("%s changed since it was ingested: its page shows the index's entries", path)
        return None
    try:
        return parse_bytes(data, path)
    except ArchiveError as exc:  # it was ingested, so this is unlikely: keep to the index
        log.warning("%s: %s", path, exc)
        return None
