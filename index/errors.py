"""Errors of the archive side whose messages are meant for a person (one line, names the file)."""


class ArchiveError(Exception):
    """Something in the archive cannot be done; the message says what and what to do."""


class IssueError(ArchiveError):
    """A file is not a newsletter issue (no date, binary, empty, too large, not UTF-8)."""


class QueryError(ArchiveError):
    """A search query cannot be run (empty, too long, only punctuation)."""


class QueryTooLong(QueryError):
    """A query over the limits: `size` characters (unit "characters") or words ("words")."""

    def __init__(self, message: str, size: int, unit: str) -> None:
        super().__init__(message)
        self.size = size
        self.unit = unit


class IndexMissingError(ArchiveError):
    """There is no index yet: run `neuraltalk ingest`."""


class DiskFullError(ArchiveError):
    """The disk of the index folder is full: a new generation could not be written."""
