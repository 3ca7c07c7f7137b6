"""The old name of index.ingest, kept for bot/cli_archive.py: removed when bot/ is moved."""

from index.ingest import ingest

__all__ = ["ingest"]
