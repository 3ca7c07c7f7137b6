"""Reading an issue file: its size checked before it is read, its bytes decoded, then parsed."""

from __future__ import annotations

from pathlib import Path

from index.errors import IssueError
from index.parse.issue import Issue
from index.parse.parser import MAX_FILE_BYTES, parse_text


def read_issue_bytes(path: Path) -> bytes:
    """The bytes of an issue file; IssueError (naming it) when it is missing or too large.

    The size is checked before anything is read, so a huge file costs nothing."""
    path = Path(path)
    if path.is_dir():
        raise IssueError(f"{path}: is a directory, not an issue file")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise IssueError(
                f"{path}: too large for an issue ({size:,} bytes, at most {MAX_FILE_BYTES:,})"
            )
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise IssueError(f"{path}: no such file") from None
    except OSError as exc:
        raise IssueError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise IssueError(f"{path}: too large for an issue (over {MAX_FILE_BYTES:,} bytes)")
    return data


def parse_bytes(data: bytes, path: Path | str) -> Issue:
    """Parse an issue file's bytes; IssueError (naming `path`) when they are not an issue."""
    if b"\x00" in data:
        raise IssueError(f"{path}: binary file (NUL bytes), not a markdown issue")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IssueError(f"{path}: not valid UTF-8 (bad byte at offset {exc.start})") from None
    return parse_text(text, str(path))


def parse_file(path: Path) -> Issue:
    """Read and parse one issue; IssueError (naming the file) when it is not an issue."""
    return parse_bytes(read_issue_bytes(path), path)
