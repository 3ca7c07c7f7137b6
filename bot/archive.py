"""The archive as the configuration names it: the one place settings.archive becomes an open
index.search.Archive (the chat, the broadcast and `neuraltalk search` all open it here)."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from index.search import Archive


def synonyms_path(settings: Settings) -> Path | None:
    """archive.synonyms, the editor's extra synonym file, if one is set."""
    return Path(settings.archive.synonyms) if settings.archive.synonyms else None


def open_archive(settings: Settings) -> Archive:
    """The live generation of archive.index_dir (IndexMissingError when none was ingested)."""
    return Archive.open(Path(settings.archive.index_dir), synonyms_path(settings))
