"""A newsletter issue in markdown -> Issue / Section / Entry dataclasses (no index involved).

`parse_file` reads and parses one file, `parse_text` parses markdown already read; both raise
IssueError (one line, naming the file) for what is not an issue, and record what they cannot
place as ParseWarnings.
"""

from index.parse.files import parse_bytes, parse_file, read_issue_bytes
from index.parse.issue import Entry, Issue, Link, ParseWarning, Section
from index.parse.parser import MAX_FILE_BYTES, MAX_WARNINGS, WARMUP_SECTION, parse_text

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_WARNINGS",
    "WARMUP_SECTION",
    "Entry",
    "Issue",
    "Link",
    "ParseWarning",
    "Section",
    "parse_bytes",
    "parse_file",
    "parse_text",
    "read_issue_bytes",
]
